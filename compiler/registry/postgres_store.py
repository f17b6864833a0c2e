"""The PostgreSQL backend (psycopg 3): ``postgresql://user@host/db[?schema=NAME]``.

Writes lock the single head row (``SELECT ... FOR UPDATE``), which serializes them and makes
the event sequence gapless; READ COMMITTED then shows each later statement every commit made
before the lock was granted. UPDATE, DELETE and TRUNCATE of ``polc_events`` are refused by
triggers, so the log is append-only in the database itself.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import RegistryError, invalid
from .store import SCHEMA_VERSION, TABLES, Store

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: Serializes concurrent first-time DDL from several processes (an arbitrary fixed key).
DDL_LOCK_KEY = 7_060_001

APPEND_ONLY = (
    """CREATE OR REPLACE FUNCTION polc_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'polc_events is append-only: % refused', TG_OP; END $$""",
    "CREATE OR REPLACE TRIGGER polc_events_no_update_delete BEFORE UPDATE OR DELETE ON polc_events "
    "FOR EACH ROW EXECUTE FUNCTION polc_events_append_only()",
    "CREATE OR REPLACE TRIGGER polc_events_no_truncate BEFORE TRUNCATE ON polc_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION polc_events_append_only()",
)

#: The state tables change only together with the event that records the change (the same rules
#: as sqlite_store.GUARD_TRIGGERS); anything else, TRUNCATE included, is refused.
GUARDS = (
    """CREATE OR REPLACE FUNCTION polc_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '% is changed only by the registry''s own transitions: % refused', TG_TABLE_NAME, TG_OP; END $$""",
    """CREATE OR REPLACE FUNCTION polc_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.id = 1 AND NEW.seq = OLD.seq + 1 AND EXISTS (SELECT 1 FROM polc_events
              WHERE seq = NEW.seq AND hash = NEW.hash AND prev_hash = OLD.hash) THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION 'polc_head moves only to the event just appended';
       END $$""",
    """CREATE OR REPLACE FUNCTION polc_rollout_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           IF (NEW.environment, NEW.tenant, NEW.policy_name, NEW.bundle_id)
              IS DISTINCT FROM (OLD.environment, OLD.tenant, OLD.policy_name, OLD.bundle_id) THEN
             RAISE EXCEPTION 'polc_rollout changes only with the event that records the change';
           END IF;
         END IF;
         IF NEW.seq = (SELECT seq FROM polc_head WHERE id = 1) AND EXISTS (SELECT 1 FROM polc_events e
              WHERE e.seq = NEW.seq AND e.bundle_id = NEW.bundle_id AND e.environment = NEW.environment
                AND e.tenant = NEW.tenant AND e.policy_name = NEW.policy_name
                AND e.to_state IS NOT DISTINCT FROM NEW.state) THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION 'polc_rollout changes only with the event that records the change';
       END $$""",
    """CREATE OR REPLACE FUNCTION polc_bundles_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.registered_seq = (SELECT seq FROM polc_head WHERE id = 1) AND EXISTS (SELECT 1 FROM polc_events e
              WHERE e.seq = NEW.registered_seq AND e.bundle_id = NEW.bundle_id
                AND e.event_type = 'bundle_registered') THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION 'polc_bundles rows are inserted only with their registration event';
       END $$""",
    "CREATE OR REPLACE TRIGGER polc_head_guard BEFORE UPDATE ON polc_head FOR EACH ROW EXECUTE FUNCTION polc_head_guard()",
    "CREATE OR REPLACE TRIGGER polc_head_refuse BEFORE DELETE ON polc_head FOR EACH ROW EXECUTE FUNCTION polc_refuse()",
    "CREATE OR REPLACE TRIGGER polc_rollout_guard BEFORE INSERT OR UPDATE ON polc_rollout "
    "FOR EACH ROW EXECUTE FUNCTION polc_rollout_guard()",
    "CREATE OR REPLACE TRIGGER polc_rollout_refuse BEFORE DELETE ON polc_rollout FOR EACH ROW EXECUTE FUNCTION polc_refuse()",
    "CREATE OR REPLACE TRIGGER polc_bundles_guard BEFORE INSERT ON polc_bundles "
    "FOR EACH ROW EXECUTE FUNCTION polc_bundles_guard()",
    "CREATE OR REPLACE TRIGGER polc_bundles_refuse BEFORE UPDATE OR DELETE ON polc_bundles "
    "FOR EACH ROW EXECUTE FUNCTION polc_refuse()",
    *(f"CREATE OR REPLACE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION polc_refuse()"
      for t in ("polc_head", "polc_rollout", "polc_bundles")),
)


def split_schema(url: str) -> tuple[str, str | None]:
    """The connection URL without the ``schema`` query parameter, and that schema.

    >>> split_schema("postgresql://u@h/db?schema=reg_a&sslmode=disable")
    ('postgresql://u@h/db?sslmode=disable', 'reg_a')
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    if schema is not None and not SCHEMA_NAME.match(schema):
        raise invalid("POLC601", f"`{schema}` is not a valid schema name",
                      hint="use lowercase letters, digits and underscores")
    return urlunsplit(parts._replace(query=rest)), schema


class PostgresStore(Store):
    placeholder = "%s"

    def __init__(self, url: str, *, create: bool = True):
        import psycopg

        self.url = url
        conninfo, self.schema = split_schema(url)
        try:
            self.conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise self._translate(exc) from None
        self._create(create)

    def _create(self, create: bool = True) -> None:
        from psycopg import sql

        if self.schema:
            self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        # DDL such as CREATE INDEX IF NOT EXISTS locks its table even when there is nothing to do,
        # which can deadlock with other processes' writes: run it only on a database without it.
        version = self._schema_version()
        if version == SCHEMA_VERSION:
            return
        if version is None and not create:
            self.conn.close()
            raise RegistryError("INTERNAL", "POLC602", "there is no polc registry in this database"
                                + (f" (schema {self.schema})" if self.schema else ""),
                                hint="nothing was published to it yet: `polc registry publish` creates it")
        with self._ddl():
            if self.schema:
                self.conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            if self._schema_version() == SCHEMA_VERSION:
                return
            for ddl in (*TABLES, *APPEND_ONLY):
                self.conn.execute(ddl)
            self.conn.execute("INSERT INTO polc_head (id, seq, hash) VALUES (1, 0, %s) ON CONFLICT DO NOTHING", ("0" * 64,))
            for ddl in GUARDS:
                self.conn.execute(ddl)
            self.conn.execute("INSERT INTO polc_registry_meta (key, value) VALUES ('schema_version', %s) "
                              "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (SCHEMA_VERSION,))

    def _schema_version(self) -> str | None:
        import psycopg

        try:
            row = self.conn.execute("SELECT to_regclass('polc_registry_meta') IS NOT NULL").fetchone()
            if not row[0]:
                return None
            row = self.conn.execute("SELECT value FROM polc_registry_meta WHERE key = 'schema_version'").fetchone()
        except psycopg.Error as exc:
            raise self._translate(exc) from None
        return row[0] if row else None

    def _ddl(self):
        def begin():
            self.conn.execute("BEGIN")
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
        return self._transaction(begin)

    def _execute(self, sql: str, params: tuple | None = None):
        return self.conn.execute(sql, params if params else None)

    def _begin_write(self) -> None:
        self.conn.execute("BEGIN")
        self.conn.execute("SELECT seq FROM polc_head WHERE id = 1 FOR UPDATE")

    def _begin_read(self) -> None:
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def _translate(self, exc: Exception) -> Exception:
        import psycopg

        if isinstance(exc, psycopg.errors.RaiseException) and "polc_" in str(exc):  # a guard trigger's refusal
            return RegistryError("INTEGRITY", "POLC617", f"the registry database refused the write: {exc}".strip(),
                                 hint="the registry's tables change only through its own transitions")
        if isinstance(exc, psycopg.errors.UniqueViolation):
            return RegistryError("CONFLICT", "POLC637", f"the registry refused a conflicting write: {exc}",
                                 retryable=True, hint="another operator changed the scope at the same time; retry")
        if isinstance(exc, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
                            psycopg.errors.LockNotAvailable)):
            return RegistryError("INTERNAL", "POLC637", f"the registry database is busy: {exc}", retryable=True)
        if isinstance(exc, psycopg.Error):
            where = urlsplit(self.url)._replace(netloc=urlsplit(self.url).hostname or "").geturl()
            return RegistryError("INTERNAL", "POLC602", f"cannot use the registry database {where}: {exc}".strip(),
                                 retryable=isinstance(exc, psycopg.OperationalError),
                                 hint="check the URL, that the server runs and that the user may connect")
        return exc

    def close(self) -> None:
        self.conn.close()

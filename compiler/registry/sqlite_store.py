"""The SQLite backend: one file (default ``.polc/registry.db``), WAL, every write ``BEGIN IMMEDIATE``.

``synchronous=FULL`` makes a commit durable before it returns, so a process killed right after a
transition cannot lose it; an uncommitted transaction is rolled back by SQLite on the next open.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import RegistryError
from .store import SCHEMA_VERSION, TABLES, Store

#: A writer waits this long for another writer's lock before the request fails as retryable.
BUSY_TIMEOUT_S = 60.0

APPEND_ONLY_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS polc_events_no_update BEFORE UPDATE ON polc_events "
    "BEGIN SELECT RAISE(ABORT, 'polc_events is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS polc_events_no_delete BEFORE DELETE ON polc_events "
    "BEGIN SELECT RAISE(ABORT, 'polc_events is append-only'); END",
)

#: The state tables change only together with the event that records the change (store.py's
#: GUARDED_BY_EVENTS says what each guard requires); a hand-made UPDATE or DELETE is refused.
_ROLLOUT_MATCHES_EVENT = (
    "NEW.seq = (SELECT seq FROM polc_head WHERE id = 1) AND EXISTS (SELECT 1 FROM polc_events e "
    "WHERE e.seq = NEW.seq AND e.bundle_id = NEW.bundle_id AND e.environment = NEW.environment "
    "AND e.tenant = NEW.tenant AND e.policy_name = NEW.policy_name AND e.to_state IS NEW.state)")
GUARD_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS polc_head_guard BEFORE UPDATE ON polc_head WHEN NOT (NEW.id = 1 AND "
    "NEW.seq = OLD.seq + 1 AND EXISTS (SELECT 1 FROM polc_events WHERE seq = NEW.seq AND hash = NEW.hash "
    "AND prev_hash = OLD.hash)) BEGIN SELECT RAISE(ABORT, 'polc_head moves only to the event just appended'); END",
    "CREATE TRIGGER IF NOT EXISTS polc_head_no_delete BEFORE DELETE ON polc_head "
    "BEGIN SELECT RAISE(ABORT, 'polc_head cannot be deleted'); END",
    f"CREATE TRIGGER IF NOT EXISTS polc_rollout_guard_insert BEFORE INSERT ON polc_rollout WHEN NOT ({_ROLLOUT_MATCHES_EVENT}) "
    "BEGIN SELECT RAISE(ABORT, 'polc_rollout changes only with the event that records the change'); END",
    "CREATE TRIGGER IF NOT EXISTS polc_rollout_guard_update BEFORE UPDATE ON polc_rollout WHEN NOT ("
    "NEW.environment = OLD.environment AND NEW.tenant = OLD.tenant AND NEW.policy_name = OLD.policy_name AND "
    f"NEW.bundle_id = OLD.bundle_id AND {_ROLLOUT_MATCHES_EVENT}) "
    "BEGIN SELECT RAISE(ABORT, 'polc_rollout changes only with the event that records the change'); END",
    "CREATE TRIGGER IF NOT EXISTS polc_rollout_no_delete BEFORE DELETE ON polc_rollout "
    "BEGIN SELECT RAISE(ABORT, 'polc_rollout rows are never deleted'); END",
    "CREATE TRIGGER IF NOT EXISTS polc_bundles_guard_insert BEFORE INSERT ON polc_bundles WHEN NOT ("
    "NEW.registered_seq = (SELECT seq FROM polc_head WHERE id = 1) AND EXISTS (SELECT 1 FROM polc_events e "
    "WHERE e.seq = NEW.registered_seq AND e.bundle_id = NEW.bundle_id AND e.event_type = 'bundle_registered')) "
    "BEGIN SELECT RAISE(ABORT, 'polc_bundles rows are inserted only with their registration event'); END",
    "CREATE TRIGGER IF NOT EXISTS polc_bundles_no_update BEFORE UPDATE ON polc_bundles "
    "BEGIN SELECT RAISE(ABORT, 'polc_bundles is immutable'); END",
    "CREATE TRIGGER IF NOT EXISTS polc_bundles_no_delete BEFORE DELETE ON polc_bundles "
    "BEGIN SELECT RAISE(ABORT, 'polc_bundles is immutable'); END",
)


class SqliteStore(Store):
    def __init__(self, path: Path, *, create: bool = True):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        if not create and not self.path.is_file():
            raise RegistryError("INTERNAL", "POLC602", f"there is no registry database at {self.path}",
                                hint="nothing was published to it yet: `polc registry publish` creates it; "
                                     "or name another one with --registry")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as exc:
            raise self._translate(exc) from None
        self._create()

    def _create(self) -> None:
        try:
            row = self.conn.execute("SELECT value FROM polc_registry_meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:  # no such table: a new database
            row = None
        if row and row[0] == SCHEMA_VERSION:
            return
        with self.write():
            for ddl in (*TABLES, *APPEND_ONLY_TRIGGERS):
                self.conn.execute(ddl)
            self.conn.execute("INSERT OR IGNORE INTO polc_head (id, seq, hash) VALUES (1, 0, ?)", ("0" * 64,))
            for ddl in GUARD_TRIGGERS:  # after the head row exists: its guard refuses nothing at creation
                self.conn.execute(ddl)
            self.conn.execute("INSERT OR REPLACE INTO polc_registry_meta (key, value) VALUES ('schema_version', ?)",
                              (SCHEMA_VERSION,))

    def _execute(self, sql: str, params: tuple = ()):
        return self.conn.execute(sql, params)

    def _begin_write(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def _begin_read(self) -> None:
        self.conn.execute("BEGIN")

    def _translate(self, exc: Exception) -> Exception:
        if isinstance(exc, sqlite3.IntegrityError) and str(exc).startswith("polc_"):  # a guard trigger's refusal
            return RegistryError("INTEGRITY", "POLC617", f"the registry database refused the write: {exc}",
                                 hint="the registry's tables change only through its own transitions")
        if isinstance(exc, sqlite3.IntegrityError):
            return RegistryError("CONFLICT", "POLC637", f"the registry refused a conflicting write: {exc}",
                                 retryable=True, hint="another operator changed the scope at the same time; retry")
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return RegistryError("INTERNAL", "POLC637", f"the registry database is busy: {exc}", retryable=True,
                                 hint="another writer held the lock too long; retry")
        if isinstance(exc, (sqlite3.Error, OSError)):
            return RegistryError("INTERNAL", "POLC602", f"cannot use the registry database {self.path}: {exc}",
                                 hint="check the path and its permissions (--registry or POLC_REGISTRY_URL)")
        return exc

    def close(self) -> None:
        self.conn.close()

"""The store interface: the registry's tables and every query it runs, for any SQL backend.

Backends (``sqlite_store``, ``postgres_store``) supply a connection, the DDL dialect and how a
write transaction begins; the SQL here is shared and always parameterized (``?`` placeholders,
rewritten for drivers that use ``%s``).

Writes are serialized: SQLite's ``BEGIN IMMEDIATE`` takes the database write lock; PostgreSQL
locks the single head row. The chain needs this anyway (each event names its predecessor),
and it makes the sequence gapless. "At most one promoted bundle per scope" is a partial unique
index, so even a writer that bypassed this code could not break it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from .audit import GENESIS

#: A stored rollout row may lack a state (an older record); it reads as candidate (spec 002).
STATE_CHECK = "state IS NULL OR state IN ('candidate','staged','shadow','promoted','rolled_back','retired')"

#: The version of the tables below; a database at this version needs no DDL on open.
SCHEMA_VERSION = "1"

EVENT_COLUMNS = ("seq, event_id, bundle_id, environment, tenant, policy_name, event_type, to_state, "
                 "body, prev_hash, hash")

TABLES = (
    "CREATE TABLE IF NOT EXISTS polc_registry_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS polc_bundles (
        bundle_id TEXT PRIMARY KEY CHECK (length(bundle_id) = 64),
        bundle_version TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        record TEXT NOT NULL,
        record_hash TEXT NOT NULL,
        registered_seq BIGINT NOT NULL,
        UNIQUE (policy_name, bundle_version))""",
    f"""CREATE TABLE IF NOT EXISTS polc_rollout (
        environment TEXT NOT NULL,
        tenant TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        bundle_id TEXT NOT NULL REFERENCES polc_bundles (bundle_id),
        state TEXT CHECK ({STATE_CHECK}),
        seq BIGINT NOT NULL,
        PRIMARY KEY (environment, tenant, policy_name, bundle_id))""",
    "CREATE UNIQUE INDEX IF NOT EXISTS polc_one_promoted_per_scope "
    "ON polc_rollout (environment, tenant, policy_name) WHERE state = 'promoted'",
    """CREATE TABLE IF NOT EXISTS polc_events (
        seq BIGINT PRIMARY KEY CHECK (seq > 0),
        event_id TEXT NOT NULL UNIQUE,
        bundle_id TEXT NOT NULL,
        environment TEXT,
        tenant TEXT,
        policy_name TEXT,
        event_type TEXT NOT NULL,
        to_state TEXT,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS polc_events_by_scope ON polc_events (environment, tenant, policy_name, seq)",
    """CREATE TABLE IF NOT EXISTS polc_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL)""",
)


class Store:
    """One connection to a registry database. Not shared between threads or processes."""

    placeholder = "?"
    url: str

    # --- provided by a backend ---------------------------------------------------------------
    def _execute(self, sql: str, params: tuple = ()) -> Any:  # returns a cursor
        raise NotImplementedError

    def _begin_write(self) -> None:
        raise NotImplementedError

    def _begin_read(self) -> None:
        raise NotImplementedError

    def _translate(self, exc: Exception) -> Exception:
        """A driver error as a RegistryError (busy, unreachable, constraint) or ``exc`` itself."""
        return exc

    def close(self) -> None:
        raise NotImplementedError

    # --- transactions ------------------------------------------------------------------------
    def write(self):
        """A serialized write transaction; everything in it commits together or not at all."""
        return self._transaction(self._begin_write)

    def read(self):
        """A read transaction: one consistent snapshot for several queries."""
        return self._transaction(self._begin_read)

    @contextmanager
    def _transaction(self, begin) -> Iterator["Store"]:
        try:
            begin()
        except Exception as exc:
            raise self._translate(exc) from exc
        try:
            yield self
            self._execute("COMMIT")
        except BaseException as exc:
            try:
                self._execute("ROLLBACK")
            except Exception:
                pass  # the connection is gone; the server discards the transaction
            translated = self._translate(exc) if isinstance(exc, Exception) else exc
            if translated is exc:
                raise
            raise translated from exc

    def _q(self, sql: str, params: tuple = ()) -> Any:
        if self.placeholder != "?":
            sql = sql.replace("?", self.placeholder)
        return self._execute(sql, params)

    def one(self, sql: str, params: tuple = ()) -> tuple | None:
        return self._q(sql, params).fetchone()

    def all(self, sql: str, params: tuple = ()) -> list[tuple]:
        return list(self._q(sql, params).fetchall())

    # --- head and events ---------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        row = self.one("SELECT seq, hash FROM polc_head WHERE id = 1")
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    def append_event(self, event: dict, body: str) -> None:
        scope = event["scope"] or {}
        self._q(f"INSERT INTO polc_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event["seq"], event["event_id"], event["bundle_id"], scope.get("environment"),
                 (scope.get("tenant") or "") if scope else None, scope.get("policy_name"), event["event_type"],
                 event["to_state"], body, event["prev_hash"], event["hash"]))
        self._q("UPDATE polc_head SET seq = ?, hash = ? WHERE id = 1", (event["seq"], event["hash"]))

    def event_rows(self, scope_key: tuple | None = None, bundle_id: str | None = None) -> list[tuple]:
        where, params = [], []
        if scope_key:
            where.append("environment = ? AND tenant = ? AND policy_name = ?")
            params.extend(scope_key)
        if bundle_id:
            where.append("bundle_id = ?")
            params.append(bundle_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self.all(f"SELECT {EVENT_COLUMNS} FROM polc_events{clause} ORDER BY seq", tuple(params))

    def event_row(self, seq: int) -> tuple | None:
        return self.one(f"SELECT {EVENT_COLUMNS} FROM polc_events WHERE seq = ?", (seq,))

    def promoted_history(self, scope_key: tuple) -> list[str]:
        """Bundles made promoted in a scope, newest first, by event-log order."""
        rows = self.all("SELECT bundle_id FROM polc_events WHERE environment = ? AND tenant = ? AND policy_name = ? "
                        "AND to_state = 'promoted' ORDER BY seq DESC", scope_key)
        return [r[0] for r in rows]

    def event_count(self) -> int:
        return int(self.one("SELECT count(*) FROM polc_events")[0])

    # --- bundles -----------------------------------------------------------------------------
    def bundle(self, bundle_id: str) -> tuple | None:
        """(record JSON, record_hash, registered_seq) of a bundle."""
        return self.one("SELECT record, record_hash, registered_seq FROM polc_bundles WHERE bundle_id = ?", (bundle_id,))

    def bundle_by_version(self, policy_name: str, version: str) -> str | None:
        row = self.one("SELECT bundle_id FROM polc_bundles WHERE policy_name = ? AND bundle_version = ?",
                       (policy_name, version))
        return row[0] if row else None

    def bundle_ids(self, prefix: str = "") -> list[str]:
        return [r[0] for r in self.all("SELECT bundle_id FROM polc_bundles WHERE bundle_id LIKE ? ORDER BY bundle_id",
                                       (prefix + "%",))]

    def bundles(self) -> list[tuple]:
        return self.all("SELECT bundle_id, record, record_hash, registered_seq FROM polc_bundles ORDER BY registered_seq")

    def insert_bundle(self, bundle_id: str, version: str, policy_name: str, record: str, record_hash: str, seq: int) -> None:
        self._q("INSERT INTO polc_bundles (bundle_id, bundle_version, policy_name, record, record_hash, registered_seq) "
                "VALUES (?, ?, ?, ?, ?, ?)", (bundle_id, version, policy_name, record, record_hash, seq))

    # --- rollout states ----------------------------------------------------------------------
    def state(self, scope_key: tuple, bundle_id: str) -> tuple[str | None, bool]:
        """(stored state, whether a row exists) of a bundle in a scope."""
        row = self.one("SELECT state FROM polc_rollout WHERE environment = ? AND tenant = ? AND policy_name = ? "
                       "AND bundle_id = ?", (*scope_key, bundle_id))
        return (row[0], True) if row else (None, False)

    def set_state(self, scope_key: tuple, bundle_id: str, state: str, seq: int, exists: bool) -> None:
        if exists:
            self._q("UPDATE polc_rollout SET state = ?, seq = ? WHERE environment = ? AND tenant = ? "
                    "AND policy_name = ? AND bundle_id = ?", (state, seq, *scope_key, bundle_id))
        else:
            self._q("INSERT INTO polc_rollout (environment, tenant, policy_name, bundle_id, state, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (*scope_key, bundle_id, state, seq))

    def promoted(self, scope_key: tuple) -> tuple[str, int] | None:
        """(bundle_id, seq of the event that promoted it) in a scope."""
        row = self.one("SELECT bundle_id, seq FROM polc_rollout WHERE environment = ? AND tenant = ? "
                       "AND policy_name = ? AND state = 'promoted'", scope_key)
        return (row[0], int(row[1])) if row else None

    def states_of(self, bundle_id: str | None = None) -> list[tuple]:
        """(environment, tenant, policy_name, bundle_id, state, seq) rows, in a stable order."""
        where, params = ("WHERE bundle_id = ?", (bundle_id,)) if bundle_id else ("", ())
        return self.all(f"SELECT environment, tenant, policy_name, bundle_id, state, seq FROM polc_rollout {where} "
                        "ORDER BY environment, tenant, policy_name, bundle_id", params)

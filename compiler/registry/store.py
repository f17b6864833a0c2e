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

#: A stored rollout row may lack a state (an older record); it reads as candidate (docs/registry.md).
STATE_CHECK = "state IS NULL OR state IN ('candidate','staged','shadow','promoted','rolled_back','retired')"

#: The version of the tables below; a database at this version needs no DDL on open (an older one
#: gets the missing tables and guards, all ``IF NOT EXISTS``/``OR REPLACE``, then this version).
SCHEMA_VERSION = "2"

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
    # Bearer tokens of the server's principals: only the sha256 of a token is kept (shown once).
    """CREATE TABLE IF NOT EXISTS polc_tokens (
        token_id TEXT PRIMARY KEY,
        principal TEXT NOT NULL,
        token_sha256 TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT,
        note TEXT NOT NULL)""",
    # Idempotency keys, per principal: the first response to a key, and the hash of its request.
    """CREATE TABLE IF NOT EXISTS polc_idempotency (
        principal TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        request_sha256 TEXT NOT NULL,
        status INTEGER NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (principal, idem_key))""",
    # Signed checkpoints (signed tree heads) the server issued, newest by seq.
    """CREATE TABLE IF NOT EXISTS polc_checkpoints (
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        signed_at TEXT NOT NULL,
        keyid TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (seq, keyid))""",
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
        """A serialized write transaction; everything in it commits together or not at all.

        Nested inside another transaction of this store, it joins it: the server wraps an
        operation and its idempotency record in one write, and the operation's own ``write()``
        must not commit half of that.
        """
        return self._transaction(self._begin_write)

    def read(self):
        """A read transaction: one consistent snapshot for several queries."""
        return self._transaction(self._begin_read)

    @contextmanager
    def _transaction(self, begin) -> Iterator["Store"]:
        depth = getattr(self, "_depth", 0)
        if depth:
            self._depth = depth + 1
            try:
                yield self
            finally:
                self._depth = depth
            return
        try:
            begin()
        except Exception as exc:
            raise self._translate(exc) from exc
        self._depth = 1
        try:
            yield self
            self._depth = 0
            self._execute("COMMIT")
        except BaseException as exc:
            self._depth = 0
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

    def event_rows_page(self, scope_key: tuple, before: int | None, limit: int) -> list[tuple]:
        """The newest ``limit`` events of a scope older than seq ``before`` (None: the newest), in seq order."""
        older = " AND seq < ?" if before is not None else ""
        params = (*scope_key, *((before,) if before is not None else ()), limit)
        rows = self.all(f"SELECT {EVENT_COLUMNS} FROM polc_events WHERE environment = ? AND tenant = ? "
                        f"AND policy_name = ?{older} ORDER BY seq DESC LIMIT ?", params)
        return rows[::-1]

    def event_rows_at(self, seqs: list[int]) -> list[tuple]:
        """The events with these sequence numbers, in seq order."""
        rows: list[tuple] = []
        for start in range(0, len(seqs), 500):  # bounded IN lists: drivers cap parameters
            chunk = tuple(seqs[start:start + 500])
            marks = ", ".join("?" * len(chunk))
            rows.extend(self.all(f"SELECT {EVENT_COLUMNS} FROM polc_events WHERE seq IN ({marks})", chunk))
        return sorted(rows, key=lambda r: r[0])

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

    def state_row(self, scope_key: tuple, bundle_id: str) -> tuple[str | None, int] | None:
        """(stored state, seq of the event that set it) of a bundle in a scope, or None."""
        row = self.one("SELECT state, seq FROM polc_rollout WHERE environment = ? AND tenant = ? AND policy_name = ? "
                       "AND bundle_id = ?", (*scope_key, bundle_id))
        return (row[0], int(row[1])) if row else None

    def last_event_of(self, scope_key: tuple, bundle_id: str) -> tuple | None:
        """The newest event that moved ``bundle_id`` in a scope (a row of ``EVENT_COLUMNS``)."""
        return self.one(f"SELECT {EVENT_COLUMNS} FROM polc_events WHERE environment = ? AND tenant = ? "
                        "AND policy_name = ? AND bundle_id = ? ORDER BY seq DESC LIMIT 1", (*scope_key, bundle_id))

    def scope_known(self, scope_key: tuple) -> bool:
        """Whether any event ever named this scope."""
        return self.one("SELECT 1 FROM polc_events WHERE environment = ? AND tenant = ? AND policy_name = ? LIMIT 1",
                        scope_key) is not None

    # --- tokens (the server's principals) ------------------------------------------------------
    def insert_token(self, token_id: str, principal: str, digest: str, created_at: str, expires_at: str | None,
                     note: str) -> None:
        self._q("INSERT INTO polc_tokens (token_id, principal, token_sha256, created_at, expires_at, revoked_at, note) "
                "VALUES (?, ?, ?, ?, ?, NULL, ?)", (token_id, principal, digest, created_at, expires_at, note))

    def token_by_digest(self, digest: str) -> tuple | None:
        """(token_id, principal, expires_at, revoked_at) of a token by the sha256 of its text."""
        return self.one("SELECT token_id, principal, expires_at, revoked_at FROM polc_tokens WHERE token_sha256 = ?",
                        (digest,))

    def token_by_id(self, token_id: str) -> tuple | None:
        """(principal, expires_at, revoked_at, note) of a token by its id."""
        return self.one("SELECT principal, expires_at, revoked_at, note FROM polc_tokens WHERE token_id = ?",
                        (token_id,))

    def tokens(self) -> list[tuple]:
        """(token_id, principal, created_at, expires_at, revoked_at, note), oldest first."""
        return self.all("SELECT token_id, principal, created_at, expires_at, revoked_at, note FROM polc_tokens "
                        "ORDER BY created_at, token_id")

    def revoke_token(self, token_id: str, when: str) -> int:
        return self._q("UPDATE polc_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                       (when, token_id)).rowcount

    # --- idempotency keys ----------------------------------------------------------------------
    def idempotent_response(self, principal: str, key: str) -> tuple[str, int, str] | None:
        """(request_sha256, status, response JSON) first recorded for this principal's key."""
        row = self.one("SELECT request_sha256, status, response FROM polc_idempotency WHERE principal = ? "
                       "AND idem_key = ?", (principal, key))
        return (row[0], int(row[1]), row[2]) if row else None

    def record_idempotent(self, principal: str, key: str, request_sha256: str, status: int, response: str,
                          created_at: str) -> None:
        self._q("INSERT INTO polc_idempotency (principal, idem_key, request_sha256, status, response, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (principal, key, request_sha256, status, response, created_at))

    # --- checkpoints ---------------------------------------------------------------------------
    def latest_checkpoint(self, keyid: str) -> tuple | None:
        """(seq, hash, signed_at, signature) of the newest checkpoint signed with ``keyid``."""
        return self.one("SELECT seq, hash, signed_at, signature FROM polc_checkpoints WHERE keyid = ? "
                        "ORDER BY seq DESC LIMIT 1", (keyid,))

    def insert_checkpoint(self, seq: int, digest: str, signed_at: str, keyid: str, signature: str) -> None:
        self._q("INSERT INTO polc_checkpoints (seq, hash, signed_at, keyid, signature) VALUES (?, ?, ?, ?, ?)",
                (seq, digest, signed_at, keyid, signature))

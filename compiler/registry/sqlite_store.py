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


class SqliteStore(Store):
    def __init__(self, path: Path):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
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
            self.conn.execute("INSERT OR IGNORE INTO polc_registry_meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def _execute(self, sql: str, params: tuple = ()):
        return self.conn.execute(sql, params)

    def _begin_write(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def _begin_read(self) -> None:
        self.conn.execute("BEGIN")

    def _translate(self, exc: Exception) -> Exception:
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

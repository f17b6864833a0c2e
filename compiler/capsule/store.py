"""The capsule store: snapshot objects beside the filesystem bundles (dual storage, docs/storage.md).

Objects are addressed ``mv2://<workspace>/policy/<policy_id>`` and hold exactly the bytes
of the bundle's ``snapshot.json`` (both places are byte-identical). Objects are
immutable: storing different bytes under an existing URI is an integrity error.

Next to the objects is an append-only **event log** of streams named
``mv2://<workspace>/runs/<run_id>``: a run started with a capsule appends its attribution
events there (``RunStart``, ``PolicySnapshotRef``, ``StageTransition``, ``Checkpoint``,
``RunEnd``), so ``polc trace --capsule`` answers from the capsule alone. Each event
row records the sha256 of the row before it in its stream (a hash chain), and the store
refuses UPDATE and DELETE of rows (triggers).

The interface is the small ``CapsuleStore`` protocol (put / get / list / append_event /
events / close);
``SqliteCapsule`` backs it with one SQLite file (default ``<out_dir>/capsule.sqlite``, or
``[storage].capsule`` in policy.toml), ``compiler.capsule.postgres.PostgresCapsule`` with
PostgreSQL (``[storage].capsule = "postgresql://user@host/db?schema=NAME"``); ``open_capsule``
picks. Addresses are parsed by ``compiler.capsule.uri``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

from ..diagnostics import Diagnostic, Span
from ..errors import InputError, IntegrityError
from .uri import SCHEME, check_stream, parse_uri

FORMAT = "polc_capsule@v1"
DEFAULT_FILE = "capsule.sqlite"


class CapsuleStore(Protocol):
    def put(self, uri: str, data: bytes) -> None: ...
    def get(self, uri: str) -> bytes | None: ...
    def list(self, prefix: str = SCHEME) -> list[str]: ...
    def append_event(self, stream: str, event: dict) -> int: ...
    def events(self, stream: str) -> list[dict]: ...
    def streams(self, prefix: str = SCHEME) -> list[str]: ...
    def close(self) -> None: ...


def event_row(prev: str | None, event: dict) -> tuple[bytes, str]:
    """(canonical bytes of ``event``, the row's chained sha256: sha256 of the previous row's
    sha256 (empty for the first), a newline, and the bytes)."""
    from ..canonical import canonical_json

    data = canonical_json(event)
    return data, _chain(prev, data)


def _chain(prev: str | None, data: bytes) -> str:
    return hashlib.sha256((prev or "").encode() + b"\n" + data).hexdigest()


def verified_events(stream: str, rows, where: str) -> list[dict]:
    """The events of ``rows`` (seq, data, prev_sha256, sha256), after checking the chain."""
    import json

    out, prev = [], None
    for number, (seq, data, stored_prev, digest) in enumerate(rows, start=1):
        data = bytes(data)
        if seq != number or stored_prev != prev or digest != _chain(prev, data):
            raise IntegrityError("capsule event log damaged", [Diagnostic.error(
                "POLC364", f"event {number} of `{stream}` in the capsule does not chain to the event before it",
                Span.whole_file(where), hint="the capsule's event log is append-only: a row was edited, removed "
                                             "or reordered; restore the capsule from a backup")])
        out.append(json.loads(data))
        prev = digest
    return out


def _locked(method):
    """One statement sequence at a time on the shared connection (a run appends from any thread)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper


class SqliteCapsule:
    """A capsule in one SQLite file; every read re-checks the stored sha256."""

    def __init__(self, path: Path | str, *, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise _unreadable(self.path, "does not exist")
        try:
            self._lock = threading.RLock()
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            raise _unreadable(self.path, str(exc)) from None

    def _init_schema(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS capsule_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS objects (uri TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
                        "byte_size INTEGER NOT NULL, data BLOB NOT NULL, stored_at TEXT NOT NULL)")
        # The event log: one hash-chained sequence per stream; rows are never changed or removed.
        self.db.execute("CREATE TABLE IF NOT EXISTS events (stream TEXT NOT NULL, seq INTEGER NOT NULL, "
                        "data BLOB NOT NULL, prev_sha256 TEXT, sha256 TEXT NOT NULL, stored_at TEXT NOT NULL, "
                        "PRIMARY KEY (stream, seq))")
        for op in ("UPDATE", "DELETE"):
            self.db.execute(f"CREATE TRIGGER IF NOT EXISTS events_no_{op.lower()} BEFORE {op} ON events "
                            "BEGIN SELECT RAISE(ABORT, 'capsule events are append-only'); END")
        self.db.execute("INSERT OR IGNORE INTO capsule_meta VALUES ('format', ?)", (FORMAT,))
        (fmt,) = self.db.execute("SELECT value FROM capsule_meta WHERE key = 'format'").fetchone()
        if fmt != FORMAT:
            raise sqlite3.DatabaseError(f"format {fmt!r}, expected {FORMAT!r}")

    @_locked
    def put(self, uri: str, data: bytes) -> None:
        parse_uri(uri)
        digest = hashlib.sha256(data).hexdigest()
        now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.db:  # one transaction: the object is stored whole or not at all
            self.db.execute("INSERT OR IGNORE INTO objects VALUES (?, ?, ?, ?, ?)",
                            (uri, digest, len(data), sqlite3.Binary(data), now))
            (stored,) = self.db.execute("SELECT sha256 FROM objects WHERE uri = ?", (uri,)).fetchone()
        if stored != digest:
            raise IntegrityError("capsule object differs", [Diagnostic.error(
                "POLC361", f"`{uri}` already holds different bytes in the capsule", Span.whole_file(str(self.path)),
                hint="capsule objects are immutable; the same policy_id must always have the same snapshot")])

    @_locked
    def get(self, uri: str) -> bytes | None:
        parse_uri(uri)
        row = self.db.execute("SELECT sha256, data FROM objects WHERE uri = ?", (uri,)).fetchone()
        if row is None:
            return None
        digest, data = row
        if hashlib.sha256(data).hexdigest() != digest:
            raise IntegrityError("capsule object damaged", [Diagnostic.error(
                "POLC361", f"`{uri}` in the capsule does not match its recorded sha256",
                Span.whole_file(str(self.path)), hint="the capsule file was damaged; restore it from a backup")])
        return bytes(data)

    @_locked
    def list(self, prefix: str = SCHEME) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.execute("SELECT uri FROM objects WHERE uri LIKE ? ESCAPE '\\' ORDER BY uri", (escaped + "%",))
        return [uri for (uri,) in rows]

    @_locked
    def append_event(self, stream: str, event: dict) -> int:
        """Append ``event`` to ``stream``; returns its 1-based position in the stream."""
        check_stream(stream)
        self.db.execute("BEGIN IMMEDIATE")  # the tail read and the insert are one step for every writer
        try:
            last = self.db.execute("SELECT seq, sha256 FROM events WHERE stream = ? ORDER BY seq DESC LIMIT 1",
                                   (stream,)).fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, None)
            data, digest = event_row(prev, event)
            self.db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                            (stream, seq, sqlite3.Binary(data), prev, digest, _utc_now()))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return seq

    @_locked
    def events(self, stream: str) -> list[dict]:
        """Every event of ``stream`` in order, after checking the hash chain (POLC364)."""
        check_stream(stream)
        rows = self.db.execute("SELECT seq, data, prev_sha256, sha256 FROM events WHERE stream = ? ORDER BY seq",
                               (stream,)).fetchall()
        return verified_events(stream, rows, str(self.path))

    @_locked
    def streams(self, prefix: str = SCHEME) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.execute("SELECT DISTINCT stream FROM events WHERE stream LIKE ? ESCAPE '\\' ORDER BY stream",
                               (escaped + "%",))
        return [stream for (stream,) in rows]

    @_locked
    def close(self) -> None:
        self.db.close()


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _unreadable(path: Path, why: str) -> InputError:
    return InputError(f"capsule {path}", [Diagnostic.error(
        "POLC360", f"the capsule `{path}` cannot be opened: {why}", Span.whole_file(str(path)),
        hint="set [storage].capsule in policy.toml (or POLC_CAPSULE) to a polc capsule file")])


def open_capsule(location: Path | str, *, create: bool = True) -> CapsuleStore:
    """The capsule at ``location``: a PostgreSQL URL or the path of an SQLite file."""
    if str(location).startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresCapsule

        return PostgresCapsule(str(location))
    return SqliteCapsule(location, create=create)



def read_snapshot_bytes(uri: str, capsule: Path | str) -> bytes:
    """The snapshot bytes at ``uri`` in the capsule at ``capsule``, verified as a bundle's
    snapshot.json is (compiler.bundle); the runtime's ``load_snapshot`` delegates here."""
    from ..bundle import verify_snapshot_bytes

    parse_uri(uri)
    store = open_capsule(capsule, create=False)
    try:
        data = store.get(uri)
    finally:
        store.close()
    if data is None:
        raise InputError(f"{uri} not found", [Diagnostic.error(
            "POLC362", f"`{uri}` is not in the capsule", hint="store it with `polc build --capsule`")])
    snapshot = verify_snapshot_bytes(data, uri, in_bundle=True)  # same checks as a bundle's snapshot.json
    if not uri.endswith("/" + snapshot["policy_id"]):
        raise IntegrityError(f"{uri} does not verify", [Diagnostic.error(
            "POLC361", f"the snapshot at `{uri}` has policy_id {snapshot['policy_id']}, not the one its URI names",
            hint="the capsule object was altered or stored under another name; rebuild and store it again")])
    return data

"""The capsule: a content store beside the filesystem bundles (spec 001, dual storage).

Objects are addressed ``mv2://<workspace>/policy/<policy_id>`` and hold exactly the bytes
of the bundle's ``snapshot.json`` (977-A2: both places are byte-identical). Objects are
immutable: storing different bytes under an existing URI is an integrity error.

The interface is the small ``CapsuleStore`` protocol (put / get / list / close);
``SqliteCapsule`` backs it with one SQLite file (default ``<out_dir>/capsule.sqlite``, or
``[storage].capsule`` in policy.toml), ``capsule_pg.PostgresCapsule`` with PostgreSQL
(``[storage].capsule = "postgresql://user@host/db?schema=NAME"``); ``open_capsule`` picks.

>>> parse_uri("mv2://team-a/policy/3f1c")
('team-a', '3f1c')
>>> policy_uri("team-a", "3f1c")
'mv2://team-a/policy/3f1c'
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import sqlite3
from pathlib import Path
from typing import Protocol

from ..diagnostics import Diagnostic, Span
from ..errors import InputError, IntegrityError

SCHEME = "mv2://"
FORMAT = "polc_capsule@v1"
DEFAULT_FILE = "capsule.sqlite"
_URI = re.compile(r"^mv2://([A-Za-z0-9._-]+)/policy/([A-Za-z0-9._-]+)$")


class CapsuleStore(Protocol):
    def put(self, uri: str, data: bytes) -> None: ...
    def get(self, uri: str) -> bytes | None: ...
    def list(self, prefix: str = SCHEME) -> list[str]: ...
    def close(self) -> None: ...


def parse_uri(uri: str) -> tuple[str, str]:
    match = _URI.match(uri)
    if not match:
        raise InputError(f"bad URI {uri}", [Diagnostic.error(
            "POLC363", f"`{uri}` is not a capsule URI", hint="expected mv2://<workspace>/policy/<policy_id>")])
    return match.group(1), match.group(2)


def policy_uri(workspace: str, policy_id: str) -> str:
    return f"{SCHEME}{workspace}/policy/{policy_id}"


class SqliteCapsule:
    """A capsule in one SQLite file; every read re-checks the stored sha256."""

    def __init__(self, path: Path | str, *, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise _unreadable(self.path, "does not exist")
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            raise _unreadable(self.path, str(exc)) from None

    def _init_schema(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS capsule_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS objects (uri TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
                        "byte_size INTEGER NOT NULL, data BLOB NOT NULL, stored_at TEXT NOT NULL)")
        self.db.execute("INSERT OR IGNORE INTO capsule_meta VALUES ('format', ?)", (FORMAT,))
        (fmt,) = self.db.execute("SELECT value FROM capsule_meta WHERE key = 'format'").fetchone()
        if fmt != FORMAT:
            raise sqlite3.DatabaseError(f"format {fmt!r}, expected {FORMAT!r}")

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

    def list(self, prefix: str = SCHEME) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.db.execute("SELECT uri FROM objects WHERE uri LIKE ? ESCAPE '\\' ORDER BY uri", (escaped + "%",))
        return [uri for (uri,) in rows]

    def close(self) -> None:
        self.db.close()


def _unreadable(path: Path, why: str) -> InputError:
    return InputError(f"capsule {path}", [Diagnostic.error(
        "POLC360", f"the capsule `{path}` cannot be opened: {why}", Span.whole_file(str(path)),
        hint="set [storage].capsule in policy.toml (or POLC_CAPSULE) to a polc capsule file")])


def open_capsule(location: Path | str, *, create: bool = True) -> CapsuleStore:
    """The capsule at ``location``: a PostgreSQL URL or the path of an SQLite file."""
    if str(location).startswith(("postgresql://", "postgres://")):
        from .capsule_pg import PostgresCapsule

        return PostgresCapsule(str(location))
    return SqliteCapsule(location, create=create)


# -- where the capsule is, for a project or a bare URI ---------------------------------------------

def capsule_settings(project) -> tuple[Path | str, str]:
    """(capsule file or URL, workspace) of a project: ``[storage].capsule`` and ``[storage].workspace``."""
    from ..sources import resolve_in_project

    storage = project.section("storage")
    name = storage.get("capsule")
    if name and name.startswith(("postgresql://", "postgres://")):
        path: Path | str = name
    else:
        path = (resolve_in_project(project.root, name, project.span("storage", "capsule")) if name
                else project.out_dir / DEFAULT_FILE)
    workspace = storage.get("workspace") or re.sub(r"[^A-Za-z0-9._-]", "-",
                                                   project.section("project").get("name") or project.root.name)
    return path, workspace


def default_capsule_path(start: Path | None = None) -> Path | str:
    """``POLC_CAPSULE``, else the capsule of the project found by walking up from ``start``."""
    if os.environ.get("POLC_CAPSULE"):
        value = os.environ["POLC_CAPSULE"]
        return value if value.startswith(("postgresql://", "postgres://")) else Path(value)
    from ..project import load_project

    return capsule_settings(load_project(start))[0]


def store_bundle(project, bundle) -> str:
    """Store the (verified) bundle's snapshot.json bytes in the project's capsule; returns the URI."""
    path, workspace = capsule_settings(project)
    data = bundle.snapshot_bytes
    uri = policy_uri(workspace, bundle.policy_id)
    store = open_capsule(path)
    try:
        store.put(uri, data)
    finally:
        store.close()
    return uri


def read_snapshot_bytes(uri: str, capsule: Path | str | None = None) -> bytes:
    """The snapshot bytes at ``uri``, hash-verified; the runtime's ``load_snapshot`` delegates here."""
    from ..bundle import verify_snapshot_bytes

    parse_uri(uri)
    store = open_capsule(capsule or default_capsule_path(), create=False)
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

"""The capsule on PostgreSQL: the same four methods as ``SqliteCapsule``.

``[storage].capsule = "postgresql://user@host/db?schema=NAME"`` (or ``POLC_CAPSULE``) selects
it. Objects live in ``polc_capsule_objects`` and run events in ``polc_capsule_events``; an
UPDATE or DELETE of either is refused by a trigger, so both are immutable in the database itself.

>>> split_schema("postgresql://u@h/db?schema=caps&sslmode=disable")
('postgresql://u@h/db?sslmode=disable', 'caps')
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import threading

from ..diagnostics import Diagnostic
from ..errors import InputError, IntegrityError
from .store import event_row, verified_events
from .uri import SCHEME, check_stream, parse_uri

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_DDL = (
    "CREATE TABLE IF NOT EXISTS polc_capsule_objects (uri TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
    "byte_size BIGINT NOT NULL, data BYTEA NOT NULL, stored_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    """CREATE OR REPLACE FUNCTION polc_capsule_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'capsule objects are immutable: % refused', TG_OP; END $$""",
    "CREATE OR REPLACE TRIGGER polc_capsule_no_update BEFORE UPDATE OR DELETE ON polc_capsule_objects "
    "FOR EACH ROW EXECUTE FUNCTION polc_capsule_immutable()",
    "CREATE TABLE IF NOT EXISTS polc_capsule_events (stream TEXT NOT NULL, seq BIGINT NOT NULL, data BYTEA NOT NULL, "
    "prev_sha256 TEXT, sha256 TEXT NOT NULL, stored_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (stream, seq))",
    "CREATE OR REPLACE TRIGGER polc_capsule_events_append_only BEFORE UPDATE OR DELETE ON polc_capsule_events "
    "FOR EACH ROW EXECUTE FUNCTION polc_capsule_immutable()",
)
_DDL_LOCK_KEY = 7_060_301  # serializes first-time DDL from several processes


def split_schema(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    if schema is not None and not _SCHEMA.match(schema):
        raise _unusable(url, f"`{schema}` is not a valid schema name")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def _unusable(url: str, why: str) -> InputError:
    parts = urlsplit(url)
    netloc = (f"{parts.username}@" if parts.username else "") + (parts.hostname or "") + \
        (f":{parts.port}" if parts.port else "")
    shown = parts._replace(netloc=netloc).geturl()  # everything but the password
    return InputError("capsule unusable", [Diagnostic.error(
        "POLC360", f"the capsule `{shown}` cannot be used: {why}",
        hint="check [storage].capsule (postgresql://user@host/db?schema=NAME) and that the server is up")])


class PostgresCapsule:
    def __init__(self, url: str):
        import psycopg

        base, schema = split_schema(url)
        self._lock = threading.RLock()  # a run appends events from any thread; one connection
        try:
            self.db = psycopg.connect(base, autocommit=True)
            with self.db.transaction():
                self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
                if schema:
                    self.db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                    self.db.execute(f'SET search_path TO "{schema}"')
                for statement in _DDL:
                    self.db.execute(statement)
        except psycopg.Error as exc:
            raise _unusable(url, str(exc).strip().splitlines()[0]) from None

    def put(self, uri: str, data: bytes) -> None:
        parse_uri(uri)
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self.db.execute("INSERT INTO polc_capsule_objects (uri, sha256, byte_size, data) VALUES (%s, %s, %s, %s) "
                            "ON CONFLICT (uri) DO NOTHING", (uri, digest, len(data), data))
            (stored,) = self.db.execute("SELECT sha256 FROM polc_capsule_objects WHERE uri = %s", (uri,)).fetchone()
        if stored != digest:
            raise IntegrityError("capsule object differs", [Diagnostic.error(
                "POLC361", f"`{uri}` already holds different bytes in the capsule",
                hint="capsule objects are immutable; the same policy_id must always have the same snapshot")])

    def get(self, uri: str) -> bytes | None:
        parse_uri(uri)
        with self._lock:
            row = self.db.execute("SELECT sha256, data FROM polc_capsule_objects WHERE uri = %s", (uri,)).fetchone()
        if row is None:
            return None
        digest, data = row[0], bytes(row[1])
        if hashlib.sha256(data).hexdigest() != digest:
            raise IntegrityError("capsule object damaged", [Diagnostic.error(
                "POLC361", f"`{uri}` in the capsule does not match its recorded sha256")])
        return data

    def list(self, prefix: str = SCHEME) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._lock:
            rows = self.db.execute("SELECT uri FROM polc_capsule_objects WHERE uri LIKE %s ORDER BY uri",
                                   (escaped + "%",))
            return [uri for (uri,) in rows]

    def append_event(self, stream: str, event: dict) -> int:
        """Append ``event`` to ``stream`` (hash-chained); returns its 1-based position."""
        check_stream(stream)
        with self._lock, self.db.transaction():
            # Writers of one stream queue here, so the tail read and the insert are one step.
            self.db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (stream,))
            last = self.db.execute("SELECT seq, sha256 FROM polc_capsule_events WHERE stream = %s "
                                   "ORDER BY seq DESC LIMIT 1", (stream,)).fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, None)
            data, digest = event_row(prev, event)
            self.db.execute("INSERT INTO polc_capsule_events (stream, seq, data, prev_sha256, sha256) "
                            "VALUES (%s, %s, %s, %s, %s)", (stream, seq, data, prev, digest))
        return seq

    def events(self, stream: str) -> list[dict]:
        check_stream(stream)
        with self._lock:
            rows = self.db.execute("SELECT seq, data, prev_sha256, sha256 FROM polc_capsule_events "
                                   "WHERE stream = %s ORDER BY seq", (stream,)).fetchall()
        return verified_events(stream, rows, "the PostgreSQL capsule")

    def streams(self, prefix: str = SCHEME) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._lock:
            rows = self.db.execute("SELECT DISTINCT stream FROM polc_capsule_events WHERE stream LIKE %s "
                                   "ORDER BY stream", (escaped + "%",))
            return [stream for (stream,) in rows]

    def close(self) -> None:
        self.db.close()

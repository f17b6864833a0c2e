"""Append-only JSON Lines with a hash chain, safe against a crash mid-append: the one log
module of polc (ledger, delta log, run events and replay records, the capsule's event rows).

The one hash-chain convention: every record is canonical JSON (RFC 8785) and carries
``prev_sha256``, the sha256 of the previous record's bytes (64 zeros for the first), so a
deleted, reordered or edited record breaks the chain (``link`` and ``verify_chain``). An append takes an
exclusive ``flock``, first cuts off a torn final line (a write that a crash interrupted:
it never completed, so it was never acknowledged), then writes the new line with one
``write`` and fsyncs. Readers ignore a torn final line.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "log.jsonl"
>>> first = append_row(p, {"n": 1}); second = append_row(p, {"n": 2})
>>> [row["n"] for row, _ in read_rows(p, "POLC345")], verify_chain(read_rows(p, "POLC345"))
([1, 2], None)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path

from .diagnostics import Diagnostic, Span
from .errors import InputError

GENESIS = "0" * 64
_CHUNK = 1 << 16


def link(prev: str | None, record: dict) -> tuple[bytes, str]:
    """(the canonical bytes of ``record`` linked to ``prev``, their sha256): the convention for
    chained records kept outside a JSONL file (the capsule's event rows)."""
    data = encode_row({**record, "prev_sha256": prev or GENESIS})
    return data, line_sha(data)


def line_sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def encode_row(row: dict) -> bytes:
    from .canonical import canonical_json

    return canonical_json(row)


def append_row(path: Path, row: dict, *, prev: str | None = None) -> bytes:
    """Append ``row`` with its ``prev_sha256`` set; returns the line written (without newline).

    ``prev`` pins the expected previous line hash (a caller that computed the row under
    an outer lock); by default it is read from the file.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        tail = _repair_and_tail(fd)
        row = {**row, "prev_sha256": prev if prev is not None else (line_sha(tail) if tail else GENESIS)}
        line = encode_row(row)
        os.write(fd, line + b"\n")
        os.fsync(fd)
        return line
    finally:
        os.close(fd)


def last_line_sha(path: Path) -> str:
    """The hash a row appended now would chain to."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return GENESIS
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        tail = _repair_and_tail(fd)
        return line_sha(tail) if tail else GENESIS
    finally:
        os.close(fd)


def last_row(path: Path) -> tuple[dict | None, str]:
    """(the last complete row or None, the hash a row appended now would chain to)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None, GENESIS
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        tail = _repair_and_tail(fd)
    finally:
        os.close(fd)
    if not tail:
        return None, GENESIS
    try:
        row = json.loads(tail)
    except ValueError:
        row = None
    return (row if isinstance(row, dict) else None), line_sha(tail)


def _repair_and_tail(fd: int) -> bytes:
    """Cut a torn final line off (caller holds the lock); return the last complete line."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        keep = _rfind_newline(fd, size) + 1
        os.ftruncate(fd, keep)
        os.fsync(fd)
        size = keep
    if not size:
        return b""
    start = _rfind_newline(fd, size - 1) + 1
    return os.pread(fd, size - 1 - start, start)


def _rfind_newline(fd: int, end: int) -> int:
    """The offset of the last ``\\n`` before ``end``, or -1."""
    while end > 0:
        begin = max(0, end - _CHUNK)
        found = os.pread(fd, end - begin, begin).rfind(b"\n")
        if found >= 0:
            return begin + found
        end = begin
    return -1


def read_rows(path: Path, code: str) -> list[tuple[dict, bytes]]:
    """Every complete row as (value, line bytes); a torn final line is ignored; no file, no rows."""
    try:
        return read_log(path, code)[0]
    except FileNotFoundError:
        return []


def read_log(path: Path, code: str) -> tuple[list[tuple[dict, bytes]], bool]:
    """(every complete row as (value, line bytes), whether a torn final line was ignored).
    A missing file raises ``FileNotFoundError``; an unreadable one or a line that is not a JSON
    object is an ``InputError`` with ``code``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise InputError(f"{path} unreadable", [Diagnostic.error(code, f"`{path}` cannot be read: {exc}")]) from None
    lines = data.split(b"\n")
    rows = []
    for number, line in enumerate(lines[:-1], start=1):  # the last piece is "" or a torn line
        try:
            value = json.loads(line)
            if not isinstance(value, dict):
                raise ValueError("a row must be a JSON object")
        except ValueError as exc:
            raise InputError(f"{path}:{number} malformed", [Diagnostic.error(
                code, f"line {number} of `{path.name}` is not a JSON object: {exc}", Span(str(path), number, 1),
                hint="the log is append-only; restore it from an archive or version control")]) from None
        rows.append((value, line))
    return rows, lines[-1] != b""


def verify_chain(rows: list[tuple[dict, bytes]]) -> int | None:
    """The 1-based number of the first row whose ``prev_sha256`` is wrong, or None."""
    expected = GENESIS
    for number, (row, line) in enumerate(rows, start=1):
        if row.get("prev_sha256") != expected:
            return number
        expected = line_sha(line)
    return None

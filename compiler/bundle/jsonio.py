"""Reading the bytes and JSON of bundles: bounded, regular files only, strict JSON.

Nothing here follows a symlink out of a bundle, blocks on a FIFO, reads a file of unbounded
size, or accepts JSON that two readers could see differently (a key given twice).

>>> parse_object(b'{"a": 1}', "x.json", "manifest")
{'a': 1}
>>> parse_object(b'{"a": 1, "a": 2}', "x.json", "manifest")
Traceback (most recent call last):
  ...
compiler.errors.InputError: `x.json` has the key `a` twice
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..canonical import CanonicalError, canonical_json
from ..errors import PolcError
from ..fsutil import FileTooLarge, NotARegularFile, read_regular_file
from .errors import REBUILD, integrity, unreadable


def read_named_file(path: Path, limit: int, what: str, hint: str) -> bytes:
    """Read a file the *user* named (a snapshot, a head pointer): problems are exit 3."""
    try:
        return read_regular_file(path, limit)
    except FileNotFoundError:
        raise unreadable("POLC700", f"`{path}` does not exist", hint, str(path)) from None
    except FileTooLarge as exc:
        raise unreadable("POLC700", f"`{path}` is {exc.size:,} bytes, too large to be a {what}", hint,
                         str(path)) from None
    except NotARegularFile as exc:
        raise unreadable("POLC700", f"`{path}` is {exc.kind}, not a {what}", hint, str(path)) from None
    except OSError as exc:
        raise unreadable("POLC700", f"`{path}` cannot be read: {exc.strerror or exc}",
                         "check that the path is a readable file", str(path)) from None


def parse_object(data: bytes, where: str, what: str, *, strict_keys: bool = True) -> dict:
    """``data`` as a JSON object, or an InputError (POLC701) naming the file and the position.

    ``strict_keys=False`` skips the per-object duplicate check, for callers that compare the
    bytes with their canonical form afterwards (a repeated key cannot survive that comparison).
    """
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates) if strict_keys else json.loads(data)
    except UnicodeDecodeError as exc:
        raise unreadable("POLC701", f"`{where}` is not UTF-8 (byte {exc.start})", REBUILD, where) from None
    except json.JSONDecodeError as exc:
        raise unreadable("POLC701", f"`{where}` is not valid JSON: {exc.msg} at line {exc.lineno} "
                                    f"column {exc.colno}", f"`{where}` must be a {what}", where) from None
    except _DuplicateKey as exc:
        raise unreadable("POLC701", f"`{where}` has the key `{exc.args[0]}` twice", REBUILD, where) from None
    except RecursionError:
        raise unreadable("POLC701", f"`{where}` is nested too deeply to be a {what}", REBUILD, where) from None
    if not isinstance(value, dict):
        raise unreadable("POLC701", f"`{where}` holds a JSON {_json_type(value)}, not a {what} object",
                         f"`{where}` must be a {what}", where)
    return value


def parse_written(data: bytes, where: str, what: str, code: str, **options) -> dict:
    """Like ``parse_object`` for a file polc wrote whole: failing to parse means it was damaged."""
    try:
        return parse_object(data, where, what, **options)
    except PolcError as exc:
        raise integrity(code, exc.message, REBUILD, where) from None


def check_canonical(raw: bytes, value: Any, where: str, code: str) -> None:
    """polc writes canonical JSON only, so other bytes (even of equal meaning) are an edit."""
    try:
        canonical = canonical_json(value)
    except CanonicalError as exc:
        raise integrity(code, f"`{where}`: {exc}", REBUILD, where) from None
    if canonical != raw:
        raise integrity(code, f"`{where}` is not in canonical form (RFC 8785): it was edited after polc wrote it",
                        REBUILD, where)


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out

"""``policy.surface.yaml``: the normalized learning surface, written by a tiny writer of our own.

The file is derived from the snapshot's ``surface`` block alone, so its bytes do not depend on
the PyYAML version and a reader can check the file by writing it again.

>>> print(to_yaml({"surface_version": "policy_surface@v1", "feature_space": [{"name": "x"}]}).decode())
# policy_surface: normalized by polc; do not edit (edit the source surface and rebuild)
surface_version: "policy_surface@v1"
feature_space:
  - name: "x"
<BLANKLINE>
"""

from __future__ import annotations

import json
import re
from typing import Any


def to_yaml(surface: dict) -> bytes:
    lines = ["# policy_surface: normalized by polc; do not edit (edit the source surface and rebuild)"]
    _emit(surface, 0, lines)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{_key(key)}:")
            _emit(item, indent + 2, lines)
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            lines.append(f"{pad}{_key(key)}:")
            for entry in item:
                first, *rest = _block(entry, indent + 4)
                lines.append(f"{pad}  - {first.lstrip()}")
                lines.extend(rest)
        else:
            lines.append(f"{pad}{_key(key)}: {scalar(item)}")


#: Plain words YAML 1.1 reads as booleans or null: a reward signal may be named `yes` or `null`.
_RESERVED_WORDS = re.compile(r"^(?:y|n|yes|no|true|false|on|off|null|~)$", re.IGNORECASE)


def _key(key: str) -> str:
    """A mapping key: plain when it is an identifier YAML reads as a string, else quoted."""
    return key if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key) and not _RESERVED_WORDS.match(key) else scalar(key)


def _block(entry: dict, indent: int) -> list[str]:
    out: list[str] = []
    _emit(entry, indent, out)
    return out


def scalar(value: Any) -> str:
    """A flow-style YAML scalar that PyYAML and YAML 1.2 parsers read back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))
    if isinstance(value, list):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


#: Characters a YAML reader refuses raw (or reads as line breaks); escaped as \uXXXX instead.
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]")


def _float(value: float) -> str:
    text = repr(value)  # shortest round-trip form
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:  # YAML 1.1 (PyYAML) reads 1e-07 as a string; 1.0e-07 is a float
        mantissa += ".0"
    return mantissa + (f"e{exponent}" if exponent else "")

"""Values in diagnostics, spelled the way the user wrote them: TOML (and YAML/JSON) syntax, not
Python's ``repr``. A message says ``true``, ``2027-05-14`` and ``"fast"``, never ``True``,
``datetime.date(2027, 5, 14)`` or ``'fast'``.

>>> import datetime
>>> spell(True), spell(datetime.date(2027, 5, 14)), spell(datetime.time(7, 32)), spell("fast")
('true', '2027-05-14', '07:32:00', '"fast"')
>>> spell(float("nan")), spell([1, "a", None]), spell({"x": 1.5})
('nan', '[1, "a", null]', '{ x = 1.5 }')
>>> kind(datetime.datetime(2027, 5, 14, 0, 0))
'a TOML date-time (2027-05-14T00:00:00)'
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from typing import Any

#: Longer spellings are cut to this many characters (a message names a value, it does not dump it).
MAX_SPELLING = 80

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def spell(value: Any, limit: int = MAX_SPELLING) -> str:
    """``value`` as TOML would write it (``null`` for a YAML/JSON null), cut to ``limit`` characters."""
    text = _spell(value, depth=0)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _spell(value: Any, depth: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if depth > 2:
        return "…"
    if isinstance(value, dict):
        items = [f"{_key(k)} = {_spell(v, depth + 1)}" for k, v in list(value.items())[:8]]
        more = ", …" if len(value) > 8 else ""
        return "{ " + ", ".join(items) + more + " }" if items else "{}"
    if isinstance(value, (list, tuple)):
        items = [_spell(v, depth + 1) for v in list(value)[:8]]
        return "[" + ", ".join(items) + (", …" if len(value) > 8 else "") + "]"
    return f"<{type(value).__name__}>"


def _int(value: int) -> str:
    if value.bit_length() > 133:  # beyond 40 digits: str() of a huge integer is slow and unreadable
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    return str(value)


def _key(key: Any) -> str:
    return key if isinstance(key, str) and _BARE_KEY.match(key) else json.dumps(str(key), ensure_ascii=False)


def kind(value: Any) -> str:
    """What ``value`` is, in TOML's words, with its spelling: ``a string ("fast")``, ``a boolean (true)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({spell(value)})"
    if isinstance(value, int):
        text = spell(value)
        return text if text.startswith("an integer") else f"an integer ({text})"
    if isinstance(value, float):
        return f"a number ({spell(value)})"
    if isinstance(value, str):
        return f"a string ({spell(value)})"
    if isinstance(value, _dt.datetime):
        return f"a TOML date-time ({spell(value)})"
    if isinstance(value, _dt.date):
        return f"a TOML date ({spell(value)})"
    if isinstance(value, _dt.time):
        return f"a TOML time ({spell(value)})"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a value of type {type(value).__name__}"

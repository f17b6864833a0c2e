"""CEL operations on containers: map lookup with numeric key equivalence, indexing, field
selection, ``has``, ``in``, map construction and macro iteration.

>>> map_lookup({1: "a"}, 1.0), map_lookup({True: "t"}, 1)
((True, 'a'), (False, None))
>>> make_map([("a", 1), ("a", 2)])
Traceback (most recent call last):
...
compiler.cel.semantics.CelErrorValue: repeated map key 'a'
"""

from __future__ import annotations

from .semantics import _NUMERIC, CelErrorValue, eq, no_overload, type_name

def map_key_ok(key) -> bool:
    return type_name(key) in ("int", "uint", "bool", "string")


def map_lookup(container: dict, key) -> tuple[bool, object]:
    """Find ``key`` with CEL's numeric key equivalence (``1``, ``1u`` and ``1.0`` agree).

    Python's dict treats ``True`` and ``1`` as one key; CEL does not, so a hit on 0 or 1
    is confirmed against the stored key's kind.
    """
    if type(key) is str:
        value = container.get(key, _MISSING)
        return (False, None) if value is _MISSING else (True, value)
    kind = type_name(key)
    if kind == "double" and not float(key).is_integer():
        return False, None
    if kind not in _NUMERIC and kind not in ("bool", "string"):
        raise CelErrorValue(f"unsupported map key type {kind}")
    try:
        value = container.get(key, _MISSING)
    except TypeError:  # an unhashable key cannot be in the map
        return False, None
    if value is _MISSING:
        return False, None
    if key == 0 or key == 1:
        want_bool = kind == "bool"
        if not any(stored == key and isinstance(stored, bool) == want_bool for stored in container):
            return False, None
    return True, value


_MISSING = object()


def index(container, key):
    kind = type_name(container)
    if kind == "list":
        return _list_index(container, key)
    if kind == "map":
        found, value = map_lookup(container, key)
        if not found:
            raise CelErrorValue(f"no such key: {format_value(key)}")
        return value
    raise CelErrorValue(f"no such overload: index on {kind}")


def _list_index(items, key):
    kind = type_name(key)
    if kind == "double":
        if not float(key).is_integer():
            raise CelErrorValue(f"invalid list index {key!r}: not an integer")
        key = int(key)
    elif kind not in ("int", "uint"):
        raise CelErrorValue(f"no such overload: list index of type {kind}")
    if not 0 <= key < len(items):
        raise CelErrorValue(f"index out of bounds: {int(key)} (size {len(items)})")
    return items[key]


def select(operand, field: str):
    if isinstance(operand, dict):
        found, value = map_lookup(operand, field)
        if not found:
            raise CelErrorValue(f"no such key: '{field}'")
        return value
    raise CelErrorValue(f"type {type_name(operand)} has no field '{field}'")


def has(operand, field: str) -> bool:
    if isinstance(operand, dict):
        return map_lookup(operand, field)[0]
    raise CelErrorValue(f"has() is not supported on type {type_name(operand)}")


def contains_in(element, container) -> bool:
    """``element in container``."""
    kind = type_name(container)
    if kind == "list":
        return any(eq(element, item) for item in container)
    if kind == "map":
        if not map_key_ok(element) and type_name(element) != "double":
            return False
        return map_lookup(container, element)[0]
    raise no_overload("in", element, container)


def make_map(entries) -> dict:
    result: dict = {}
    for key, value in entries:
        if not map_key_ok(key):
            raise CelErrorValue(f"unsupported map key type {type_name(key)}")
        if map_lookup(result, key)[0]:
            raise CelErrorValue(f"repeated map key {format_value(key)}")
        if key in result:  # `true` and `1`: distinct in CEL, one key in a Python dict
            raise CelErrorValue(f"map keys {format_value(key)} and its bool/int twin cannot "
                                "both be used in one map (polc limitation)")
        result[key] = value
    return result


def iterable(value, macro: str):
    """The items a macro iterates: list elements or map keys."""
    if isinstance(value, (list, tuple)):
        return value
    if isinstance(value, dict):
        return list(value.keys())
    raise CelErrorValue(f"`{macro}` needs a list or map, got {type_name(value)}")


def format_value(value) -> str:
    """A short CEL-like rendering for messages."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value)

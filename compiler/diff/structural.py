"""The structural diff of two snapshots: every added, removed and changed path.

One walk over both trees, so the cost is linear in their size. Dicts are compared key by
key; a list of scalars (a role's models) becomes one change carrying its element-level
delta (added, removed, reordered); a list of named tables (``safe_modes``, ``feature_space``)
is matched by ``name``; other lists of the same length are compared element by element.

>>> [(c.dotted, c.kind) for c in diff_snapshots({"a": {"x": 1, "y": [1, 2]}}, {"a": {"x": 2, "y": [2, 1]}})]
[('a.x', 'changed'), ('a.y', 'changed')]
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from .model import Change, ListDelta

#: Identity fields: they change whenever anything changes, so they are not changes themselves.
IGNORED_TOP_LEVEL = frozenset({"hash", "policy_id", "created_at"})


def diff_snapshots(old: dict, new: dict) -> list[Change]:
    """Every change from ``old`` to ``new``, in NEW's key order (old-only keys after)."""
    old = {k: v for k, v in old.items() if k not in IGNORED_TOP_LEVEL}
    new = {k: v for k, v in new.items() if k not in IGNORED_TOP_LEVEL}
    return list(_diff(old, new, ()))


def same(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0`` (one number in canonical JSON) but ``True != 1``.

    The common cases run at C speed: ``!=`` rules out a difference, and two equal values
    whose JSON spellings also match (json.dumps writes ``true``, never ``1``) are the same;
    only values that are equal but spelled apart (``1`` and ``1.0``, ``true`` and ``1``)
    take the strict walk.
    """
    if a != b:
        return False
    if type(a) is str or _dumps(a) == _dumps(b):
        return True
    return _same_strict(a, b)


_dumps = json.JSONEncoder(check_circular=False, ensure_ascii=False, allow_nan=True).encode


def _same_strict(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_strict(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_strict(x, y) for x, y in zip(a, b))
    return a == b


def _diff(old: Any, new: Any, path: tuple) -> Iterator[Change]:
    if same(old, new):  # prunes every unchanged subtree at C speed
        return
    if isinstance(old, dict) and isinstance(new, dict):
        yield from _diff_dicts(old, new, path)
    elif isinstance(old, list) and isinstance(new, list):
        yield from _diff_lists(old, new, path)
    else:
        yield Change(path, "changed", old, new)


def _diff_dicts(old: dict, new: dict, path: tuple) -> Iterator[Change]:
    for key in _ordered_keys(old, new):
        if key not in new:
            yield Change(path + (key,), "removed", old[key], None)
        elif key not in old:
            yield Change(path + (key,), "added", None, new[key])
        else:
            yield from _diff(old[key], new[key], path + (key,))


def _ordered_keys(old: dict, new: dict) -> list:
    """NEW's keys in their order, then keys only OLD has (snapshots are key-sorted anyway)."""
    return list(new) + [k for k in old if k not in new]


def _diff_lists(old: list, new: list, path: tuple) -> Iterator[Change]:
    if _all_scalars(old) and _all_scalars(new):
        delta = element_delta(old, new)
        if delta is not None:
            yield Change(path, "changed", old, new, delta)
    elif _named(old) and _named(new):
        yield from _diff_named(old, new, path)
    elif len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            yield from _diff(a, b, path + (i,))
    else:
        yield Change(path, "changed", old, new)


def element_delta(old: list, new: list) -> ListDelta | None:
    """Added, removed and whether the kept elements changed order; None when equal.

    >>> element_delta(["a", "b", "c"], ["c", "a", "d"])
    ListDelta(added=('d',), removed=('b',), reordered=True)
    """
    if same(old, new):
        return None
    old_keys, new_keys = [_key(x) for x in old], [_key(x) for x in new]
    old_set, new_set = set(old_keys), set(new_keys)
    added = tuple(x for x, k in zip(new, new_keys) if k not in old_set)
    removed = tuple(x for x, k in zip(old, old_keys) if k not in new_set)
    kept_old = [k for k in old_keys if k in new_set]
    kept_new = [k for k in new_keys if k in old_set]
    return ListDelta(added, removed, kept_old != kept_new)


def _key(value: Any) -> tuple:
    # The type name keeps True, 1 and "1" apart; 1 and 1.0 are one JSON number.
    kind = "num" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__
    return (kind, value)


def _all_scalars(items: list) -> bool:
    return all(not isinstance(x, (dict, list)) for x in items)


def _named(items: list) -> bool:
    names = [x.get("name") for x in items if isinstance(x, dict)]
    return (len(names) == len(items) and all(isinstance(n, str) for n in names)
            and len(set(names)) == len(names))


def _diff_named(old: list, new: list, path: tuple) -> Iterator[Change]:
    """Tables matched by ``name``: the path names the NEW position (OLD's for a removal)."""
    old_by_name = {x["name"]: (i, x) for i, x in enumerate(old)}
    new_names = set()
    for i, item in enumerate(new):
        new_names.add(item["name"])
        if item["name"] in old_by_name:
            yield from _diff(old_by_name[item["name"]][1], item, path + (i,))
        else:
            yield Change(path + (i,), "added", None, item)
    for name, (i, item) in old_by_name.items():
        if name not in new_names:
            yield Change(path + (i,), "removed", item, None)

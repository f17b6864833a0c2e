"""Deep-frozen JSON data: the loaded snapshot can be shared between threads and never changes.

Objects become read-only mappings (``MappingProxyType`` over a private dict), arrays become
tuples; scalars are already immutable. ``thaw`` turns frozen data back into plain JSON types
(for printing, hashing, or handing to code that wants a dict).

>>> frozen = deep_freeze({"cloud": {"judge": ["m1", "m2"]}})
>>> frozen["cloud"]["judge"]
('m1', 'm2')
>>> frozen["cloud"]["x"] = 1
Traceback (most recent call last):
  ...
TypeError: 'mappingproxy' object does not support item assignment
>>> thaw(frozen)
{'cloud': {'judge': ['m1', 'm2']}}
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterator, Mapping

FrozenMap = MappingProxyType
_MISSING = object()


def deep_freeze(value: Any) -> Any:
    """An immutable copy of JSON data (dict -> mappingproxy, list -> tuple)."""
    kind = type(value)
    if kind is dict or kind is MappingProxyType:
        return MappingProxyType({k: deep_freeze(v) for k, v in value.items()})
    if kind is list or kind is tuple:
        return tuple([deep_freeze(v) for v in value])
    return value


class LazyFrozenMap(Mapping):
    """A read-only view of a JSON object whose values are deep-frozen on first access.

    Loading a 1 MB snapshot must not pay for freezing blocks nobody reads; a block is frozen
    once, the first time it is read (concurrent first reads may both freeze it; one copy wins,
    and they are equal). The wrapped dict is private and never mutated.

    >>> view = LazyFrozenMap({"routing": {"cloud": {"judge": ["m"]}}})
    >>> view["routing"]["cloud"]["judge"], len(view), list(view)
    (('m',), 1, ['routing'])
    """

    __slots__ = ("_raw", "_frozen")

    def __init__(self, raw: dict):
        self._raw = raw
        self._frozen: dict = {}

    def __getitem__(self, key: str) -> Any:
        value = self._frozen.get(key, _MISSING)
        if value is _MISSING:
            value = self._frozen.setdefault(key, deep_freeze(self._raw[key]))  # setdefault is atomic
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __repr__(self) -> str:
        return f"LazyFrozenMap({list(self._raw)})"


def thaw(value: Any) -> Any:
    """Plain, mutable JSON data from frozen data (a fresh copy; the frozen value is untouched)."""
    if isinstance(value, LazyFrozenMap):
        value = value._raw
    if isinstance(value, (dict, Mapping)):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value

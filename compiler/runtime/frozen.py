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
from typing import Any

FrozenMap = MappingProxyType


def deep_freeze(value: Any) -> Any:
    """An immutable copy of JSON data (dict -> mappingproxy, list -> tuple)."""
    kind = type(value)
    if kind is dict or kind is MappingProxyType:
        return MappingProxyType({k: deep_freeze(v) for k, v in value.items()})
    if kind is list or kind is tuple:
        return tuple([deep_freeze(v) for v in value])
    return value


def thaw(value: Any) -> Any:
    """Plain, mutable JSON data from frozen data (a fresh copy; the frozen value is untouched)."""
    if isinstance(value, (dict, MappingProxyType)):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value

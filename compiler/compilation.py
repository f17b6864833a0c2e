"""What the pipeline's stages share: the immutable ``Compilation``, a stage's ``StageOutput``,
and the ``@stage`` declaration of the units each stage reads and writes.

A *unit* is one named product of a stage (``model_policy``, ``rules_checked``, ``snapshot``...).
Each stage function is declared with the units it reads and writes; the runner
(``compiler/pipeline.py``) hands it a view that holds only the units it declared it reads, and
refuses an output with a unit it did not declare it writes. So the data flow between stages is
data too (docs/reference/pipeline.md is generated from these declarations).

Four units *accumulate*: several stages contribute to them and the runner merges the
contributions, so no stage needs to read another stage's contribution to add its own:
``sources`` (every file read, in stage order), ``snapshot_blocks``, ``bundle_files`` and
``manifest_extra`` (merged mappings).

>>> @stage(reads=("model_policy",), writes=("snapshot_blocks",))
... def lower_example(c):
...     return StageOutput({"snapshot_blocks": {"example": c["model_policy"]}})
>>> lower_example.reads, lower_example.writes
(('model_policy',), ('snapshot_blocks',))
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .diagnostics import Diagnostic

#: Units several stages contribute to, and how the runner merges a contribution into them.
ACCUMULATED: dict[str, Callable[[Any, Any], Any]] = {
    "sources": lambda old, new: (*old, *new),
    "snapshot_blocks": lambda old, new: {**old, **new},
    "bundle_files": lambda old, new: {**old, **new},
    "manifest_extra": lambda old, new: {**old, **new},
}


class UndeclaredUnit(Exception):
    """A stage read or wrote a unit it did not declare: a bug in polc, not in the policy."""


@dataclass(frozen=True)
class Compilation:
    """Everything the stages have produced so far, keyed by unit name; never mutated.

    ``options`` are the explicitly passed inputs of a run (``out_dir``, ``previous_bundle``,
    ``today``...): a stage reads those and the project, never the file system beyond its sources.
    """

    project: Any
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    units: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    readable: frozenset[str] | None = None  # None: every unit (the runner's own view)

    def __getitem__(self, name: str) -> Any:
        self._check(name)
        return self.units[name]

    def get(self, name: str, default: Any = None) -> Any:
        self._check(name)
        return self.units.get(name, default)

    def _check(self, name: str) -> None:
        if self.readable is not None and name not in self.readable:
            raise UndeclaredUnit(f"a stage read the unit `{name}` without declaring it in @stage(reads=...)")

    def with_units(self, updates: Mapping[str, Any]) -> "Compilation":
        merged = dict(self.units)
        for name, value in updates.items():
            merge = ACCUMULATED.get(name)
            merged[name] = merge(merged[name], value) if merge and name in merged else value
        return replace(self, units=MappingProxyType(merged))

    def view(self, reads: tuple[str, ...]) -> "Compilation":
        """The compilation as a stage that declared ``reads`` may see it."""
        return replace(self, readable=frozenset(reads))


@dataclass(frozen=True)
class StageOutput:
    units: Mapping[str, Any] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()


def stage(*, reads: tuple[str, ...] = (), writes: tuple[str, ...] = ()):
    """Declare the units a stage function reads and writes (see the module docstring)."""
    def declare(fn):
        fn.reads, fn.writes = tuple(reads), tuple(writes)
        return fn
    return declare

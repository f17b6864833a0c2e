"""The pass pipeline: the whole compiler in one screen.

Each stage is a plain function ``Compilation -> StageOutput``; the runner applies its
outputs to a new immutable ``Compilation``, collects its diagnostics, and stops after
a stage that produced an error (warnings never stop it). ``check`` runs the stages up
to the last ``check_*``; ``build`` runs all of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .diagnostics import Diagnostic, Diagnostics, has_errors
from .errors import PolcError
from .project import Project, load_project


@dataclass(frozen=True)
class Compilation:
    """Everything the stages have produced so far, keyed by unit name; never mutated."""

    project: Project
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    units: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __getitem__(self, name: str) -> Any:
        return self.units[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.units.get(name, default)

    def with_units(self, updates: Mapping[str, Any]) -> "Compilation":
        return replace(self, units=MappingProxyType({**self.units, **updates}))


@dataclass(frozen=True)
class StageOutput:
    units: Mapping[str, Any] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Compilation], StageOutput]


def _stages() -> tuple[Stage, ...]:
    # Imported here so that `import compiler` stays cheap; the list below is the compiler.
    from .passes import budget_proof, bundle, catalog, docs, model_policy, snapshot
    from .rules import stages as rules
    from .storage import stages as storage
    from .surface import stages as surface

    return (
        Stage("parse_model_policy", model_policy.parse_model_policy),   # reads [sources].model_policy
        Stage("check_model_policy_schema", model_policy.check_schema),  # after parse: types, names, enums
        Stage("check_model_policy", model_policy.check_semantics),      # after schema: values are well typed
        Stage("parse_catalog_files", catalog.parse_catalog_files),      # after check_model_policy: file names are strings
        Stage("check_catalog", catalog.check_catalog),                  # after parse_catalog_files: templates parsed
        Stage("check_budgets", budget_proof.check_budgets),             # after check_catalog: prices, limits, weights valid
        Stage("parse_doc_sources", docs.parse_doc_sources),              # independent; provenance files
        Stage("check_docs", docs.check_required_docs),                  # independent; doc contract (977-A5)
        Stage("parse_rules", rules.parse_rules),                        # independent; [sources].rules + stdlib
        Stage("check_rules", rules.check_rules),                        # after check_model_policy (gate tables) and parse_rules
        Stage("parse_surface", surface.parse_surface),                  # independent; reads [sources].surface
        Stage("check_surface", surface.check_surface),                  # after parse_surface; reads the previous head
        Stage("parse_weights", storage.parse_weights),                  # independent; reads [sources].weights (.npy)
        Stage("check_weights", storage.check_weights),                  # after parse_weights: dtype, shape, finite
        Stage("lower_catalog", catalog.lower_catalog),                  # after check_catalog; before lower_snapshot
        Stage("lower_surface", surface.lower_surface),                  # after check_surface; before lower_snapshot
        Stage("lower_weights", storage.lower_weights),                  # after check_weights; before lower_snapshot
        Stage("lower_rules", rules.lower_rules),                        # after check_rules; before lower_snapshot
        Stage("lower_snapshot", snapshot.lower_snapshot),               # after every check_*: all blocks valid
        Stage("emit_bundle", bundle.emit_bundle),                       # writes only a complete snapshot; moves the head
        Stage("emit_records", storage.emit_records),                    # after emit_bundle: ledger, surface_change, capsule
    )


@dataclass(frozen=True)
class BuildResult:
    compilation: Compilation | None
    diagnostics: tuple[Diagnostic, ...]
    timings: tuple[tuple[str, float], ...] = ()

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def snapshot(self) -> dict | None:
        return self.compilation.get("snapshot") if self.compilation else None

    @property
    def hash(self) -> str | None:
        snap = self.snapshot
        return snap["hash"] if snap else None

    @property
    def bundle_dir(self) -> Path | None:
        return self.compilation.get("bundle_dir") if self.compilation else None


def run_pipeline(path=None, *, until: str | None = None, **options) -> BuildResult:
    """Run the stages in order, up to and including the stage named ``until``."""
    try:
        project = load_project(path)
    except PolcError as exc:
        return BuildResult(None, exc.diagnostics)
    collected = Diagnostics(cap=project.section("check").get("max_diagnostics", 200))
    collected.extend(project.diagnostics)
    compilation = Compilation(project, MappingProxyType(dict(options)))
    timings = []
    if collected.has_errors:
        return BuildResult(compilation, collected.finish())
    for stage in _stages():
        started = time.perf_counter()
        try:
            output = stage.run(compilation)
        except PolcError as exc:  # a stage that cannot go on reports why, as diagnostics
            output = StageOutput({}, exc.diagnostics)
        timings.append((stage.name, time.perf_counter() - started))
        collected.extend(output.diagnostics)
        compilation = compilation.with_units(output.units)
        if has_errors(output.diagnostics) or stage.name == until:
            break
    return BuildResult(compilation, collected.finish(), tuple(timings))


def last_check_stage() -> str:
    return [s.name for s in _stages() if s.name.startswith("check_")][-1]


def check(path=None, **options) -> list[Diagnostic]:
    return list(run_pipeline(path, until=last_check_stage(), **options).diagnostics)


def build(path=None, *, out_dir=None, **options) -> BuildResult:
    if out_dir is not None:
        options["out_dir"] = out_dir
    return run_pipeline(path, **options)

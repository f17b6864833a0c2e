"""The pass pipeline: the whole compiler in one screen.

Each stage is a plain function ``Compilation -> StageOutput`` declared with the units it reads
and writes (``compiler/compilation.py``). The runner gives each stage only the units it
declared, applies its outputs to a new immutable ``Compilation`` and collects its diagnostics.

**One run, every problem.** A stage that reports an error *poisons* the units it declared but
did not produce (a stage hands on only what it vouches for, despite its errors); a later stage
that reads a poisoned unit is skipped (and poisons its own), every other stage still runs, so
one ``polc check`` reports the independent problems of every source. No
``lower_*`` or ``emit_*`` stage runs once any error was reported: a snapshot is only ever made
from a policy without errors. ``check`` runs the stages up to the last ``check_*``;
``compile_snapshot`` up to ``lower_snapshot`` (nothing written); ``build`` runs all of them.
"""

from __future__ import annotations

import gc
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable

from .compilation import ACCUMULATED, Compilation, StageOutput, UndeclaredUnit
from .diagnostics import Diagnostic, Diagnostics, has_errors
from .errors import PolcError, UsageError
from .project import load_project


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Compilation], StageOutput]

    @property
    def reads(self) -> tuple[str, ...]:
        return self.run.reads

    @property
    def writes(self) -> tuple[str, ...]:
        return self.run.writes


def stages() -> tuple[Stage, ...]:
    # Imported here so that `import compiler` stays cheap; the list below is the compiler.
    from .passes import budget_proof, bundle, catalog, docs, model_policy, snapshot
    from .rules import stages as rules
    from .storage import stages as storage
    from .surface import stages as surface

    return (
        Stage("parse_model_policy", model_policy.parse_model_policy),   # reads [sources].model_policy
        Stage("check_model_policy_schema", model_policy.check_schema),  # after parse: types, names, enums
        Stage("check_model_policy_values", model_policy.check_values),  # after schema: each value that passed it
        Stage("check_model_policy", model_policy.check_semantics),      # after schema: references between values
        Stage("parse_catalog_files", catalog.parse_catalog_files),      # after check_model_policy: file names are strings
        Stage("check_catalog", catalog.check_catalog),                  # after parse_catalog_files: templates parsed
        Stage("check_budgets", budget_proof.check_budgets),             # after check_catalog: its findings come first
        Stage("parse_doc_sources", docs.parse_doc_sources),              # independent; provenance files
        Stage("check_docs", docs.check_required_docs),                  # independent; the doc contract
        Stage("parse_rules", rules.parse_rules),                        # independent; [sources].rules + stdlib
        Stage("check_rules", rules.check_rules),                        # after check_model_policy (gate tables) and parse_rules
        Stage("parse_surface", surface.parse_surface),                  # independent; reads [sources].surface
        Stage("check_surface", surface.check_surface),                  # after parse_surface; compares with the previous bundle
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


#: The last stage of ``compile_snapshot``: the snapshot exists, nothing is written.
SNAPSHOT_STAGE = "lower_snapshot"


@dataclass(frozen=True)
class BuildResult:
    compilation: Compilation | None
    diagnostics: tuple[Diagnostic, ...]
    timings: tuple[tuple[str, float], ...] = ()
    skipped: tuple[str, ...] = ()  # stages not run because a unit they read was poisoned

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
    """Run the stages in order, up to and including the stage named ``until``.

    ``options`` are the run's explicit inputs (``out_dir``, ``capsule``, ``today``...).
    ``previous_bundle`` is the build the learning surface's version is compared with: a
    verified ``Bundle``, a path or id (``open_ref``), ``"head"`` for the out dir's active
    bundle, or None for no comparison.
    """
    plan = _plan(until)
    try:
        project = load_project(path)
    except PolcError as exc:
        return BuildResult(None, exc.diagnostics)
    collected = Diagnostics(cap=project.section("check").get("max_diagnostics", 200))
    collected.extend(project.diagnostics)
    previous, found = _previous_bundle(project, options)
    collected.extend(found)
    compilation = Compilation(project, MappingProxyType({**options, "previous_bundle": previous}))
    if collected.has_errors:
        return BuildResult(compilation, collected.finish())
    timings, skipped, poisoned = [], [], set()
    with _fewer_collections():
        for stage in plan:
            if stage.name.startswith(("lower_", "emit_")) and collected.has_errors:
                break
            if poisoned & set(stage.reads):
                skipped.append(stage.name)
                poisoned |= set(stage.writes)
                continue
            started = time.perf_counter()
            output = _run(stage, compilation)
            timings.append((stage.name, time.perf_counter() - started))
            collected.extend(output.diagnostics)
            compilation = compilation.with_units(output.units)
            if has_errors(output.diagnostics):
                poisoned |= set(stage.writes) - set(output.units) - set(ACCUMULATED)
    return BuildResult(compilation, collected.finish(), tuple(timings), tuple(skipped))


#: The cyclic collector's thresholds while stages run (the defaults are 700, 10, 10), as mypy sets them.
RUN_GC_THRESHOLDS = (200_000, 30, 30)
_gc_lock = threading.Lock()
_gc_runs = 0
_gc_saved: tuple[int, ...] = ()


@contextmanager
def _fewer_collections():
    """Collect cycles less often while the stages run. A big source (500,000 budget entries, 250,000
    surface features) makes millions of objects that live to the end of the run, and at the default
    thresholds the collector keeps re-scanning them: a sixth of a 500,000-entry check (14.8 s against
    12.0 s, benchmarks/bench_hostile.py). Reference counting still frees every acyclic object at once;
    the thresholds are restored when the last concurrent run ends."""
    global _gc_runs, _gc_saved
    with _gc_lock:
        if _gc_runs == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(*RUN_GC_THRESHOLDS)
        _gc_runs += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_runs -= 1
            if _gc_runs == 0:
                gc.set_threshold(*_gc_saved)


def _previous_bundle(project, options) -> tuple[object, tuple[Diagnostic, ...]]:
    from .bundle import Bundle, bundle_of, open_ref, read_head

    wanted = options.get("previous_bundle")
    if wanted is None or isinstance(wanted, Bundle):
        return wanted, ()
    out_dir = Path(options["out_dir"]).resolve() if options.get("out_dir") else project.out_dir
    try:
        if wanted == "head":
            head = read_head(out_dir)
            return (bundle_of(head) if head else None), ()
        return open_ref(str(wanted), out_dir), ()
    except PolcError as exc:
        if wanted != "head":
            return None, exc.diagnostics  # named by the user: its problem is theirs to see
        problem = exc.diagnostics[0].message if exc.diagnostics else exc.message
        return None, (Diagnostic.warning(
            "POLC322", f"the previous build in `{out_dir}` could not be read ({problem}); surface_version was "
                       "not compared", hint="run `polc verify` to see what is damaged, or name another build "
                                            "with --previous"),)


def _plan(until: str | None) -> tuple[Stage, ...]:
    plan = stages()
    if until is None:
        return plan
    names = [s.name for s in plan]
    if until not in names:
        from .diagnostics import did_you_mean

        raise UsageError(f"unknown stage `{until}`", [Diagnostic.error(
            "POLC022", f"there is no pipeline stage `{until}`",
            hint=did_you_mean(until, names) or f"stages: {', '.join(names)}")])
    return plan[: names.index(until) + 1]


def _run(stage: Stage, compilation: Compilation) -> StageOutput:
    try:
        output = stage.run(compilation.view(stage.reads))
    except PolcError as exc:  # a stage that cannot go on reports why, as diagnostics
        return StageOutput({}, exc.diagnostics)
    undeclared = set(output.units) - set(stage.writes)
    if undeclared:
        raise UndeclaredUnit(f"stage {stage.name} wrote {sorted(undeclared)} without declaring them")
    return output


def last_check_stage() -> str:
    return [s.name for s in stages() if s.name.startswith("check_")][-1]


def check(path=None, **options) -> list[Diagnostic]:
    """Every diagnostic of the project; nothing written. Pass ``previous_bundle`` (a verified
    ``compiler.bundle.Bundle``) to compare the learning surface's version with a previous build."""
    return list(run_pipeline(path, until=last_check_stage(), **options).diagnostics)


def compile_snapshot(path=None, **options) -> BuildResult:
    """Compile the project to its PolicySnapshot without emitting anything (``polc diff``)."""
    return run_pipeline(path, until=SNAPSHOT_STAGE, **options)


def build(path=None, *, out_dir=None, **options) -> BuildResult:
    """Compile and emit: the bundle, the head pointer and the records of the out dir.

    The build replaces the out dir's active bundle, so that is the previous build its surface
    version is compared with unless ``previous_bundle`` says otherwise.
    """
    if out_dir is not None:
        options["out_dir"] = out_dir
    options.setdefault("previous_bundle", "head")
    return run_pipeline(path, **options)

"""The drift review end to end: resolve OLD and NEW, diff, evaluate drift rules, apply [drift].

>>> import pathlib, tempfile
>>> from compiler.canonical import canonical_json
>>> from compiler.passes.snapshot import assemble
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> for name, mode in (("a.json", "none"), ("b.json", "full_io")):
...     _ = (d / name).write_bytes(canonical_json(assemble({"capture": {"mode": mode}}, [], "t")))
>>> report = review_args("a.json", "b.json", cwd=d, rules=[])
>>> [(c.dotted, c.old, c.new) for c in report.changes]
[('capture.mode', 'none', 'full_io')]
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..diagnostics import Diagnostic
from ..errors import InputError, UsageError
from . import approvals, drift, impact_review, inputs, rule_source
from .model import DiffReport, Finding, SideInfo
from .spans import SourceMap
from .structural import diff_snapshots


def resolve_pair(old_arg: str | None, new_arg: str | None, against: str | None, cwd: Path
                 ) -> tuple[inputs.Side, inputs.Side]:
    """OLD and NEW from the command line: ``OLD NEW``, ``OLD`` (vs the working tree), ``--against REV [NEW]``."""
    if against is not None:
        if new_arg is not None:
            raise UsageError("--against takes the place of OLD", [Diagnostic.error(
                "POLC446", "give --against REV with at most one argument (NEW)",
                hint="`polc diff --against main` compares main with the working tree; "
                     "`polc diff main HEAD` compares two revisions")])
        old_arg, new_arg = against, old_arg
    if old_arg is None:
        raise UsageError("nothing to compare", [Diagnostic.error(
            "POLC446", "polc diff needs OLD (and optionally NEW)",
            hint="examples: `polc diff main HEAD`, `polc diff HEAD~1`, `polc diff --against main`, "
                 "`polc diff old/snapshot.json new/snapshot.json`")])
    old = inputs.resolve_side(old_arg, cwd)
    new = inputs.resolve_side(new_arg, cwd) if new_arg is not None else inputs.working_tree(cwd)
    return old, new


def review_args(old_arg: str | None, new_arg: str | None = None, *, against: str | None = None,
                cwd: Path | None = None, rules: Sequence[drift.DriftRule] | None = None,
                today: _dt.date | None = None, replay: Sequence[str] = ()) -> DiffReport:
    cwd = Path(cwd or Path.cwd())
    old, new = resolve_pair(old_arg, new_arg, against, cwd)
    return review(old, new, cwd=cwd, rules=rules, today=today, replay=replay)


def review_snapshots(old: dict, new: dict, *, settings: Mapping[str, Any] | None = None,
                     today: _dt.date | None = None, labels: tuple[str, str] = ("old", "new"),
                     kind: str = "snapshot") -> DiffReport:
    """Review two snapshot dicts with an explicit ``[drift]`` section (for tools: the ledger, CI bots,
    the registry's console, which names each side by ``labels`` and ``kind`` ``bundle``).

    The snapshots are not re-verified here (the caller loaded them); no source locations.
    """
    return review(_snapshot_side(labels[0], old, kind), _snapshot_side(labels[1], new, kind), cwd=Path.cwd(),
                  today=today, settings=settings or {})


def _snapshot_side(label: str, snapshot: dict, kind: str = "snapshot") -> inputs.Side:
    return inputs.Side(SideInfo(label, kind, snapshot.get("hash"), snapshot.get("policy_id")), snapshot)


def review(old: inputs.Side, new: inputs.Side, *, cwd: Path, rules: Sequence[drift.DriftRule] | None = None,
           today: _dt.date | None = None, settings: Mapping[str, Any] | None = None,
           replay: Sequence[str] = ()) -> DiffReport:
    """The report for two resolved sides; ``rules=None`` loads the ones NEW carries.

    ``settings`` is the ``[drift]`` section to apply (default: NEW's policy.toml, else the
    current directory's). ``replay``: run logs whose decisions are re-evaluated under NEW
    (compiler/diff/impact_review.py).
    """
    if not old.compiled:
        raise InputError(f"OLD ({old.info.label}) does not compile", [Diagnostic.error(
            "POLC430", f"OLD ({old.info.label}) does not compile, so there is nothing to compare against",
            hint="compare against a revision or snapshot that builds; its errors follow")] + list(old.diagnostics))
    notes: list[Diagnostic] = []
    old_snap = _migrated(old, "OLD", notes)
    config, locate_config = (settings, lambda path: None) if settings is not None else _drift_settings(new, cwd)
    if not new.compiled:
        finding = drift.compile_failed(new.info.label, new.diagnostics)
        if replay:
            notes.append(Diagnostic.info("POLC458", "the recorded decisions were not replayed: NEW does not compile"))
        return DiffReport(old.info, new.info, (), (finding,), tuple(notes), config)
    new_snap = _migrated(new, "NEW", notes)
    impact, impact_notes = impact_review.assess(old_snap, new_snap, replay, cwd)
    notes.extend(impact_notes)
    smap = SourceMap.build(new.sources, new.roles, new.prefix, new.toml_index)
    changes = tuple(replace(c, span=smap.locate(c.path)) for c in diff_snapshots(old_snap, new_snap))
    if rules is None:
        rules, rule_notes = rule_source.load(old_snap, new_snap, new.sources, config)
        notes.extend(rule_notes)
    known = [r.rule_id for r in rules]
    disabled = approvals.disabled_rules(config)
    found = drift.evaluate_drift(old_snap, new_snap, [r for r in rules if r.rule_id not in disabled],
                                 impact.drift_inputs())
    subjects = SubjectIndex(changes)
    found = [_located(f, smap, subjects) for f in found]
    findings, config_notes = approvals.apply_config(found, config, today=today or _utc_today(),
                                                    span_of=locate_config, known_rules=known)
    notes.extend(config_notes)
    return DiffReport(old.info, new.info, changes, tuple(_ordered(findings)), tuple(notes), config, impact)


def _located(finding: Finding, smap: SourceMap, subjects: "SubjectIndex") -> Finding:
    """Point a finding at its path, else at the first change among the paths its rule reads."""
    if finding.span is not None:
        return finding
    if finding.path:
        return replace(finding, span=smap.locate(tuple(finding.path)))
    change = subjects.find(finding.reads)
    if change is None:
        return finding
    return replace(finding, subject=change.path, span=change.span)


class SubjectIndex:
    """Changes by every prefix of their path, so a rule's read paths find a change in O(depth)."""

    def __init__(self, changes):
        self.under: dict[tuple, Any] = {}   # prefix -> first change at or below it
        for change in changes:
            for i in range(1, len(change.path) + 1):
                self.under.setdefault(tuple(change.path[:i]), change)

    def find(self, reads) -> Any:
        """The change for the most specific read path: at/below it, or a changed parent of it."""
        for path in sorted(reads, key=len, reverse=True):
            if path in self.under:
                return self.under[path]
            for i in range(len(path) - 1, 0, -1):
                change = self.under.get(path[:i])
                if change is not None and tuple(change.path) == path[:i]:
                    return change
        return None


def _ordered(findings: list[Finding]) -> list[Finding]:
    """BLOCK first, then WARN, then INFO; accepted ones after the rest of their severity."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.accepted))


def _migrated(side: inputs.Side, which: str, notes: list[Diagnostic]) -> dict:
    try:
        from ..runtime.migrations import migrate
    except ImportError:  # the runtime's migrations are not installed: compare as written
        return side.snapshot
    snapshot, chain = migrate(side.snapshot)
    if chain:
        notes.append(Diagnostic.info("POLC447", f"{which} ({side.info.label}) has snapshot schema {chain[0]}; "
                                     f"migrated to {snapshot['schema_version']} before comparing"))
    return snapshot


def _drift_settings(new: inputs.Side, cwd: Path) -> tuple[Mapping[str, Any], Any]:
    """[drift] of NEW's policy.toml (it travels with the change), else of the current project."""
    text, config, prefix = new.project_text, new.config, new.prefix
    if text is None:
        text, config, prefix = _current_project(cwd)
    if text is None:
        return {}, lambda path: None
    from ..frontend.tomlspans import index_toml
    from .spans import rebase_span

    index = index_toml("policy.toml", text)
    return approvals.drift_config(config), lambda path: rebase_span(index.value(path), prefix)


def _current_project(cwd: Path) -> tuple[str | None, Mapping[str, Any], str]:
    from ..errors import PolcError
    from ..project import load_project

    try:
        project = load_project(cwd)
    except PolcError:
        return None, {}, ""
    return project.document.source.text, project.config, inputs.display_prefix(project.root, cwd)


def _utc_today() -> _dt.date:
    return _dt.datetime.now(_dt.timezone.utc).date()

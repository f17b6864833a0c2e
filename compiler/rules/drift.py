"""Drift rules over two snapshots: load them (stdlib + project), evaluate them into findings.

>>> import copy
>>> from compiler.rules.drift import evaluate_drift, load_drift_rules
>>> rules, problems = load_drift_rules({}, {})
>>> old = {"capture": {"mode": "prompts_only", "store_embeddings": False}, "gates": {},
...        "model_config": {}, "weights": {}, "prompts": {},
...        "routing": {"cloud": {}, "reflex": {"enabled": False, "endpoint": None}}, "budgets": {"tokens": {}, "cost": None}}
>>> new = copy.deepcopy(old); new["capture"]["mode"] = "full_io"
>>> [(f.rule_id, f.severity.value, f.message) for f in evaluate_drift(old, new, rules)]
[('DR_CAPTURE_WIDENED', 'BLOCK', 'capture mode widened from prompts_only to full_io')]

For ``polc diff`` (compiler.diff): :func:`load_drift_rules` takes the NEW side's sources
(``{project-relative name: text}``; every ``*.rules`` among them is loaded) and the project
config (``[drift.ratios]``, ``[rules].stdlib``); each rule has ``rule_id``, ``severity``
(a str enum with ``rank``), ``span``, ``title`` and ``check(old, new)``, which returns the
hits (objects with ``message``, ``path``, ``old``, ``new``) or raises when the rule cannot be
evaluated. :func:`evaluate_drift` never raises: a rule that fails is a finding with ``error``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..diagnostics import Diagnostic, Span
from .runtime import Expr, RulesRuntimeError, _Compiled, _error_text, block_span, rules_block
from .binding import bind
from .severity import Severity
from .types import drift_inputs, snapshot_type


@dataclass(frozen=True)
class DriftHit:
    message: str
    path: tuple | None = None
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class DriftFinding:
    rule_id: str
    severity: Severity
    message: str
    span: Span
    error: str | None = None      # the rule could not be evaluated (the finding then says so)

    def to_json(self) -> dict:
        return {"rule_id": self.rule_id, "severity": self.severity.value, "message": self.message,
                "span": self.span.to_json(), "error": self.error}


_bound = threading.local()
#: ``impact`` when the caller has none: rules test ``impact.budget != null`` first.
NO_IMPACT = {"budget": None, "replay": None}


def _bind_pair(old: Mapping, new: Mapping) -> tuple[dict, dict]:
    """Both snapshots checked against the snapshot type (numbers as doubles); memoized per pair."""
    cached = getattr(_bound, "pair", None)
    if cached is not None and cached[0] is old and cached[1] is new:
        return cached[2], cached[3]
    snapshot = snapshot_type()
    pair = (bind(old, snapshot, "old"), bind(new, snapshot, "new"))
    _bound.pair = (old, new, *pair)
    return pair


class CompiledDrift(_Compiled):
    """One drift rule, built from its snapshot entry and the configured ratios."""

    def __init__(self, rule_id: str, entry: Mapping, ratios: Mapping[str, float] | None = None):
        from .celbridge import DRIFT_RUNTIME_BUDGET

        super().__init__(rule_id, entry["file"], list(entry.get("lets", [])), drift_inputs())
        self.budget = DRIFT_RUNTIME_BUDGET
        self.rule_id = rule_id
        self.severity = Severity(entry["severity"])
        self.span = block_span(self.file, entry["span"])
        self.title = rule_id
        self.ratios = dict(ratios or {})
        when = entry["when"]
        self.when = Expr(when["expr"], block_span(self.file, when["span"]), f"{rule_id}#when")
        self.message = entry.get("message")

    def rewrite(self, node):
        from .rewrite import lower_ratios
        return lower_ratios(node, self.ratios)

    def check(self, old: Mapping, new: Mapping, impact: Mapping | None = None) -> list[DriftHit]:
        """The hits of this rule (zero or one); raises when it cannot be evaluated.

        ``impact`` is what the caller knows beyond the two snapshots (compiler/diff/review.py
        passes the budget figures and the replay summary); None binds both as null."""
        from ..cel import CelError
        from .binding import BindError

        try:
            bindings = dict(zip(("old", "new"), _bind_pair(old, new)))
            bindings["impact"] = bind(impact or NO_IMPACT, self.env["impact"], "impact")
            value = self.program(self.when).evaluate(bindings)
        except BindError as err:
            raise RulesRuntimeError(f"snapshot {err.path} {err.detail}", [Diagnostic.error(
                "POLC230", f"drift rule `{self.rule_id}`: snapshot {err.path} {err.detail}", self.span)]) from None
        except CelError as err:
            detail = _error_text(err, self.when)
            raise RulesRuntimeError(f"`{self.when.text}`: {detail}", [Diagnostic.error(
                err.code, f"drift rule `{self.rule_id}`: {detail}", err.span or self.when.span)]) from None
        if value is False:
            return []
        if value is not True:
            raise RulesRuntimeError(f"`when` gave {value!r}, not a bool")
        return [DriftHit(self.render(self.message, bindings, f"{self.rule_id}: `{self.when.text}` holds"))]

    def evaluate(self, old: Mapping, new: Mapping, impact: Mapping | None = None) -> list[DriftFinding]:
        """Findings of this rule; a failure to evaluate is itself a finding (never a pass)."""
        try:
            return [DriftFinding(self.rule_id, self.severity, hit.message, self.span)
                    for hit in self.check(old, new, impact)]
        except RulesRuntimeError as err:
            severity = self.severity if self.severity.rank >= Severity.WARN.rank else Severity.WARN
            return [DriftFinding(self.rule_id, severity, f"drift rule `{self.rule_id}` could not be evaluated: "
                                 f"{err.message}", self.span, error=err.message)]


def drift_rules_from_block(block: Mapping, ratios: Mapping[str, float] | None = None) -> list[CompiledDrift]:
    """Every drift rule of a snapshot's ``rules`` block (or of a snapshot), in id order."""
    if "drift" not in block and "rules" in block:
        block = rules_block(block)
    return [CompiledDrift(rule_id, entry, ratios) for rule_id, entry in sorted(block.get("drift", {}).items())]


def load_drift_rules(sources: Mapping[str, str] | None = None, config: Mapping[str, Any] | None = None
                     ) -> tuple[list[CompiledDrift], list[Diagnostic]]:
    """The stdlib's drift rules plus those of the ``*.rules`` files among ``sources``.

    ``config`` is the project config (policy.toml as a dict): ``[drift.ratios]`` sets the
    factors ``ratio()`` reads, ``[rules].stdlib = false`` leaves the stdlib out. Rules that
    do not parse or check come back as diagnostics, and the others still load.
    """
    from .check import check_rules
    from .loader import load_rules_from_texts
    from .lower import lower_rules_block

    config = config or {}
    options = config.get("rules") if isinstance(config.get("rules"), Mapping) else {}
    drift = config.get("drift") if isinstance(config.get("drift"), Mapping) else {}
    rules = load_rules_from_texts(dict(sources or {}), stdlib=options.get("stdlib", True) is not False)
    checked = check_rules(rules, {}, include_gates=False)
    block = lower_rules_block(checked)
    ratios = drift.get("ratios") if isinstance(drift.get("ratios"), Mapping) else {}
    compiled = [r for r in drift_rules_from_block(block, ratios) if not _has_error(r, checked.diagnostics)]
    return compiled, list(rules.diagnostics) + list(checked.diagnostics)


def _has_error(rule: CompiledDrift, diagnostics: Sequence[Diagnostic]) -> bool:
    """Whether a diagnostic falls inside the rule's declaration (then it is not run)."""
    for d in diagnostics:
        if d.is_error and d.span is not None and d.span.file == rule.file and \
                (rule.span.line, rule.span.column) <= (d.span.line, d.span.column) <= \
                (rule.span.end_line, rule.span.end_column):
            return True
    return False


def evaluate_drift(old: Mapping, new: Mapping, rules: Sequence[CompiledDrift] | None = None, *,
                   ratios: Mapping[str, float] | None = None, impact: Mapping | None = None) -> list[DriftFinding]:
    """Every finding of ``rules`` (default: the stdlib's) over two snapshot dicts, in rule order."""
    if rules is None:
        rules, _ = load_drift_rules({}, {"drift": {"ratios": dict(ratios or {})}})
    findings: list[DriftFinding] = []
    for rule in rules:
        findings.extend(rule.evaluate(old, new, impact))
    return findings

"""The pipeline stages of the rules language: ``parse_rules`` → ``check_rules`` → ``lower_rules``.

``parse_rules`` reads ``[sources].rules`` (paths or globs) and, unless ``[rules].stdlib = false``,
every ``stdlib/*.rules``; ``check_rules`` types them against model_policy.toml's gate tables
and the snapshot schema, and bounds their cost by ``[rules].cost_limit``; ``lower_rules``
contributes the snapshot's ``rules`` block (see :mod:`compiler.rules.lower`).

Example: a project with ``rules = ["rules/*.rules"]`` whose gate reads ``params.p99`` while
``[gates.g]`` only has ``p95`` gets ``POLC211 `params` has no field `p99``` at that selection.
"""

from __future__ import annotations

from ..compilation import Compilation, StageOutput, stage
from .check import DEFAULT_COST_LIMIT


def _options(c: Compilation) -> dict:
    return c.project.section("rules")


@stage(writes=("rules_set", "sources"))
def parse_rules(c: Compilation) -> StageOutput:
    from .loader import load_rules

    project = c.project
    patterns = project.section("sources").get("rules", [])
    patterns = [p for p in patterns if isinstance(p, str)] if isinstance(patterns, list) else []
    spans = [project.span("sources", "rules", i) for i in range(len(patterns))]
    rules = load_rules(project.root, patterns, spans, stdlib=_options(c).get("stdlib", True) is not False)
    if any(d.is_error for d in rules.diagnostics):  # a rule set with a broken file would be checked half
        return StageOutput({"sources": rules.sources}, rules.diagnostics)
    return StageOutput({"rules_set": rules, "sources": rules.sources}, rules.diagnostics)


@stage(reads=("rules_set", "model_policy_valid"), writes=("rules_checked",))
def check_rules(c: Compilation) -> StageOutput:
    from .check import check_rules as check

    document = c.get("model_policy_valid")
    tables = document.data.get("gates", {}) if document is not None else {}

    def table_span(name: str):
        return document.index.key(("gates", name)) if document is not None else None

    def param_span(name: str, key: str):
        return document.index.value(("gates", name, key)) if document is not None else None

    checked = check(c["rules_set"], tables, cost_limit=_options(c).get("cost_limit", DEFAULT_COST_LIMIT),
                    gate_table_span=table_span, param_span=param_span)
    return StageOutput({"rules_checked": checked}, checked.diagnostics)


@stage(reads=("rules_checked",), writes=("snapshot_blocks",))
def lower_rules(c: Compilation) -> StageOutput:
    from .lower import lower_rules_block

    block = lower_rules_block(c["rules_checked"])
    return StageOutput({"snapshot_blocks": {"rules": block}})

"""Front end and checks of ``model_policy.toml`` (docs/reference/model-policy.md: routing, capture, budgets, gates).

Stages: ``parse_model_policy`` (tomlkit, positions) → ``check_schema`` (JSON Schema in
schemas/model_policy.schema.json) → ``check_values`` and ``check_semantics`` (the rules a
schema cannot say).

One run reports every independent problem: ``check_schema`` also hands on the values that
passed it (``model_policy_values``: the document with the refused subtrees cut away), and
``check_values`` checks each of those values on its own (budgets positive, model lists, the
reflex URL, gate tables), so ``plan = "8000"`` does not hide ``hard_limit = -3``. The checks
that relate values to each other (``check_semantics``: references between roles, stages and
gates) need a document the schema fully accepted (``model_policy_typed``), so they never
report a consequence of an error already reported.

Example: ``budgets.cost`` with ``warn_threshold = 30.0`` and ``hard_limit = 25.0`` gives
``POLC121 budgets.cost.warn_threshold (30.0) is above hard_limit (25.0)`` at the warn line.
"""

from __future__ import annotations

from typing import Iterator
from urllib.parse import urlsplit

from ..diagnostics import Diagnostic, closest, did_you_mean
from dataclasses import replace

from ..compilation import Compilation, StageOutput, stage
from ..frontend.schema_check import invalid_paths, validate
from ..frontend.toml import TomlDocument, check_numbers, parse_toml
from ..sources import read_source

_SCHEMA_CODES = {"type": "POLC101", "unknown": "POLC102", "required": "POLC103", "enum": "POLC104",
                 "other": "POLC100"}


@stage(writes=("model_policy", "sources"))
def parse_model_policy(c: Compilation) -> StageOutput:
    project = c.project
    name = project.source_path("model_policy")
    source = read_source(project.root, name, project.span("sources", "model_policy"))
    return StageOutput({"model_policy": parse_toml(source), "sources": (source,)})


@stage(reads=("model_policy",), writes=("model_policy_typed", "model_policy_values"))
def check_schema(c: Compilation) -> StageOutput:
    doc: TomlDocument = c["model_policy"]

    def locate(path: tuple, key: bool):
        return doc.index.key(path) if key else doc.index.value(path)

    diagnostics = tuple(check_numbers(doc)) + tuple(validate(doc.data, "model_policy.schema.json", locate,
                                                             _SCHEMA_CODES))
    if not diagnostics:
        return StageOutput({"model_policy_typed": doc, "model_policy_values": doc})
    values = _without(doc.data, invalid_paths(doc.data, "model_policy.schema.json"))
    return StageOutput({} if values is None else {"model_policy_values": replace(doc, data=values)}, diagnostics)


@stage(reads=("model_policy_values",))
def check_values(c: Compilation) -> StageOutput:
    doc: TomlDocument = c["model_policy_values"]
    found: list[Diagnostic] = []
    for check in (_check_model_lists, _check_reflex, _check_unused_roles, _check_budgets, _check_gates):
        found.extend(check(doc))
    return StageOutput({}, tuple(found))


@stage(reads=("model_policy_typed",), writes=("model_policy_valid",))
def check_semantics(c: Compilation) -> StageOutput:
    doc: TomlDocument = c["model_policy_typed"]
    found = tuple(_check_references(doc))
    return StageOutput({} if found else {"model_policy_valid": doc}, found)


def _without(data: dict, cuts: list[tuple]) -> dict | None:
    """``data`` without the subtrees at ``cuts`` (None when a cut is the whole document)."""
    import copy

    if any(not cut for cut in cuts):
        return None
    out = copy.deepcopy(data)
    for cut in sorted(set(cuts), key=len, reverse=True):
        parent = out
        for part in cut[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
            if parent is None:
                break
        if isinstance(parent, dict):
            parent.pop(cut[-1], None)
    return out


# -- the checks ---------------------------------------------------------------------------------

def _routing(doc: TomlDocument) -> dict:
    return doc.data.get("routing", {})


def _check_model_lists(doc: TomlDocument) -> Iterator[Diagnostic]:
    routing = _routing(doc)
    for table in ("cloud", "fallback"):
        for role, models in routing.get(table, {}).items():
            path = ("routing", table, role)
            if not models:
                yield Diagnostic.error("POLC110", f"role `{role}` in routing.{table} has no models",
                                       doc.index.value(path),
                                       hint="list at least one model, or remove the role")
            seen: dict[str, int] = {}
            for i, model in enumerate(models):
                if model in seen:
                    yield Diagnostic.error(
                        "POLC111", f"model `{model}` is listed twice for role `{role}` (positions {seen[model] + 1} "
                        f"and {i + 1})", doc.index.value(path + (i,)),
                        hint="a candidate list is an order of preference; list each model once")
                seen.setdefault(model, i)


def _check_reflex(doc: TomlDocument) -> Iterator[Diagnostic]:
    reflex = _routing(doc).get("reflex")
    if reflex is None:
        return
    endpoint = reflex.get("endpoint")
    if endpoint is not None and not _valid_url(endpoint):
        yield Diagnostic.error("POLC130", f"routing.reflex.endpoint `{endpoint}` is not a valid http(s) URL",
                               doc.index.value(("routing", "reflex", "endpoint")),
                               hint="write a full URL with scheme and host, for example `http://127.0.0.1:3009/v1`")
    if reflex.get("enabled"):
        for key in ("endpoint", "model"):
            if key not in reflex:
                yield Diagnostic.error("POLC103", f"routing.reflex is enabled but has no `{key}`",
                                       doc.index.key(("routing", "reflex", "enabled")),
                                       hint=f"add `{key} = ...` to [routing.reflex], or set enabled = false")


def _valid_url(text: str) -> bool:
    if any(ch.isspace() for ch in text):
        return False
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_references(doc: TomlDocument) -> Iterator[Diagnostic]:
    routing = _routing(doc)
    roles = set(routing.get("cloud", {}))

    def undefined(kind: str, name: str, known: set[str], path: tuple, key: bool) -> Diagnostic:
        span = doc.index.key(path) if key else doc.index.value(path)
        return Diagnostic.error("POLC140", f"undefined {kind} `{name}`", span,
                                hint=did_you_mean(name, known) or f"declare the {kind} first")

    for role in routing.get("fallback", {}):
        if role not in roles:
            yield undefined("role", role, roles, ("routing", "fallback", role), True)
    for i, role in enumerate(routing.get("reflex", {}).get("roles", [])):
        if role not in roles:
            yield undefined("role", role, roles, ("routing", "reflex", "roles", i), False)
    stages = routing.get("stages")
    for stage, role in (stages or {}).items():
        if role not in roles:
            yield undefined("role", role, roles, ("routing", "stages", stage), False)
    gate = routing.get("reflex", {}).get("gate")
    gates = set(doc.data.get("gates", {}))
    if gate is not None and gate not in gates:
        yield undefined("gate", gate, gates, ("routing", "reflex", "gate"), False)
    if stages is not None:
        for stage in doc.data.get("budgets", {}).get("tokens", {}):
            if stage not in stages:
                yield undefined("stage", stage, set(stages), ("budgets", "tokens", stage), True)


def _check_unused_roles(doc: TomlDocument) -> Iterator[Diagnostic]:
    """A role nothing in the policy uses is likely a misspelling (`juge` for `judge`).

    A role is used when a ``[routing.stages]`` value, ``[routing.reflex] roles``, a
    ``[routing.fallback]`` or ``[weights]`` table or a ``[prompts]`` signature names it. Routers
    may also ask for a role by name, so an unused role is a warning, and only where it is
    suspicious: when the policy maps its stages to roles (``[routing.stages]``), or when the
    role's name is a near miss of a prompt signature that is not a role (`juge` beside
    `[prompts.judge]`). Other near misses already are errors where the unknown name is used
    (POLC140, POLC520), with their own did-you-mean.
    """
    routing = _routing(doc)
    roles = routing.get("cloud", {})
    if not isinstance(roles, dict) or not roles:
        return
    stages = routing.get("stages") if isinstance(routing.get("stages"), dict) else None
    reflex = routing.get("reflex") if isinstance(routing.get("reflex"), dict) else {}
    prompts = doc.data.get("prompts") if isinstance(doc.data.get("prompts"), dict) else {}
    used = {r for r in (stages or {}).values() if isinstance(r, str)} | set(prompts)
    used |= {r for r in reflex.get("roles", []) if isinstance(r, str)} if isinstance(reflex.get("roles"), list) else set()
    for table in (routing.get("fallback"), doc.data.get("weights")):
        used |= set(table) if isinstance(table, dict) else set()
    for role in roles:
        if role in used:
            continue
        near = closest(role, (name for name in prompts if name not in roles))
        if stages is None and near is None:
            continue
        where = "no stage in [routing.stages], reflex role, fallback, weights table or prompt names it"
        hint = (f"did you mean `{near}`? [prompts.{near}] exists but no role has that name" if near else
                "map a stage to it in [routing.stages], or remove it; a router can still ask for it by name")
        yield Diagnostic.warning("POLC105", f"role `{role}` is never used: {where}",
                                 doc.index.key(("routing", "cloud", role)), hint=hint)


def _check_budgets(doc: TomlDocument) -> Iterator[Diagnostic]:
    budgets = doc.data.get("budgets", {})
    for stage, tokens in budgets.get("tokens", {}).items():
        if isinstance(tokens, int) and tokens <= 0:
            yield Diagnostic.error("POLC120", f"token budget of stage `{stage}` is {tokens}; it must be positive",
                                   doc.index.value(("budgets", "tokens", stage)),
                                   hint="give the stage a positive number of tokens, or remove it")
    cost = budgets.get("cost", {})
    for key in ("warn_threshold", "hard_limit"):
        value = cost.get(key)
        if _is_number(value) and value <= 0:
            yield Diagnostic.error("POLC120", f"budgets.cost.{key} is {value}; it must be positive",
                                   doc.index.value(("budgets", "cost", key)), hint="use an amount above 0")
    warn, hard = cost.get("warn_threshold"), cost.get("hard_limit")
    if _is_number(warn) and _is_number(hard) and warn > hard:
        yield Diagnostic.error("POLC121", f"budgets.cost.warn_threshold ({warn}) is above hard_limit ({hard})",
                               doc.index.value(("budgets", "cost", "warn_threshold")),
                               hint="the warning must come before the hard stop: lower warn_threshold or "
                                    "raise hard_limit")


def _check_gates(doc: TomlDocument) -> Iterator[Diagnostic]:
    for name, params in doc.data.get("gates", {}).items():
        if isinstance(params, dict) and not params:
            yield Diagnostic.error("POLC160", f"gate `{name}` has no parameters", doc.index.key(("gates", name)),
                                   hint="give the gate its thresholds, for example `p95_latency_ms = 2000`")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

"""Semantic checks of loaded rules: names resolve, types check, costs stay under the limit.

Input: a :class:`~compiler.rules.loader.RuleSet` and the gate parameter tables of
model_policy.toml. Output: :class:`Checked`, the gates and drift rules that go into the
snapshot (with the constants each one uses), plus diagnostics.

Which gates are compiled: every gate of a project file (its ``params`` is the table
``[gates.NAME]``; reading ``params`` without that table is POLC264), and every stdlib gate
whose table exists (the stdlib offers gates; the policy switches them on by giving
parameters). A project gate with the name of an implicitly loaded stdlib gate replaces it;
any other duplicate name is an error (POLC260/POLC261).

>>> from compiler.paths import STDLIB_DIR
>>> from compiler.rules.loader import load_rules
>>> checked = check_rules(load_rules(STDLIB_DIR.parent, []), {"reflex_promotion": {"p95_latency_ms": 2000,
...                       "success_parity_percent": 85}})
>>> [g.gate.name for g in checked.gates], checked.diagnostics
(['reflex_promotion'], ())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..diagnostics import Diagnostic, Span, did_you_mean
from . import ast
from .loader import STDLIB_PREFIX, RuleSet
from .rewrite import substitute, uses
from .typecheck import RULES_FUNCTIONS, check_condition, infer
from .types import T, TypeSyntaxError, drift_inputs, from_ref, params_type

#: Default static cost limit of one expression. The CEL engine assumes 100 elements for a list
#: of unknown size, so a drift rule comparing every role's models (roles x models x models)
#: estimates at about 10^6; 10^7 leaves room for that and still refuses runaway nesting.
DEFAULT_COST_LIMIT = 10_000_000
RESERVED_NAMES = ("params", "old", "new", "impact")


@dataclass(frozen=True)
class CheckedGate:
    gate: ast.Gate
    file: str
    consts: tuple[ast.Const, ...]      # the file's constants the gate can see, in order
    has_params: bool                   # a [gates.NAME] table exists


@dataclass(frozen=True)
class CheckedDrift:
    drift: ast.Drift
    file: str
    consts: tuple[ast.Const, ...]


@dataclass(frozen=True)
class Checked:
    gates: tuple[CheckedGate, ...]
    drifts: tuple[CheckedDrift, ...]
    diagnostics: tuple[Diagnostic, ...]


@dataclass
class _Context:
    rules: RuleSet
    gate_tables: dict[str, Any]
    cost_limit: int
    found: list[Diagnostic] = field(default_factory=list)
    cel_check: Callable | None = None


def check_rules(rules: RuleSet, gate_tables: dict[str, Any] | None, *, cost_limit: int = DEFAULT_COST_LIMIT,
                gate_table_span: Callable[[str], Span | None] = lambda name: None,
                include_gates: bool = True) -> Checked:
    ctx = _Context(rules, dict(gate_tables or {}), cost_limit, cel_check=_cel_checker(cost_limit))
    scopes = {f.path: _const_scope(ctx, f) for f in rules.files}
    gates = [g for g in _pick(ctx, [(g, f) for f in rules.files for g in f.gates], "gate", "POLC260")
             if include_gates]
    drifts = [d for d in _pick(ctx, [(d, f) for f in rules.files for d in f.drifts], "drift rule", "POLC261")]
    checked_gates = []
    for gate, file in gates:
        has_params = gate.name in ctx.gate_tables
        if not has_params and file.path.startswith(STDLIB_PREFIX):
            continue  # a stdlib gate the policy does not configure
        checked_gates.append(CheckedGate(gate, file.path, scopes[file.path], has_params))
        _check_gate(ctx, checked_gates[-1])
    checked_drifts = []
    for drift, file in drifts:
        checked_drifts.append(CheckedDrift(drift, file.path, scopes[file.path]))
        _check_drift(ctx, checked_drifts[-1])
    configured = {g.gate.name for g in checked_gates}
    for name in ctx.gate_tables if include_gates else ():
        if name not in configured:
            ctx.found.append(Diagnostic.warning(
                "POLC265", f"[gates.{name}] has parameters but no gate rules read them", gate_table_span(name),
                hint=f"declare `gate {name} {{ ... }}` in a .rules file named by [sources].rules, "
                     "or remove the table; snap.gate() cannot evaluate a gate without rules"))
    return Checked(tuple(checked_gates), tuple(checked_drifts), tuple(ctx.found))


def _pick(ctx: _Context, items: list, kind: str, code: str):
    """Declarations by name: project files replace implicit stdlib ones; other duplicates are errors."""
    chosen: dict[str, tuple] = {}
    for decl, file in items:
        name = decl.name if kind == "gate" else decl.rule_id
        if name not in chosen:
            chosen[name] = (decl, file)
            continue
        first, first_file = chosen[name]
        implicit = file.path.startswith(STDLIB_PREFIX) and file.path not in ctx.rules.explicit_stdlib
        if implicit and not first_file.path.startswith(STDLIB_PREFIX):
            continue  # the project's declaration replaces the stdlib one
        ctx.found.append(Diagnostic.error(
            code, f"{kind} `{name}` is declared twice", decl.span,
            notes=[f"first declared at {first.span}"], hint=f"rename one of them; {kind} names are global"))
    return chosen.values()


def _const_scope(ctx: _Context, file: ast.RulesFile) -> tuple[ast.Const, ...]:
    """The constants ``file`` sees: those of its direct imports, then its own (checked here)."""
    imported = []
    for imp in file.imports:
        target = ctx.rules.file(imp.path) or ctx.rules.file(_relative(file.path, imp.path))
        if target is not None:
            imported.extend(target.consts)
    env: dict[str, T] = {}
    seen: dict[str, ast.Const] = {}
    for const in (*imported, *file.consts):
        if const.name in seen and seen[const.name] is not const:
            if const in file.consts:
                ctx.found.append(Diagnostic.error("POLC262", f"constant `{const.name}` is declared twice",
                                                  const.span, notes=[f"first declared at {seen[const.name].span}"]))
            continue
        seen[const.name] = const
        if const in file.consts:
            t, found = infer(const.expr.node, env)
            ctx.found.extend(found)
            env[const.name] = t
    return tuple(seen.values())


def _relative(importer: str, path: str) -> str:
    from posixpath import join, normpath
    return normpath(join(importer.rsplit("/", 1)[0] if "/" in importer else "", path))


def _const_env(consts: tuple[ast.Const, ...]) -> tuple[dict[str, T], dict[str, object]]:
    env: dict[str, T] = {}
    nodes: dict[str, object] = {}
    for const in consts:
        node = substitute(const.expr.node, nodes)
        env[const.name], _ = infer(node, env)
        nodes[const.name] = node
    return env, nodes


def _check_gate(ctx: _Context, cg: CheckedGate) -> None:
    gate = cg.gate
    env, nodes = _const_env(cg.consts)
    table = ctx.gate_tables.get(gate.name)
    env["params"] = params_type(table if isinstance(table, dict) else {})
    names: dict[str, Span] = {}
    for stmt in gate.body:
        if isinstance(stmt, ast.Require):
            _check_expr(ctx, stmt.expr, env, nodes, condition=True)
            _check_message(ctx, stmt.message, env, nodes)
            if not cg.has_params and uses(stmt.expr.node, "params"):
                _no_params(ctx, gate, stmt.expr.span)
            continue
        if not _declare(ctx, stmt.name, stmt.span, names):
            continue
        if isinstance(stmt, ast.Input):
            try:
                env[stmt.name] = from_ref(stmt.type)
            except TypeSyntaxError as err:
                ctx.found.append(Diagnostic.error(
                    "POLC257", str(err), stmt.type.span,
                    hint="types: int, uint, double, bool, string, bytes, dyn, list(T), map(K, V)"))
                env[stmt.name] = T("dyn")
        else:
            env[stmt.name] = _check_expr(ctx, stmt.expr, env, nodes, condition=False)
            nodes[stmt.name] = substitute(stmt.expr.node, nodes)
            if not cg.has_params and uses(stmt.expr.node, "params"):
                _no_params(ctx, gate, stmt.expr.span)
    if not gate.requires:
        ctx.found.append(Diagnostic.error("POLC263", f"gate `{gate.name}` has no `require` condition", gate.name_span,
                                          hint="a gate passes when all its conditions hold; add one"))


def _no_params(ctx: _Context, gate: ast.Gate, span: Span) -> None:
    ctx.found.append(Diagnostic.error(
        "POLC264", f"gate `{gate.name}` reads `params`, but model_policy.toml has no [gates.{gate.name}]", span,
        hint=did_you_mean(gate.name, ctx.gate_tables) or f"add [gates.{gate.name}] with the parameters it reads"))


def _declare(ctx: _Context, name: str, span: Span, names: dict[str, Span]) -> bool:
    if name in RESERVED_NAMES:
        ctx.found.append(Diagnostic.error("POLC262", f"`{name}` is predefined and cannot be redeclared", span,
                                          hint="choose another name"))
        return False
    if name in names:
        ctx.found.append(Diagnostic.error("POLC262", f"`{name}` is declared twice in this block", span,
                                          notes=[f"first declared at {names[name]}"]))
        return False
    names[name] = span
    return True


def _check_drift(ctx: _Context, cd: CheckedDrift) -> None:
    drift = cd.drift
    if drift.severity not in ast.SEVERITIES:
        ctx.found.append(Diagnostic.error(
            "POLC258", f"unknown severity `{drift.severity}`", drift.severity_span,
            hint=did_you_mean(drift.severity.upper(), ast.SEVERITIES)))
    env, nodes = _const_env(cd.consts)
    env.update(drift_inputs())
    names: dict[str, Span] = {}
    for let in drift.lets:
        if _declare(ctx, let.name, let.span, names):
            env[let.name] = _check_expr(ctx, let.expr, env, nodes, condition=False)
            nodes[let.name] = substitute(let.expr.node, nodes)
    _check_expr(ctx, drift.when, env, nodes, condition=True)
    _check_message(ctx, drift.message, env, nodes)


def _check_expr(ctx: _Context, expr: ast.Expression, env: dict[str, T], nodes: dict, *, condition: bool) -> T:
    extra = RULES_FUNCTIONS if "new" in env else None   # ratio() reads [drift.ratios]: drift rules only
    if condition:
        found = check_condition(expr.node, env, extra_functions=extra)
        t = T("bool")
    else:
        t, found = infer(expr.node, env, extra_functions=extra)
    ctx.found.extend(found)
    if not found and ctx.cel_check is not None:
        ctx.found.extend(ctx.cel_check(substitute(expr.node, nodes), env))
    return t


def _check_message(ctx: _Context, message: ast.Message | None, env: dict[str, T], nodes: dict) -> None:
    for part in message.interpolations if message else ():
        _check_expr(ctx, part.expr, env, nodes, condition=False)


def _cel_checker(cost_limit: int) -> Callable | None:
    """The CEL engine's own checks (cost above all) on the lowered expression, when available."""
    from .celbridge import static_check

    return lambda node, env: static_check(node, env, cost_limit)

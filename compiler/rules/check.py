"""Semantic checks of loaded rules: names resolve, types check, costs stay under the limit.

Input: a :class:`~compiler.rules.loader.RuleSet` and the gate parameter tables of
model_policy.toml. Output: :class:`Checked`, the gates and drift rules that go into the
snapshot, each with what the checker proved about it (``facts``: the type of every node and
its lets, the file constants it can see first), plus diagnostics.

The rules language only supplies the environment; the checking is the CEL engine's one
checker (:mod:`compiler.cel.checker`). A gate's environment is ``params`` (typed from its
``[gates.NAME]`` table), then its statements in order: an ``input`` declares a variable, a
``let`` a named expression the statements below it may use. A drift rule's is ``old`` and
``new`` (typed from the snapshot schema), its lets, and the function ``ratio("name", default)``.
The file's constants come first, as lets. A let is checked once, and its cost is counted once
per expression that reaches it: it is evaluated once and shared, never copied into its users.

A parameter of the wrong type (``p95_latency_ms = "fast"`` where the gate compares it with a
number) is the policy's mistake, not the rule's: it is reported at the TOML value (POLC267), with
the rule that uses it as a note (``param_span`` gives the value's position).

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

from ..cel import ast as cel_ast
from ..cel.checker import Checker
from ..cel.cost import estimate
from ..cel.types import BOOL, DOUBLE, DYN, CheckResult, Type
from ..diagnostics import Diagnostic, Span, did_you_mean
from . import ast
from .loader import STDLIB_PREFIX, RuleSet
from .rewrite import uses
from .types import TypeSyntaxError, drift_inputs, from_ref, params_type

#: Default static cost limit of one expression. The CEL engine assumes 100 elements for a list
#: of unknown size, so a drift rule comparing every role's models (roles x models x models)
#: estimates at about 10^6; 10^7 leaves room for that and still refuses runaway nesting.
DEFAULT_COST_LIMIT = 10_000_000
RESERVED_NAMES = ("params", "old", "new", "impact")
#: Functions drift rules may call beyond CEL's: ``ratio("name", default)`` is the number
#: ``[drift.ratios].name`` of policy.toml, or the default (compiler.rules.rewrite.lower_ratios).
DRIFT_FUNCTIONS = {"ratio": ((frozenset({"string"}), frozenset({"int", "uint", "double"})), DOUBLE)}
_UNKNOWN_HINT = "declare it with `input` or `let`"
#: Type errors that a parameter of the wrong type causes where the gate uses it.
_PARAMETER_CODES = frozenset({"POLC212", "POLC213", "POLC214", "POLC217"})
_WRITE_AS = {"double": "a number (no quotes)", "int": "a number (no quotes)", "uint": "a number (no quotes)",
             "string": "a quoted string", "bool": "true or false", "list": "an array", "map": "a table",
             "object": "a table"}


@dataclass(frozen=True)
class CheckedGate:
    gate: ast.Gate
    file: str
    consts: tuple[ast.Const, ...]      # the file's constants the gate can see, in order
    has_params: bool                   # a [gates.NAME] table exists
    facts: CheckResult | None = None   # types of its nodes; its lets (constants first), in order


@dataclass(frozen=True)
class CheckedDrift:
    drift: ast.Drift
    file: str
    consts: tuple[ast.Const, ...]
    facts: CheckResult | None = None


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
    param_span: Callable[[str, str], Span | None] = lambda table, key: None
    found: list[Diagnostic] = field(default_factory=list)


def check_rules(rules: RuleSet, gate_tables: dict[str, Any] | None, *, cost_limit: int = DEFAULT_COST_LIMIT,
                gate_table_span: Callable[[str], Span | None] = lambda name: None,
                param_span: Callable[[str, str], Span | None] = lambda table, key: None,
                include_gates: bool = True) -> Checked:
    ctx = _Context(rules, dict(gate_tables or {}), cost_limit, param_span)
    scopes = {f.path: _const_scope(ctx, f) for f in rules.files}
    gates = [g for g in _pick(ctx, [(g, f) for f in rules.files for g in f.gates], "gate", "POLC260")
             if include_gates]
    drifts = [d for d in _pick(ctx, [(d, f) for f in rules.files for d in f.drifts], "drift rule", "POLC261")]
    checked_gates = []
    for gate, file in gates:
        has_params = gate.name in ctx.gate_tables
        if not has_params and file.path.startswith(STDLIB_PREFIX):
            continue  # a stdlib gate the policy does not configure
        facts = _check_gate(ctx, gate, scopes[file.path], has_params)
        checked_gates.append(CheckedGate(gate, file.path, scopes[file.path], has_params, facts))
    checked_drifts = []
    for drift, file in drifts:
        facts = _check_drift(ctx, drift, scopes[file.path])
        checked_drifts.append(CheckedDrift(drift, file.path, scopes[file.path], facts))
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
    checker = Checker({}, unknown_hint=_UNKNOWN_HINT, fold_constants=True)
    seen: dict[str, ast.Const] = {}
    for const in (*imported, *file.consts):
        if const.name in seen and seen[const.name] is not const:
            if const in file.consts:
                ctx.found.append(Diagnostic.error("POLC262", f"constant `{const.name}` is declared twice",
                                                  const.span, notes=[f"first declared at {seen[const.name].span}"]))
            continue
        seen[const.name] = const
        before = len(checker.diagnostics)
        checker.define_let(const.name, const.expr.node)
        if const not in file.consts:
            del checker.diagnostics[before:]  # an imported constant is reported in its own file
    ctx.found.extend(checker.diagnostics)
    return tuple(seen.values())


def _relative(importer: str, path: str) -> str:
    from posixpath import join, normpath
    return normpath(join(importer.rsplit("/", 1)[0] if "/" in importer else "", path))


def _checker(consts: tuple[ast.Const, ...], declarations: dict[str, Type], functions=None) -> Checker:
    """A checker with the declarations and the file's constants (as lets, already reported)."""
    checker = Checker(declarations, functions=functions, unknown_hint=_UNKNOWN_HINT, fold_constants=True)
    for const in consts:
        checker.define_let(const.name, const.expr.node)
    checker.diagnostics.clear()
    return checker


def _check_gate(ctx: _Context, gate: ast.Gate, consts, has_params: bool) -> CheckResult:
    table = ctx.gate_tables.get(gate.name)
    checker = _checker(consts, {"params": params_type(table if isinstance(table, dict) else {})})
    memo: dict = {}  # the cost estimator's facts about the lets, shared by the gate's expressions
    names: dict[str, Span] = {}
    start = len(ctx.found)
    for stmt in gate.body:
        if isinstance(stmt, ast.Require):
            _check_expr(ctx, checker, stmt.expr, memo, condition=True)
            _check_message(ctx, checker, stmt.message, memo)
            if not has_params and uses(stmt.expr.node, "params"):
                _no_params(ctx, gate, stmt.expr.span)
            continue
        if not _declare(ctx, stmt.name, stmt.span, names):
            continue
        if isinstance(stmt, ast.Input):
            try:
                declared = from_ref(stmt.type)
            except TypeSyntaxError as err:
                ctx.found.append(Diagnostic.error(
                    "POLC257", str(err), stmt.type.span,
                    hint="types: int, uint, double, bool, string, bytes, dyn, list(T), map(K, V)"))
                declared = DYN
            checker.declare(stmt.name, declared)
        else:
            _check_expr(ctx, checker, stmt.expr, memo, condition=False, let=stmt.name)
            if not has_params and uses(stmt.expr.node, "params"):
                _no_params(ctx, gate, stmt.expr.span)
    if isinstance(table, dict):
        _blame_parameters(ctx, gate, table, checker.result, start)
    if not gate.requires:
        ctx.found.append(Diagnostic.error("POLC263", f"gate `{gate.name}` has no `require` condition", gate.name_span,
                                          hint="a gate passes when all its conditions hold; add one"))
    return checker.result


def _blame_parameters(ctx: _Context, gate: ast.Gate, table: dict, facts: CheckResult, start: int) -> None:
    """Type errors a parameter's value causes, moved to that value in model_policy.toml (one per parameter)."""
    found = ctx.found[start:]
    if not any(d.code in _PARAMETER_CODES for d in found):
        return
    nodes: dict[Span, cel_ast.Expr] = {}
    for root in _gate_roots(gate):
        for node in cel_ast.walk(root):
            nodes.setdefault(node.span, node)
    kept, blamed = [], {}
    for diagnostic in found:
        node = nodes.get(diagnostic.span) if diagnostic.code in _PARAMETER_CODES else None
        key, other = _parameter_at(node, facts, table) if node is not None else (None, None)
        if key is None:
            kept.append(diagnostic)
        else:
            blamed.setdefault(key, []).append((diagnostic, other))
    for key, uses in blamed.items():
        kept.append(_parameter_diagnostic(ctx, gate, key, table[key], uses))
    ctx.found[start:] = kept


def _gate_roots(gate: ast.Gate):
    for stmt in gate.body:
        if isinstance(stmt, (ast.Require, ast.Let)):
            yield stmt.expr.node
        message = getattr(stmt, "message", None)
        for part in message.interpolations if message else ():
            yield part.expr.node


def _parameter_at(node, facts: CheckResult, table: dict) -> tuple[str | None, Type | None]:
    """The parameter (``params.KEY``) a type error at ``node`` is about, and the type the rule wants.

    Only when the rule says what it wants: the parameter meets, in a comparison or arithmetic, a
    typed value that comes from the gate's inputs or lets. Against a literal, or used where an
    operator needs another kind (``params.x.exists(...)``), the mistake may as well be the rule's,
    and it is reported there.
    """
    def is_parameter(n) -> bool:
        return isinstance(n, cel_ast.Select) and isinstance(n.operand, cel_ast.Ident) and \
            n.operand.name == "params" and id(n.operand) not in facts.let_refs and n.field in table

    if not isinstance(node, cel_ast.Binary) or is_parameter(node.left) == is_parameter(node.right):
        return None, None
    parameter, other = (node.left, node.right) if is_parameter(node.left) else (node.right, node.left)
    wanted = facts.types.get(id(other))
    if isinstance(other, cel_ast.Literal) or any(is_parameter(n) for n in cel_ast.walk(other)) \
            or wanted is None or wanted.is_dyn:
        return None, None
    return parameter.field, wanted


def _parameter_diagnostic(ctx: _Context, gate: ast.Gate, key: str, value: Any, uses: list) -> Diagnostic:
    table = gate.name
    wanted = next((other for _, other in uses if other is not None), None)
    hint = f"write `{key}` as {_WRITE_AS[wanted.kind]}" if wanted is not None and wanted.kind in _WRITE_AS \
        else "give it a value of the type the rule needs (see the note)"
    return Diagnostic.error(
        "POLC267", f"[gates.{table}] `{key}` is {_toml_kind(value)}, which gate `{gate.name}` cannot use",
        ctx.param_span(table, key) or uses[0][0].span, hint=hint,
        notes=[f"used at {d.span}: {d.message}" for d, _ in uses])


def _toml_kind(value: Any) -> str:
    """``a string ("fast")``: a TOML value in TOML's words."""
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'a string ("{shown}")'
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


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


def _check_drift(ctx: _Context, drift: ast.Drift, consts) -> CheckResult:
    if drift.severity not in ast.SEVERITIES:
        ctx.found.append(Diagnostic.error(
            "POLC258", f"unknown severity `{drift.severity}`", drift.severity_span,
            hint=did_you_mean(drift.severity.upper(), ast.SEVERITIES)))
    checker = _checker(consts, drift_inputs(), DRIFT_FUNCTIONS)
    memo: dict = {}
    names: dict[str, Span] = {}
    for let in drift.lets:
        if _declare(ctx, let.name, let.span, names):
            _check_expr(ctx, checker, let.expr, memo, condition=False, let=let.name)
    _check_expr(ctx, checker, drift.when, memo, condition=True)
    _check_message(ctx, checker, drift.message, memo)
    return checker.result


def _check_expr(ctx: _Context, checker: Checker, expr: ast.Expression, memo: dict, *, condition: bool,
                let: str | None = None) -> None:
    """Type and cost of one expression (a ``let`` is then defined for what follows); ``memo`` is the
    cost estimator's, shared by the expressions of one checker (each let is estimated once)."""
    before = len(checker.diagnostics)
    try:
        if let is not None:
            checker.define_let(let, expr.node)
        else:
            checker.check(expr.node, expect=BOOL if condition else None, what="a condition")
        _check_ratios(checker, expr.node)
        cost = estimate(expr.node, types=checker.result, memo=memo) if len(checker.diagnostics) == before else 0
    except Exception as exc:  # a bug in the checker must not end `polc check` in a traceback
        checker.diagnostics.append(Diagnostic.error(
            "POLC270", f"the CEL checker failed on this expression: {type(exc).__name__}: {exc}", expr.span,
            hint="this is a bug in polc; please report it with the expression"))
        cost = 0
    if len(checker.diagnostics) == before:
        if cost > ctx.cost_limit:
            checker.diagnostics.append(Diagnostic.error(
                "POLC220", f"estimated cost {cost:,} exceeds the limit {ctx.cost_limit:,}", expr.node.span,
                hint="iterate over less data, or raise [rules].cost_limit in policy.toml"))
    ctx.found.extend(checker.diagnostics[before:])  # in statement order, among the other checks
    del checker.diagnostics[before:]


def _check_ratios(checker: Checker, node) -> None:
    """``ratio()`` takes literals: it is replaced by a number before evaluation."""
    if "ratio" not in checker.functions:
        return
    for call in cel_ast.walk(node):
        if not (isinstance(call, cel_ast.Call) and call.target is None and call.function == "ratio"
                and len(call.args) == 2):
            continue
        key, default = call.args
        if not (isinstance(key, cel_ast.Literal) and type(key.value) is str):
            checker.diagnostics.append(Diagnostic.error(
                "POLC215", "the first argument of `ratio` must be a quoted name", key.span,
                hint='write it as ratio("name", 2.0)'))
        if not (isinstance(default, cel_ast.Literal) and type(default.value) in (int, float)):
            checker.diagnostics.append(Diagnostic.error(
                "POLC215", "the second argument of `ratio` must be a number (the default)", default.span,
                hint='write it as ratio("name", 2.0)'))


def _check_message(ctx: _Context, checker: Checker, message: ast.Message | None, memo: dict) -> None:
    for part in message.interpolations if message else ():
        _check_expr(ctx, checker, part.expr, memo, condition=False)

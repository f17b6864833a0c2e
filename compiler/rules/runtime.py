"""Evaluable gates built from a snapshot's ``rules`` block (no ``.rules`` files, no front end).

>>> import json
>>> from compiler.rules.runtime import build_gate
>>> block = json.loads(EXAMPLE_BLOCK)
>>> gate = build_gate(block, "g", {"p95": 2000})
>>> gate.evaluate({"p95": 1800}).passed
True
>>> result = gate.evaluate({"p95": 2300})
>>> result.passed, result.failures[0].message, result.failures[0].observed
(False, 'p95 2300 > 2000', {'metrics.p95': 2300.0, 'params.p95': 2000.0})
>>> print(gate.evaluate({"p95": "fast"}).failures[0].message)
input metrics.p95 is a string ("fast"), expected a number

Every expression arrives checked, as expression IR (``node``, :mod:`compiler.cel.ir`): a
gate decodes its lets, conditions and message parts, and generates Python from them with
the CEL engine's code generator (:mod:`compiler.cel.codegen`) the first time it needs it.
Nothing is parsed or checked here, so a router never loads lark or the checker. A block of
the older format ``polc_rules@v1`` (source text only, written before the IR) is compiled
from its text once, on first use, by :mod:`compiler.rules.legacy`: only then is the front end
imported (docs/rules-language.md, "Snapshots written before the IR").

Gate results fail closed: a missing or mistyped input, or a condition that cannot be
evaluated, is a failure naming the input or sub-expression, never a pass. A gate with one
input also has a generated PASS test (:mod:`compiler.cel.codegen_gate`), built on first use:
when it proves a pass, ``evaluate`` returns the cached PASS result; otherwise the full path
below computes the result (failures, messages, observed values) as it always does. After
its first evaluation a gate is thread-safe.
"""

from __future__ import annotations

import threading
from typing import Any, Mapping

from ..cel.types import CheckResult
from ..diagnostics import Diagnostic, Span, did_you_mean
from .binding import BindError, bind
from .entries import (LEGACY_FORMAT, RULES_FORMAT, Entry, Expr, Message, RulesRuntimeError,  # noqa: F401
                      UnknownRule, block_span, current_entry)
from .types import params_type, parse_type

#: Runtime budget of one gate evaluation (comprehension iterations): no gate can hang a router.
RUNTIME_BUDGET = 1_000_000
#: Drift rules run in CI over whole snapshots (tens of thousands of roles), so they get more.
DRIFT_RUNTIME_BUDGET = 50_000_000

EXAMPLE_BLOCK = """{"format": "polc_rules@v2", "ir": {"version": "polc-cel-ir@1",
  "types": ["bool", "double", "map(string, double)", "{p95: double}"]},
 "gates": {"g": {"file": "g.rules", "span": [1, 1, 4, 2], "params": "g",
  "inputs": [{"name": "metrics", "type": "map(string, double)", "span": [2, 3, 2, 30]}], "lets": [],
  "conditions": [{"expr": "metrics.p95 <= params.p95", "span": [3, 11, 3, 36],
   "node": ["bin", 3, 11, 3, 36, 0, "<=", "sel", 3, 11, 3, 22, 1, "p95", "id", 3, 11, 3, 18, 2, "metrics",
            "sel", 3, 26, 3, 36, 1, "p95", "id", 3, 26, 3, 32, 3, "params"],
   "message": {"template": "p95 {metrics.p95} > {params.p95}", "span": [3, 45, 3, 79],
    "parts": ["p95 ", ["sel", 3, 51, 3, 62, 1, "p95", "id", 3, 51, 3, 58, 2, "metrics"],
              " > ", ["sel", 3, 66, 3, 76, 1, "p95", "id", 3, 66, 3, 72, 3, "params"]]}}]}}}"""


class _Record:
    """An immutable record compared by value (plain classes: a router imports this module on its
    first gate evaluation, and making dataclasses costs more there than the evaluation itself)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._fields)})"


class Failure(_Record):
    """One failing condition: where it is, its rendered message and the values it saw.

    ``error`` is set when the condition could not be evaluated (the gate fails closed).
    """

    __slots__ = ("condition", "span", "message", "observed", "error")
    _fields = __slots__

    def __init__(self, condition: str, span: Span, message: str, observed: dict | None = None,
                 error: str | None = None):
        put = object.__setattr__
        put(self, "condition", condition)
        put(self, "span", span)
        put(self, "message", message)
        put(self, "observed", {} if observed is None else observed)
        put(self, "error", error)

    def to_json(self) -> dict:
        return {"condition": self.condition, "span": self.span.to_json(), "message": self.message,
                "observed": self.observed, "error": self.error}


class GateResult(_Record):
    """A gate's verdict: ``passed``, and each failing condition (true as a bool when it passed)."""

    __slots__ = ("gate", "passed", "failures", "conditions")
    _fields = __slots__

    def __init__(self, gate: str, passed: bool, failures: tuple[Failure, ...], conditions: int):
        put = object.__setattr__
        put(self, "gate", gate)
        put(self, "passed", passed)
        put(self, "failures", failures)
        put(self, "conditions", conditions)

    def __bool__(self) -> bool:
        return self.passed

    def to_json(self) -> dict:
        return {"gate": self.gate, "passed": self.passed, "conditions": self.conditions,
                "failures": [f.to_json() for f in self.failures]}


class Declaration:
    """What gates and drift rules share: programs built lazily and once, messages, observed values."""

    budget: int = RUNTIME_BUDGET  # runtime budget per evaluation

    def __init__(self, name: str, file: str, facts: CheckResult):
        self.name, self.file, self.facts = name, file, facts
        self.lets = [(let_name, node) for let_name, node in facts.lets]
        self._observers: dict = {}     # sub-expressions whose values a failure reports

    def program(self, expr: Expr):
        if expr.program is None:
            from ..cel.program import from_checked
            # Inputs arrive bound (compiler.rules.binding), their integers already range-checked.
            expr.program = from_checked(expr.node, self.facts, file=self.file, name=expr.name,
                                        budget=self.budget, check_ranges=False)
        return expr.program

    def observe(self, expr: Expr, bindings: dict) -> dict:
        """The values of the paths (``metrics.p95``, ``limit``) a condition reads."""
        from ..cel.errors import CelError

        roots = set(self.facts.declarations) | {name for name, _ in self.facts.lets}
        seen: dict = {}
        for node in _paths(expr.node, roots):
            text = expr.sub_text(node.span)
            if text in seen:
                continue
            key = (expr.name, text, node.span)
            sub = self._observers.get(key)
            if sub is None:
                sub = self._observers.setdefault(key, Expr(text, node.span, f"{expr.name}.observe", node))
            try:
                seen[text] = self.program(sub).evaluate(bindings)
            except CelError:
                seen[text] = None
        return seen

    def render(self, message: Message | None, bindings: dict, fallback: str) -> str:
        if message is None:
            return fallback
        from .messages import render_message

        try:
            parts = message.parts()
        except RulesRuntimeError as err:  # the condition failed all the same: say so, and why
            return f"{fallback} (its message cannot be read: {err.message})"
        return render_message(parts, bindings, self.program)


class CompiledGate(Declaration):
    """A gate ready to evaluate: ``gate.evaluate(metrics)`` → :class:`GateResult`."""

    def __init__(self, name: str, entry: Mapping, params: Mapping | None, decoder):
        self.inputs = [(i["name"], parse_type(i["type"]), block_span(entry["file"], i["span"]))
                       for i in entry.get("inputs", [])]
        self.params_table = dict(params or {})
        declarations = {n: t for n, t, _ in self.inputs}
        declarations["params"] = params_type(self.params_table)
        decoded = Entry(entry, decoder, name, entry["file"], declarations)
        super().__init__(name, entry["file"], decoded.facts)
        self.span = block_span(self.file, entry["span"])
        self.conditions = [(decoded.expression(c, f"{name}#{i + 1}"), decoded.message(c.get("message"), f"{name}#{i + 1}"))
                           for i, c in enumerate(entry.get("conditions", []))]
        self.params = bind(self.params_table, declarations["params"], "params")
        self._input_names = {n for n, _, _ in self.inputs}
        self._programs: list | None = None
        self._lock = threading.Lock()
        # The PASS test (compiler.cel.codegen_gate), generated on first use; both immutable.
        self._fast = self._first_fast
        self._fast_built = False
        self._fast_source: str | None = None
        self._pass = GateResult(name, True, (), len(self.conditions))

    def evaluate(self, metrics: Mapping | None = None, /, **inputs: Any) -> GateResult:
        """Evaluate with the first declared input given positionally (usually ``metrics``)."""
        fast = self._fast
        if fast is not None and fast(metrics if not inputs else self._keyword_input(metrics, inputs)) is True:
            return self._pass
        from ..cel.errors import CelError  # the full path only: a pass needs none of it

        if metrics is not None and self.inputs:
            inputs = {self.inputs[0][0]: metrics, **inputs}
        bindings, failures = self._bind(inputs)
        if failures:
            return GateResult(self.name, False, tuple(failures), len(self.conditions))
        programs = self._programs or self._compile_all()
        for (expr, message), program in zip(self.conditions, programs):
            try:
                value = program.evaluate(bindings)
            except CelError as err:
                failures.append(self._error(expr, err, bindings))
                continue
            if value is not True:
                failures.append(self._failed(expr, message, value, bindings))
        return GateResult(self.name, not failures, tuple(failures), len(self.conditions))

    def _keyword_input(self, metrics: Any, inputs: dict) -> Any:
        """The one input given as ``name=value`` to a one-input gate (else None: slow path)."""
        if metrics is None and len(inputs) == 1 and len(self.inputs) == 1:
            return inputs.get(self.inputs[0][0])
        return None

    def _first_fast(self, metrics: Any) -> bool | None:
        with self._lock:
            if not self._fast_built:
                self._fast, self._fast_built = self._build_fast(), True
        fast = self._fast
        return None if fast is None else fast(metrics)

    def _build_fast(self):
        """The PASS test, or None when the gate has none (several inputs) or it cannot be built.

        It never raises: a gate whose conditions cannot be compiled keeps the full path, which
        reports that error exactly as it would without the test.
        """
        if len(self.inputs) != 1 or self.inputs[0][0] == "params":
            return None
        from ..cel.codegen_gate import pass_test
        from .binding import _fast as bind_fast

        try:
            passes, self._fast_source = pass_test(
                [expr.node for expr, _ in self.conditions], self.facts, input_name=self.inputs[0][0],
                params=self.params, bind=bind_fast, file=self.file, name=self.name, budget=self.budget)
        except Exception:  # noqa: BLE001 - no PASS test; the full path explains the problem
            return None
        return passes

    def _compile_all(self) -> list:
        programs = [self.program(expr) for expr, _ in self.conditions]
        self._programs = programs
        return programs

    def _bind(self, inputs: Mapping) -> tuple[dict, list[Failure]]:
        bindings: dict = {"params": self.params}
        failures: list = []
        for name, t, span in self.inputs:
            if name not in inputs:
                failures.append(Failure(f"input {name}", span, f"input `{name}` was not given ({t})",
                                        error="missing input"))
                continue
            try:
                bindings[name] = bind(inputs[name], t, name, strict=True)
            except BindError as err:
                failures.append(Failure(f"input {name}", span, f"input {err.path} {err.detail}", {err.path: None}, error=str(err)))
        unknown = sorted(set(inputs) - self._input_names) if len(inputs) > len(self.inputs) or \
            not self._input_names.issuperset(inputs) else []
        if unknown:
            failures.append(Failure("inputs", self.span, f"gate `{self.name}` has no input `{unknown[0]}`",
                                    error=did_you_mean(unknown[0], [n for n, _, _ in self.inputs])))
        return bindings, failures

    def _error(self, expr: Expr, err, bindings: dict) -> Failure:
        detail = _error_text(err, expr)
        return Failure(expr.text, expr.span, f"cannot evaluate `{expr.text}`: {detail}",
                       self.observe(expr, bindings), error=detail)

    def _failed(self, expr: Expr, message: Message | None, value: Any, bindings: dict) -> Failure:
        if value is not False:
            return Failure(expr.text, expr.span, f"`{expr.text}` gave {value!r}, not a bool", error="not a bool")
        return Failure(expr.text, expr.span, self.render(message, bindings, f"`{expr.text}` is false"),
                       self.observe(expr, bindings))

    def generated_source(self) -> str:
        """The Python generated for this gate: its PASS test (when it has one), then each condition."""
        self._first_fast(None)
        parts = []
        if self._fast_source is not None:
            parts.append(f"# PASS test of gate {self.name}  (<polc:{self.file}#{self.name}>)\n{self._fast_source}")
        parts += [f"# condition {i + 1}: {expr.text}  ({expr.span})\n{self.program(expr).source}"
                  for i, (expr, _) in enumerate(self.conditions)]
        return "\n\n".join(parts)


def _error_text(err, expr: Expr) -> str:
    where = ""
    span = getattr(err, "span", None)
    inside = span is not None and span.file == expr.span.file and \
        (expr.span.line, expr.span.column) <= (span.line, span.column) and \
        (span.end_line, span.end_column) <= (expr.span.end_line, expr.span.end_column)
    if inside and span != expr.span:
        where = f" in `{expr.sub_text(span)}`"
    elif span is not None and not inside:
        where = f" at {span}"  # inside a `let` the condition uses
    return f"{err.message}{where}"


def _paths(node, roots: set[str]):
    """Maximal selections rooted at a known name (``metrics.p95``, ``limit``), in source order."""
    from ..cel import ast

    stack = [(node, False)]
    while stack:
        current, under_select = stack.pop()
        if isinstance(current, ast.Select) and not under_select and _root(current) in roots:
            yield current
            continue
        if isinstance(current, ast.Ident) and not under_select and current.name in roots:
            yield current
            continue
        if isinstance(current, ast.Comprehension):
            continue  # their variables are not bound outside the macro
        nested = isinstance(current, (ast.Select, ast.Has))
        stack.extend((child, nested) for child in reversed(list(ast.children(current))))


def _root(node) -> str | None:
    from ..cel import ast

    while isinstance(node, ast.Select):
        node = node.operand
    return node.name if isinstance(node, ast.Ident) else None


def rules_block(snapshot: Mapping) -> Mapping:
    block = snapshot.get("rules") if isinstance(snapshot, Mapping) else None
    return block if isinstance(block, Mapping) else {}


def build_gate(block: Mapping, name: str, params: Mapping | None = None) -> CompiledGate:
    """A :class:`CompiledGate` for gate ``name`` of a ``rules`` block, with its parameter table."""
    gates = block.get("gates", {}) if isinstance(block, Mapping) else {}
    if name not in gates:
        raise UnknownRule(f"no gate `{name}`", [Diagnostic.error(
            "POLC266", f"the snapshot has no gate `{name}`",
            hint=did_you_mean(name, gates) or "declare it in a .rules file and give it [gates.NAME] parameters")])
    entry, decoder = current_entry(block, "gates", name, params)
    return CompiledGate(name, entry, params, decoder)


def gate_from_snapshot(snapshot: Mapping, name: str) -> CompiledGate:
    """The gate ``name`` of a snapshot, its ``params`` bound to ``snapshot["gates"][...]``."""
    block = rules_block(snapshot)
    entry = block.get("gates", {}).get(name) if block else None
    table_name = entry.get("params") if isinstance(entry, Mapping) else None
    params = (snapshot.get("gates") or {}).get(table_name) if table_name else None
    return build_gate(block, name, params)

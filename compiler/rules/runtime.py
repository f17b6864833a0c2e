"""Evaluable gates built from a snapshot's ``rules`` block (no ``.rules`` files needed).

>>> from compiler.rules.runtime import build_gate
>>> block = {"gates": {"g": {"file": "g.rules", "span": [1, 1, 4, 2], "params": "g",
...     "inputs": [{"name": "metrics", "type": "map(string, double)", "span": [2, 3, 2, 30]}],
...     "lets": [], "conditions": [{"expr": "metrics.p95 <= params.p95", "span": [3, 11, 3, 36],
...     "message": {"template": "p95 {metrics.p95} > {params.p95}", "span": [3, 45, 3, 79]}}]}}}
>>> gate = build_gate(block, "g", {"p95": 2000})
>>> gate.evaluate({"p95": 1800}).passed
True
>>> result = gate.evaluate({"p95": 2300})
>>> result.passed, result.failures[0].message, result.failures[0].observed
(False, 'p95 2300 > 2000', {'metrics.p95': 2300.0, 'params.p95': 2000.0})
>>> print(gate.evaluate({"p95": "fast"}).failures[0].message)
input metrics.p95 is a string ('fast'), expected a number

Gate results fail closed: a missing or mistyped input, or a condition that cannot be
evaluated, is a failure naming the input or sub-expression, never a pass. Importing this
module is cheap (no lark, no jsonschema): expressions are parsed and compiled, through
``compiler.cel``, the first time a gate is evaluated; afterwards a gate is thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..cel.errors import CelError
from ..diagnostics import Diagnostic, Span, did_you_mean
from ..errors import PolcError
from .binding import BindError, bind
from .types import T, params_type, parse_type


class RulesRuntimeError(PolcError):
    """A gate or rule that does not exist or whose block is malformed."""


@dataclass(frozen=True)
class Failure:
    """One failing condition: where it is, its rendered message and the values it saw."""

    condition: str
    span: Span
    message: str
    observed: dict = field(default_factory=dict)
    error: str | None = None        # set when the condition could not be evaluated (fail closed)

    def to_json(self) -> dict:
        return {"condition": self.condition, "span": self.span.to_json(), "message": self.message,
                "observed": self.observed, "error": self.error}


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: str
    passed: bool
    failures: tuple[Failure, ...]
    conditions: int

    def __bool__(self) -> bool:
        return self.passed

    def to_json(self) -> dict:
        return {"gate": self.gate, "passed": self.passed, "conditions": self.conditions,
                "failures": [f.to_json() for f in self.failures]}


def block_span(file: str, span) -> Span:
    line, column, end_line, end_column = span
    return Span(file, line, column, end_line, end_column)


class Expr:
    """One stored expression (text + span), compiled on first use into a CEL Program."""

    def __init__(self, text: str, span: Span, name: str):
        self.text, self.span, self.name = text, span, name
        self.node = None
        self.program = None

    def parse(self):
        if self.node is None:
            from .parser import parse_expression
            self.node = parse_expression(self.text, file=self.span.file, line=self.span.line,
                                         column=self.span.column)
        return self.node

    def sub_text(self, span: Span) -> str:
        """The source text of a sub-expression of this one, by its span."""
        lines = self.text.split("\n")
        def offset(line: int, column: int) -> int:
            index = line - self.span.line
            base = sum(len(x) + 1 for x in lines[:index])
            return base + column - (self.span.column if index == 0 else 1)
        return self.text[offset(span.line, span.column):offset(span.end_line, span.end_column)]


class _Compiled:
    """What gates and drift rules share: lets inlined, programs built lazily and once."""

    budget: int | None = None  # runtime budget per evaluation; None: celbridge.RUNTIME_BUDGET

    def __init__(self, name: str, file: str, lets: list, env: dict[str, T]):
        self.name, self.file, self.env = name, file, env
        self.lets = [(entry["name"], Expr(entry["expr"], block_span(entry.get("file", file), entry["span"]),
                                          f"{name}.{entry['name']}")) for entry in lets]
        self._lock = threading.Lock()
        self._let_nodes: dict | None = None
        self._messages: dict = {}
        self._observers: dict = {}     # sub-expressions whose values a failure reports

    def lowered(self, expr: Expr):
        from .rewrite import substitute

        with self._lock:
            if self._let_nodes is None:
                nodes: dict = {}
                for let_name, let_expr in self.lets:
                    nodes[let_name] = self.rewrite(substitute(let_expr.parse(), nodes))
                self._let_nodes = nodes
        return self.rewrite(substitute(expr.parse(), self._let_nodes))

    def rewrite(self, node):
        return node

    def program(self, expr: Expr):
        if expr.program is None:
            from .celbridge import RUNTIME_BUDGET, compile_program
            expr.program = compile_program(self.lowered(expr), self.env, file=self.file, name=expr.name,
                                           budget=self.budget or RUNTIME_BUDGET)
        return expr.program

    def observe(self, expr: Expr, bindings: dict) -> dict:
        """The values of the paths (``metrics.p95``, ``limit``) a condition reads."""
        from ..cel import CelError

        seen: dict = {}
        for node in _paths(expr.parse(), set(self.env) | {n for n, _ in self.lets}):
            text = expr.sub_text(node.span)
            if text in seen:
                continue
            key = (expr.name, text, node.span)
            sub = self._observers.get(key)
            if sub is None:
                sub = self._observers.setdefault(key, Expr(text, node.span, f"{expr.name}.observe"))
            try:
                seen[text] = self.program(sub).evaluate(bindings)
            except CelError:
                seen[text] = None
        return seen

    def render(self, message: dict | None, bindings: dict, fallback: str) -> str:
        if message is None:
            return fallback
        from .messages import render_message

        return render_message(message, self.file, bindings, self.program, self._messages)


class CompiledGate(_Compiled):
    """A gate ready to evaluate: ``gate.evaluate(metrics)`` → :class:`GateResult`."""

    def __init__(self, name: str, entry: Mapping, params: Mapping | None):
        self.inputs = [(i["name"], parse_type(i["type"]), block_span(entry["file"], i["span"]))
                       for i in entry.get("inputs", [])]
        self.params_table = dict(params or {})
        env = {n: t for n, t, _ in self.inputs}
        env["params"] = params_type(self.params_table)
        super().__init__(name, entry["file"], list(entry.get("lets", [])), env)
        self.span = block_span(self.file, entry["span"])
        self.conditions = [(Expr(c["expr"], block_span(self.file, c["span"]), f"{name}#{i + 1}"), c.get("message"))
                           for i, c in enumerate(entry.get("conditions", []))]
        self.params = bind(self.params_table, env["params"], "params")
        self._input_names = {n for n, _, _ in self.inputs}
        self._programs: list | None = None
        # The PASS fast path (compiler.rules.fastgate), generated on first use; both immutable.
        self._fast = self._first_fast
        self._pass = GateResult(name, True, (), len(self.conditions))

    def evaluate(self, metrics: Mapping | None = None, /, **inputs: Any) -> GateResult:
        """Evaluate with the first declared input given positionally (usually ``metrics``)."""
        fast = self._fast
        if fast is not None and fast(metrics if not inputs else self._keyword_input(metrics, inputs)) is True:
            return self._pass
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
        from .fastgate import build_fast

        fast = self._fast = build_fast(self)
        return None if fast is None else fast(metrics)

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

    def _error(self, expr: Expr, err: CelError, bindings: dict) -> Failure:
        detail = _error_text(err, expr)
        return Failure(expr.text, expr.span, f"cannot evaluate `{expr.text}`: {detail}",
                       self.observe(expr, bindings), error=detail)

    def _failed(self, expr: Expr, message: dict | None, value: Any, bindings: dict) -> Failure:
        if value is not False:
            return Failure(expr.text, expr.span, f"`{expr.text}` gave {value!r}, not a bool", error="not a bool")
        return Failure(expr.text, expr.span, self.render(message, bindings, f"`{expr.text}` is false"),
                       self.observe(expr, bindings))

    def generated_source(self) -> str | None:
        """The Python the compiled backend generated for each condition (None: interpreter)."""
        sources = [getattr(self.program(expr), "source", None) for expr, _ in self.conditions]
        if not any(sources):
            return None
        return "\n\n".join(f"# condition {i + 1}: {expr.text}  ({expr.span})\n{src}"
                           for i, ((expr, _), src) in enumerate(zip(self.conditions, sources)))


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
        raise RulesRuntimeError(f"no gate `{name}`", [Diagnostic.error(
            "POLC266", f"the snapshot has no gate `{name}`",
            hint=did_you_mean(name, gates) or "declare it in a .rules file and give it [gates.NAME] parameters")])
    return CompiledGate(name, gates[name], params)


def gate_from_snapshot(snapshot: Mapping, name: str) -> CompiledGate:
    """The gate ``name`` of a snapshot, its ``params`` bound to ``snapshot["gates"][...]``."""
    block = rules_block(snapshot)
    entry = block.get("gates", {}).get(name) if block else None
    table_name = entry.get("params") if isinstance(entry, Mapping) else None
    params = (snapshot.get("gates") or {}).get(table_name) if table_name else None
    return build_gate(block, name, params)

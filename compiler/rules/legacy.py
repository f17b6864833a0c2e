"""Upgrading a rules block written before the expression IR (format ``polc_rules@v1``).

Such a block stores each expression as source text with its span. The runtime reads only
the current format (``polc_rules@v2``, expressions as IR), so the first time a gate or drift
rule of an old snapshot is used, its entry is compiled here, exactly as ``polc build`` would
compile it: each expression parsed at its stored position, checked against the same
environment (inputs and ``params`` for a gate, ``old``/``new``/``impact`` and ``ratio()`` for a
drift rule, its lets in order) and encoded. This is the only place a router imports the compiler
front end (lark included), and only for snapshots built by a polc older than the IR.

Only the one entry asked for is compiled (a router that uses one gate does not compile the
snapshot's drift rules). An entry whose text no longer parses or checks raises
:class:`compiler.rules.runtime.RulesRuntimeError` with the diagnostics, at the stored spans.

>>> block = {"format": "polc_rules@v1", "gates": {"g": {"file": "g.rules", "span": [1, 1, 3, 2],
...     "params": "g", "inputs": [{"name": "m", "type": "map(string, double)", "span": [2, 3, 2, 30]}],
...     "lets": [], "conditions": [{"expr": "m.p95 <= params.p95", "span": [3, 11, 3, 30], "message": None}]}}}
>>> upgraded = upgrade_entry(block, "gates", "g", {"p95": 2000})
>>> upgraded["format"], upgraded["gates"]["g"]["conditions"][0]["node"][0]
('polc_rules@v2', 'bin')
"""

from __future__ import annotations

from typing import Mapping

from ..cel.checker import Checker
from ..cel.errors import CelError
from ..cel.ir import VERSION, Encoder
from ..cel.types import BOOL
from ..diagnostics import Span
from ..errors import InputError
from .check import DRIFT_FUNCTIONS
from .entries import RulesRuntimeError
from .lower import FORMAT, referenced_paths
from .messages import parse_message
from .parser import parse_expression
from .types import TypeSyntaxError, drift_inputs, params_type, parse_type


def upgrade_entry(block: Mapping, kind: str, name: str, params: Mapping | None = None) -> dict:
    """A ``polc_rules@v2`` block with only ``block[kind][name]``, compiled from its source text."""
    entry = block[kind][name]
    try:
        upgraded = _Upgrade(entry, name).run(kind, params)
    except (CelError, InputError) as err:
        raise _failed(name, err.diagnostics) from None
    return upgraded


class _Upgrade:
    def __init__(self, entry: Mapping, name: str):
        self.entry, self.name, self.file = entry, name, entry["file"]
        self.encoder = Encoder()
        self._pending: list[tuple[object, object, object]] = []  # (container, key, tree): IR to fill in

    def run(self, kind: str, params: Mapping | None) -> dict:
        if kind == "gates":
            declarations = {"params": params_type(dict(params or {}))}
            for item in self.entry.get("inputs", ()):
                try:
                    declarations[item["name"]] = parse_type(item["type"])
                except TypeSyntaxError as err:
                    raise RulesRuntimeError(str(err), []) from None
            checker = Checker(declarations)
        else:
            checker = Checker(drift_inputs(), functions=DRIFT_FUNCTIONS)
        lets = [self._let(checker, let) for let in self.entry.get("lets", ())]
        out = {key: value for key, value in self.entry.items() if key not in ("lets", "conditions", "when", "message")}
        out["lets"] = lets
        if kind == "gates":
            out["conditions"] = [self._condition(checker, c) for c in self.entry.get("conditions", ())]
        else:
            out["when"] = self._expression(checker, self.entry["when"], self.file, condition=True)
            out["message"] = self._message(checker, self.entry.get("message"))
        if checker.diagnostics:
            raise _failed(self.name, checker.diagnostics)
        if kind != "gates":
            lets = [node for _, node in checker.result.lets]
            nodes = [node for _, _, node in self._pending if not any(node is let for let in lets)]
            out["reads"] = referenced_paths(nodes, lets, checker.result)
        for container, key, node in self._pending:
            container[key] = self.encoder.node(node, checker.result)
        return {"format": FORMAT, "ir": {"version": VERSION, "types": self.encoder.finish()}, kind: {self.name: out}}

    def _parse(self, text: str, file: str, span) -> object:
        return parse_expression(text, file=file, line=span[0], column=span[1])

    def _let(self, checker: Checker, let: Mapping) -> dict:
        file = let.get("file", self.file)
        node = self._parse(let["expr"], file, let["span"])
        checker.define_let(let["name"], node)
        return self._stored({**let}, node)

    def _expression(self, checker: Checker, stored: Mapping, file: str, *, condition: bool) -> dict:
        node = self._parse(stored["expr"], file, stored["span"])
        checker.check(node, expect=BOOL if condition else None, what="a condition")
        return self._stored({"expr": stored["expr"], "span": list(stored["span"])}, node)

    def _condition(self, checker: Checker, stored: Mapping) -> dict:
        out = self._expression(checker, stored, self.file, condition=True)
        out["message"] = self._message(checker, stored.get("message"))
        return out

    def _message(self, checker: Checker, stored: Mapping | None) -> dict | None:
        if stored is None:
            return None
        line, column = stored["span"][0], stored["span"][1]
        token = _TemplateToken('"' + stored["template"] + '"')
        token.line, token.column = line, column
        problems: list = []
        parsed = parse_message(token, self.file, problems, Span(self.file, line, column))
        if problems:
            raise _failed(self.name, problems)
        parts: list = []
        for part in parsed.parts:
            parts.append(part if isinstance(part, str) else None)
            if not isinstance(part, str):
                checker.check(part.expr.node)
                self._pending.append((parts, len(parts) - 1, part.expr.node))
        return {"template": stored["template"], "span": list(stored["span"]), "parts": parts}

    def _stored(self, out: dict, node) -> dict:
        """``out`` (a stored expression) gets its ``node`` once everything is checked."""
        self._pending.append((out, "node", node))
        return out


class _TemplateToken(str):
    """What :func:`compiler.rules.messages.parse_message` reads from a lark token."""

    line: int
    column: int


def _failed(name: str, diagnostics) -> RulesRuntimeError:
    diagnostics = list(diagnostics)
    first = diagnostics[0].message if diagnostics else "it does not compile"
    return RulesRuntimeError(f"`{name}` (stored as source text by an older polc) does not compile: {first}",
                             diagnostics)

"""Constant folding for diagnostics: the parts of an expression that can only fail (POLC218).

A sub-expression built from literals and constant lets alone (``1 / 0``,
``9223372036854775807 + 1``, ``timestamp('9999-99-99T00:00:00Z')``) has one value, known before
run time. When that value is an error, every evaluation that reaches it fails the same way, so
the checker reports it at the node that fails; a ``matches`` pattern that is a constant is
compiled by RE2 here too, and reported at the pattern when RE2 refuses it.

>>> from compiler.cel.checker import Checker
>>> from compiler.cel.parser import parse
>>> from compiler.cel.types import INT
>>> checker = Checker({"x": INT}, fold_constants=True)
>>> _ = checker.check(parse("x > 1 + 2 && x < 10 / (5 - 5)"))
>>> [(d.code, d.message, str(d.span)) for d in checker.diagnostics]
[('POLC218', 'this constant expression can only fail: division by zero', '<expr>:1:18')]

Folding follows CEL's semantics exactly (the interpreter's helpers compute every value), so
``true || 1 / 0`` is ``true`` and reports nothing. Only *maximal* constant sub-expressions are
reported (the largest constant part around a failure), each error once: a let that fails is
reported at the let, not again where it is used. Values are kept small: a constant whose
size passes :data:`MAX_WEIGHT` is treated as unknown, so a chain of lets that doubles a
string is folded in bounded time and memory. Plain ``compiler.cel.compile`` does not fold
(CEL makes these run-time errors, and the conformance suite expects them there); the rules
language does (``Checker(fold_constants=True)``).
"""

from __future__ import annotations

from . import ast, containers
from . import semantics as sem
from .functions import GLOBAL, MEMBER, call
from .semantics import CelErrorValue
from ..diagnostics import Diagnostic

#: Largest constant folded, in elements (a string counts one per 64 characters); larger is unknown.
MAX_WEIGHT = 1_000
CODE = "POLC218"

_UNKNOWN = object()  # the value is not known before run time
_BINARY = {"==": sem.eq, "!=": sem.ne, "<": sem.lt, "<=": sem.le, ">": sem.gt, ">=": sem.ge,
           "+": sem.add, "-": sem.sub, "*": sem.mul, "/": sem.div, "%": sem.mod,
           "in": containers.contains_in}


class Folder:
    """Folds the expressions of one checked environment; ``diagnostics`` collects what it finds."""

    def __init__(self, checked):
        self.checked = checked                       # the checker's result: let_refs, lets
        self.lets: dict[int, tuple] = {}             # let index -> (value, weight)
        self.reported: dict[int, CelErrorValue] = {}  # errors already reported (kept: ids stay theirs)
        self.diagnostics: list[Diagnostic] = []

    def fold(self, root: ast.Expr, *, let: int | None = None) -> None:
        """Report the constant failures of ``root``; with ``let``, remember its value for its users."""
        value, weight = self._value(root)
        self._report(value)
        if let is not None and value is not _UNKNOWN:
            if isinstance(value, CelErrorValue):  # reported here, at the let, never again at a use
                self.reported[id(value)] = value
            self.lets[let] = (value, weight)

    def _report(self, value, *, pattern: bool = False) -> None:
        if not isinstance(value, CelErrorValue) or id(value) in self.reported:
            return
        self.reported[id(value)] = value
        if pattern:
            self.diagnostics.append(Diagnostic.error(
                CODE, value.message, value.span,
                hint="`matches` takes RE2 syntax (https://github.com/google/re2/wiki/Syntax); RE2 has no "
                     "backreferences or lookaround, and repeats at most 1000 times"))
            return
        self.diagnostics.append(Diagnostic.error(
            CODE, f"this constant expression can only fail: {value.message}", value.span,
            hint="every evaluation fails here; fix the constant or compute it from the inputs"))

    def _value(self, node: ast.Expr) -> tuple:
        """(value, weight): the constant value (an error is a CelErrorValue) or _UNKNOWN."""
        kids = [self._value(child) for child in ast.children(node)]
        bad_pattern = isinstance(node, ast.Call) and node.function == "matches" and self._bad_pattern(node, kids)
        if bad_pattern or any(value is _UNKNOWN for value, _ in kids) or not self._foldable(node):
            for value, _ in kids:  # each constant child is a maximal constant part
                self._report(value)
            return _UNKNOWN, 0
        weight = 1 + sum(w for _, w in kids) + self._own_weight(node)
        if weight > MAX_WEIGHT:
            return _UNKNOWN, 0
        try:
            value = self._compute(node, [value for value, _ in kids])
        except CelErrorValue as err:
            err.span = err.span or node.span
            value = err
        except (RecursionError, ValueError, TypeError, OverflowError, MemoryError):
            return _UNKNOWN, 0  # not certainly a CEL error: run time decides and reports it
        return value, weight

    def _foldable(self, node: ast.Expr) -> bool:
        if isinstance(node, ast.Ident):
            return self.checked.let_refs.get(id(node)) in self.lets
        if isinstance(node, ast.Comprehension):
            return False  # its variable is not a constant
        if isinstance(node, ast.Call):
            table = GLOBAL if node.target is None else MEMBER
            return node.function in table and node.function != "dyn"
        return True

    def _compute(self, node: ast.Expr, kids: list):
        if isinstance(node, ast.Literal):
            return node.value
        if isinstance(node, ast.Ident):
            return self.lets[self.checked.let_refs[id(node)]][0]
        if isinstance(node, ast.Binary) and node.op in ("&&", "||"):
            return _logic(node.op, *kids)
        if isinstance(node, ast.Conditional):
            cond, then, otherwise = kids
            _raise(cond)
            return then if sem.truth(cond, "?:") else otherwise
        for kid in kids:
            _raise(kid)
        if isinstance(node, ast.Binary):
            return _BINARY[node.op](*kids)
        if isinstance(node, ast.Unary):
            return sem.not_(kids[0]) if node.op == "!" else sem.neg(kids[0])
        if isinstance(node, ast.Select):
            return containers.select(kids[0], node.field)
        if isinstance(node, ast.Has):
            return containers.has(kids[0], node.field)
        if isinstance(node, ast.Index):
            return containers.index(*kids)
        if isinstance(node, ast.CreateList):
            return list(kids)
        if isinstance(node, ast.CreateMap):
            return containers.make_map(list(zip(kids[::2], kids[1::2])))
        if node.target is not None:
            return call(node.function, kids[0], kids[1:])
        return call(node.function, None, kids)

    def _own_weight(self, node: ast.Expr) -> int:
        if isinstance(node, ast.Ident):
            return self.lets[self.checked.let_refs[id(node)]][1]
        if isinstance(node, ast.Literal) and type(node.value) in (str, bytes):
            return len(node.value) // 64
        return 0

    def _bad_pattern(self, node: ast.Call, kids: list) -> bool:
        """Whether the pattern of ``matches`` is a constant RE2 refuses (reported at the pattern)."""
        pattern = kids[-1][0] if kids and node.args else _UNKNOWN
        if type(pattern) is not str:
            return False
        from .regex import compile_re2

        try:
            compile_re2(pattern)
        except CelErrorValue as err:
            err.span = node.args[-1].span
            self._report(err, pattern=True)
            return True
        return False


def _logic(op: str, left, right):
    decisive = op == "||"
    if left is decisive or right is decisive:
        return decisive
    for side in (left, right):
        if isinstance(side, CelErrorValue):
            raise side
        sem.truth(side, op)
    return not decisive


def _raise(value) -> None:
    if isinstance(value, CelErrorValue):
        raise value

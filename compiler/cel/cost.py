"""Static cost estimates, in the spirit of Kubernetes' CEL cost model.

Every node costs 1 plus its children. Size-proportional work is charged by the estimated
size of its operand: a macro multiplies the cost of its body by the size of the list it
walks; ``contains``/``startsWith``/``endsWith``/``+`` on strings cost a tenth of the string
length; ``matches`` the full length; ``in`` and ``==`` on lists the list size.

Sizes come from ``size_hints`` (variable name -> maximum number of elements or characters),
else from list literals, else from the defaults :data:`DEFAULT_LIST_SIZE` and
:data:`DEFAULT_STRING_LENGTH`.

A reference to a let (a named sub-expression of the checked result, see
:class:`compiler.cel.types.CheckResult`) costs 1; each let the expression reaches adds its own
cost once, even when it is used inside a macro: both evaluators compute a let once per
evaluation and share the value. A let's cost, size and the lets it reaches are computed once
(kept in ``memo``, which the expressions of one checked result may share), so estimating a
chain of lets that each use the one before twice is linear in the chain, not exponential.

>>> from compiler.cel.parser import parse
>>> estimate(parse("models.exists(m, m.startsWith('claude'))"), size_hints={"models": 4})
58

(2 for the macro and its range, plus 4 iterations of 1 + the 3-node call + a tenth of the
assumed length of ``m``.)
"""

from __future__ import annotations

import math

from . import ast
from .errors import CelError

#: Assumed maximum number of elements of a list or map whose size is not declared.
DEFAULT_LIST_SIZE = 100
#: Assumed maximum length of a string whose length is not declared.
DEFAULT_STRING_LENGTH = 1_000
_STRING_SCANS = {"contains": 0.1, "startsWith": 0.1, "endsWith": 0.1, "matches": 1.0}


def enforce_cost(root: ast.Expr, types, limit: int | None, size_hints: dict | None = None) -> int:
    """The estimated cost; raise POLC220 when it exceeds ``limit``."""
    cost = estimate(root, types=types, size_hints=size_hints)
    if limit is not None and cost > limit:
        raise CelError("POLC220", f"estimated cost {cost:,} exceeds the limit {limit:,}",
                       root.span, hint="iterate over less data, declare smaller size hints, or "
                                       "raise the cost limit")
    return cost


def estimate(root: ast.Expr, *, types=None, size_hints: dict | None = None,
             memo: dict | None = None) -> int:
    """The static cost of ``root``; ``types`` (a CheckResult) tells strings from lists.

    ``memo`` keeps what is known of each let between calls for the same ``types`` and
    ``size_hints`` (the expressions of one gate or rule share their lets).
    """
    estimator = _Estimator(size_hints or {}, types, {} if memo is None else memo)
    cost = estimator.cost(root)
    return cost + sum(estimator.memo[index].cost for index in estimator.reached)


class _LetFacts:
    """A let's own cost (1 per let it uses), its estimated size, and every let it reaches."""

    __slots__ = ("cost", "size", "reached")

    def __init__(self, cost: int, size: int, reached: frozenset):
        self.cost, self.size, self.reached = cost, size, reached


class _Estimator:
    def __init__(self, size_hints: dict, types, memo: dict):
        self.hints = size_hints
        self.types = types
        self.let_refs = types.let_refs if types is not None else {}
        self.memo = memo                # let index -> _LetFacts
        self.reached: set[int] = set()  # lets the estimated expression reaches

    def _let_index(self, node: ast.Expr) -> int | None:
        return self.let_refs.get(id(node)) if isinstance(node, ast.Ident) else None

    def _let(self, index: int) -> _LetFacts:
        facts = self.memo.get(index)
        if facts is None:
            inner = _Estimator(self.hints, self.types, self.memo)
            body = self.types.lets[index][1]
            cost = inner.cost(body)
            facts = self.memo[index] = _LetFacts(cost, inner.size(body), frozenset(inner.reached))
        return facts

    def _stringish(self, node: ast.Expr) -> bool:
        if self.types is not None and self.types.type_of(node).kind in ("string", "bytes"):
            return True
        return _stringish(node)

    def size(self, node: ast.Expr) -> int:
        """Estimated element count (lists, maps) or length (strings) of a node's value."""
        if isinstance(node, ast.CreateList):
            return len(node.elements)
        if isinstance(node, ast.CreateMap):
            return len(node.entries)
        if isinstance(node, ast.Literal) and isinstance(node.value, (str, bytes)):
            return len(node.value)
        index = self._let_index(node)
        if index is not None:
            return self._let(index).size
        path = _path(node)
        if path is not None and path in self.hints:
            return int(self.hints[path])
        if isinstance(node, ast.Comprehension) and node.kind in ("map", "filter"):
            return self.size(node.range)
        if isinstance(node, ast.Binary) and node.op == "+":
            return self.size(node.left) + self.size(node.right)
        return DEFAULT_LIST_SIZE if not self._stringish(node) else DEFAULT_STRING_LENGTH

    def cost(self, node: ast.Expr) -> int:
        index = self._let_index(node)
        if index is not None:  # computed once per evaluation, wherever it is used (even in a loop)
            if index not in self.reached:
                self.reached.add(index)
                self.reached.update(self._let(index).reached)
            return 1
        own = 1 + sum(self.cost(child) for child in ast.children(node)
                      if not isinstance(node, ast.Comprehension))
        if isinstance(node, ast.Comprehension):
            body = self.cost(node.step) + (self.cost(node.guard) if node.guard else 0)
            return own + self.cost(node.range) + self.size(node.range) * (body + 1)
        if isinstance(node, ast.Call) and node.function in _STRING_SCANS:
            subject = node.target if node.target is not None else node.args[0]
            return own + math.ceil(self.size(subject) * _STRING_SCANS[node.function])
        if isinstance(node, ast.Binary) and node.op in ("in", "==", "!=", "+"):
            return own + self._binary_extra(node)
        return own

    def _binary_extra(self, node: ast.Binary) -> int:
        if node.op == "in" and not isinstance(node.right, ast.CreateMap):
            return self.size(node.right)
        if node.op == "+" and (self._stringish(node.left) or self._stringish(node.right)):
            return math.ceil(self.size(node.left) / 10 + self.size(node.right) / 10)
        if node.op in ("==", "!=") and isinstance(node.left, ast.CreateList):
            return self.size(node.left)
        return 0


def _stringish(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and isinstance(node.value, (str, bytes))


def _path(node: ast.Expr) -> str | None:
    """``limits.tags`` for a Select chain rooted at a variable (size hints use such paths)."""
    parts = ast.qualified_parts(node)
    return None if parts is None else ".".join(parts)

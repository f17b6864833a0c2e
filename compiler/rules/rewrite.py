"""AST rewrites that lower the rules language to plain CEL before evaluation.

* ``let`` and ``const`` names are replaced by their expressions (they are pure, so inlining
  keeps CEL semantics exactly, error absorption by ``&&``/``||`` included);
* ``ratio("name", default)`` becomes the configured number (``[drift.ratios]`` of
  policy.toml) or its default.

>>> from compiler.cel import parse
>>> node = substitute(parse("x > limit"), {"limit": parse("params.p95")})
>>> node.right
Select(operand=Ident(name='params', ...), field='p95', ...)
>>> lower_ratios(parse('a > ratio("spike", 2.0)'), {"spike": 3}).right
Literal(value=3.0, ...)
"""

from __future__ import annotations


from typing import Mapping

from ..cel import ast


def substitute(node, names: Mapping[str, object]):
    """``node`` with free identifiers in ``names`` replaced (macro variables shadow them)."""
    if not names:
        return node
    if isinstance(node, ast.Ident):
        return names.get(node.name, node)
    if isinstance(node, ast.Comprehension):
        inner = {k: v for k, v in names.items() if k != node.var}
        return node._replace(range=substitute(node.range, names),
                       step=substitute(node.step, inner),
                       guard=None if node.guard is None else substitute(node.guard, inner))
    return _map_children(node, lambda child: substitute(child, names))


def lower_ratios(node, ratios: Mapping[str, float]):
    """Replace ``ratio("name", default)`` calls by a double literal."""
    if isinstance(node, ast.Call) and node.target is None and node.function == "ratio" and len(node.args) == 2:
        key, default = node.args
        if isinstance(key, ast.Literal) and isinstance(default, ast.Literal):
            value = ratios.get(key.value, default.value)
            return ast.Literal(float(value), node.span)
    return _map_children(node, lambda child: lower_ratios(child, ratios))


def uses(node, name: str) -> bool:
    """Whether identifier ``name`` occurs in ``node`` (ignoring shadowing; a safe over-approximation)."""
    return any(isinstance(n, ast.Ident) and n.name == name for n in ast.walk(node))


def _map_children(node, fn):
    if isinstance(node, (ast.Literal, ast.Ident)):
        return node
    if isinstance(node, (ast.Select, ast.Has)):
        return node._replace(operand=fn(node.operand))
    if isinstance(node, ast.Index):
        return node._replace(operand=fn(node.operand), index=fn(node.index))
    if isinstance(node, ast.Call):
        return node._replace(target=None if node.target is None else fn(node.target),
                       args=tuple(fn(a) for a in node.args))
    if isinstance(node, ast.CreateList):
        return node._replace(elements=tuple(fn(e) for e in node.elements))
    if isinstance(node, ast.CreateMap):
        return node._replace(entries=tuple((fn(k), fn(v)) for k, v in node.entries))
    if isinstance(node, ast.Unary):
        return node._replace(operand=fn(node.operand))
    if isinstance(node, ast.Binary):
        return node._replace(left=fn(node.left), right=fn(node.right))
    if isinstance(node, ast.Conditional):
        return node._replace(cond=fn(node.cond), then=fn(node.then), otherwise=fn(node.otherwise))
    if isinstance(node, ast.Comprehension):
        return node._replace(range=fn(node.range), step=fn(node.step),
                       guard=None if node.guard is None else fn(node.guard))
    raise TypeError(f"unknown CEL node {type(node).__name__}")

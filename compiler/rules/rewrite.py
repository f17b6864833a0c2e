"""AST rewrites of the rules language: ``ratio()`` lowered to a number, and name uses.

* ``ratio("name", default)`` becomes the configured number (``[drift.ratios]`` of
  policy.toml) or its default. The ratios are known only when ``polc diff`` runs, so this
  happens at run time, on the tree decoded from the snapshot; the checker's facts (the type
  of each node) carry over to the nodes it rebuilds, so the code generator's fast path is
  unchanged.

>>> from compiler.cel import parse
>>> lower_ratios(parse('a > ratio("spike", 2.0)'), {"spike": 3}).right
Literal(value=3.0, ...)
"""

from __future__ import annotations

from typing import Mapping

from ..cel import ast


def lower_ratios(node, ratios: Mapping[str, float], facts=None):
    """Replace ``ratio("name", default)`` calls by a double literal (other nodes are kept).

    ``facts`` (a :class:`compiler.cel.types.CheckResult`) gets the types of rebuilt nodes.
    """
    if isinstance(node, ast.Call) and node.target is None and node.function == "ratio" and len(node.args) == 2:
        key, default = node.args
        if isinstance(key, ast.Literal) and isinstance(default, ast.Literal):
            value = ratios.get(key.value, default.value)
            return _same_facts(node, ast.Literal(float(value), node.span), facts)
    children = list(ast.children(node))
    lowered = [lower_ratios(child, ratios, facts) for child in children]
    if all(new is old for new, old in zip(lowered, children)):
        return node
    return _same_facts(node, _rebuild(node, dict(zip(map(id, children), lowered))), facts)


def uses(node, name: str) -> bool:
    """Whether identifier ``name`` occurs in ``node`` (ignoring shadowing; a safe over-approximation)."""
    return any(isinstance(n, ast.Ident) and n.name == name for n in ast.walk(node))


def _same_facts(old, new, facts):
    if facts is not None:
        facts.types[id(new)] = facts.type_of(old)
        if id(old) in facts.qualified:
            facts.qualified[id(new)] = facts.qualified[id(old)]
    return new


def _rebuild(node, replaced: dict):
    """``node`` with its children replaced (``replaced`` maps id(old child) -> new child)."""
    fn = lambda child: None if child is None else replaced.get(id(child), child)  # noqa: E731
    if isinstance(node, (ast.Select, ast.Has, ast.Unary)):
        return node._replace(operand=fn(node.operand))
    if isinstance(node, ast.Index):
        return node._replace(operand=fn(node.operand), index=fn(node.index))
    if isinstance(node, ast.Call):
        return node._replace(target=fn(node.target), args=tuple(fn(a) for a in node.args))
    if isinstance(node, ast.CreateList):
        return node._replace(elements=tuple(fn(e) for e in node.elements))
    if isinstance(node, ast.CreateMap):
        return node._replace(entries=tuple((fn(k), fn(v)) for k, v in node.entries))
    if isinstance(node, ast.Binary):
        return node._replace(left=fn(node.left), right=fn(node.right))
    if isinstance(node, ast.Conditional):
        return node._replace(cond=fn(node.cond), then=fn(node.then), otherwise=fn(node.otherwise))
    if isinstance(node, ast.Comprehension):
        return node._replace(range=fn(node.range), step=fn(node.step), guard=fn(node.guard))
    raise TypeError(f"unknown CEL node {type(node).__name__}")

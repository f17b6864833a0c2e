"""The reference interpreter: a small tree-walking evaluator over the CEL AST.

It is the executable definition the compiled evaluator is tested against, so it favours
clarity: one method per node type, every operator through :mod:`compiler.cel.semantics`.

>>> from compiler.cel.parser import parse
>>> Interpreter(parse("[1, 2, 3].exists(x, x > 2) && y")).evaluate({"y": True})
True

Errors are :class:`~compiler.cel.semantics.CelErrorValue` exceptions carrying the span of
the innermost node that failed; ``&&``, ``||`` and ``all``/``exists`` absorb them as CEL
requires. Runtime cost is one unit per comprehension iteration, the same rule the compiled
evaluator counts, so both run out of budget at the same point. A let of the checked result
(``checked.lets``) is evaluated once per evaluation, on first use, and its value (or error)
shared, as the compiled evaluator does. With ``check_ranges``, bindings whose integers leave the
range of their declared type (int64, uint64) are refused first (:func:`compiler.cel.rt.range_check`).
"""

from __future__ import annotations

from . import ast
from . import containers
from . import semantics as sem
from .functions import call
from .rt import ranges_of
from .semantics import CelErrorValue, CostExceeded
from .values import TYPE_DENOTATIONS, CelType

#: Default runtime budget: comprehension iterations per evaluation.
DEFAULT_RUNTIME_BUDGET = 1_000_000


class Env:
    """What an evaluation sees: the bindings, macro variables in scope, the budget, lets."""

    __slots__ = ("bindings", "locals", "budget", "lets")

    def __init__(self, bindings: dict, budget: int):
        self.bindings = bindings
        self.locals: dict = {}
        self.budget = budget
        self.lets: dict = {}  # let index -> value or CelErrorValue

    def spend(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise CostExceeded("runtime cost budget exceeded (too many macro iterations)")


class Interpreter:
    """Evaluates one parsed expression against bindings."""

    def __init__(self, root: ast.Expr, *, budget: int = DEFAULT_RUNTIME_BUDGET, checked=None,
                 check_ranges: bool = True):
        self.root = root
        self.budget = budget
        self._ranges = ranges_of(root, checked) if check_ranges else None
        # A checked program resolves dotted names statically, as cel-go does: the checker
        # recorded which Select chains name a declared variable such as `a.b`.
        self.checked = checked
        self._dispatch = {cls: getattr(self, "_" + cls.__name__.lower()) for cls in (
            ast.Literal, ast.Ident, ast.Select, ast.Has, ast.Index, ast.Call, ast.CreateList,
            ast.CreateMap, ast.Unary, ast.Binary, ast.Conditional, ast.Comprehension)}

    def evaluate(self, bindings: dict):
        """The CEL value of the expression; raises CelErrorValue (with a span)."""
        if self._ranges is not None:
            self._ranges(bindings)
        return self.eval(self.root, Env(bindings, self.budget))

    def eval(self, node: ast.Expr, env: Env):
        try:
            return self._dispatch[type(node)](node, env)
        except CelErrorValue as err:
            if err.span is None:
                err.span = node.span
            raise

    # --- leaves ----------------------------------------------------------------------------
    def _literal(self, node: ast.Literal, env: Env):
        return node.value

    def _ident(self, node: ast.Ident, env: Env):
        if node.name not in env.locals and self.checked is not None:
            index = self.checked.let_refs.get(id(node))
            if index is not None:
                return self._let(index, env)
        return resolve_ident(node.name, env)

    def _let(self, index: int, env: Env):
        if index not in env.lets:
            saved, env.locals = env.locals, {}  # a let sees no macro variables
            try:
                env.lets[index] = self.eval(self.checked.lets[index][1], env)
            except CostExceeded:
                raise
            except CelErrorValue as err:
                env.lets[index] = err
            finally:
                env.locals = saved
        value = env.lets[index]
        if isinstance(value, CelErrorValue):
            raise value
        return value

    # --- selection -------------------------------------------------------------------------
    def _select(self, node: ast.Select, env: Env):
        found, value = self._qualified(node, env)
        if found:
            return value
        return containers.select(self.eval(node.operand, env), node.field)

    def _qualified(self, node: ast.Expr, env: Env) -> tuple[bool, object]:
        """``a.b.c`` may name a binding `a.b.c` or `a.b` (longest prefix wins), as in cel-go."""
        if self.checked is not None:
            name = self.checked.qualified.get(id(node))
            return (False, None) if name is None else (True, resolve_ident("." + name, env))
        parts = ast.qualified_parts(node)
        if parts is None or parts[0] in env.locals:
            return False, None
        for cut in range(len(parts), 1, -1):
            name = ".".join(parts[:cut])
            if name in env.bindings:
                value = env.bindings[name]
                for field in parts[cut:]:
                    value = containers.select(value, field)
                return True, value
        return False, None

    def _has(self, node: ast.Has, env: Env):
        found, operand = self._qualified(node.operand, env)
        return containers.has(operand if found else self.eval(node.operand, env), node.field)

    def _index(self, node: ast.Index, env: Env):
        return containers.index(self.eval(node.operand, env), self.eval(node.index, env))

    def _call(self, node: ast.Call, env: Env):
        target = None if node.target is None else self.eval(node.target, env)
        args = [self.eval(arg, env) for arg in node.args]
        return call(node.function, target, args)

    # --- constructors ----------------------------------------------------------------------
    def _createlist(self, node: ast.CreateList, env: Env):
        return [self.eval(element, env) for element in node.elements]

    def _createmap(self, node: ast.CreateMap, env: Env):
        entries = [(self.eval(k, env), self.eval(v, env)) for k, v in node.entries]
        return containers.make_map(entries)

    # --- operators -------------------------------------------------------------------------
    def _unary(self, node: ast.Unary, env: Env):
        operand = self.eval(node.operand, env)
        return sem.not_(operand) if node.op == "!" else sem.neg(operand)

    def _binary(self, node: ast.Binary, env: Env):
        if node.op in ("&&", "||"):
            return self._logic(node, env)
        left = self.eval(node.left, env)
        right = self.eval(node.right, env)
        return BINARY[node.op](left, right)

    def _logic(self, node: ast.Binary, env: Env):
        """``&&``/``||`` are commutative over errors: `false && error` and `error && false`
        are both false."""
        decisive = node.op == "||"  # the operand value that decides the result
        left = self._try_truth(node.left, env, node.op)
        if left is decisive:
            return decisive
        right = self._try_truth(node.right, env, node.op)
        if right is decisive:
            return decisive
        for side in (left, right):
            if isinstance(side, CelErrorValue):
                raise side
        return not decisive

    def _try_truth(self, node: ast.Expr, env: Env, op: str):
        try:
            return sem.truth(self.eval(node, env), op)
        except CostExceeded:
            raise
        except CelErrorValue as err:
            if err.span is None:
                err.span = node.span
            return err

    def _conditional(self, node: ast.Conditional, env: Env):
        cond = sem.truth(self.eval(node.cond, env), "?:")
        return self.eval(node.then if cond else node.otherwise, env)

    # --- macros ----------------------------------------------------------------------------
    def _comprehension(self, node: ast.Comprehension, env: Env):
        items = containers.iterable(self.eval(node.range, env), node.kind)
        saved = env.locals
        env.locals = dict(saved)
        try:
            return getattr(self, "_macro_" + node.kind)(node, items, env)
        finally:
            env.locals = saved

    def _step(self, node: ast.Comprehension, item, env: Env, expr: ast.Expr | None = None):
        env.spend()
        env.locals[node.var] = item
        return self.eval(node.step if expr is None else expr, env)

    def _macro_all(self, node, items, env):
        return self._quantifier(node, items, env, decisive=False)

    def _macro_exists(self, node, items, env):
        return self._quantifier(node, items, env, decisive=True)

    def _quantifier(self, node, items, env, *, decisive: bool):
        error = None
        for item in items:
            try:
                if sem.truth(self._step(node, item, env), node.kind) is decisive:
                    return decisive
            except CostExceeded:
                raise
            except CelErrorValue as err:
                error = error or err
        if error is not None:
            raise error
        return not decisive

    def _macro_exists_one(self, node, items, env):
        count = 0
        for item in items:
            count += sem.truth(self._step(node, item, env), node.kind)
        return count == 1

    def _macro_map(self, node, items, env):
        result = []
        for item in items:
            if node.guard is not None and not sem.truth(
                    self._step(node, item, env, node.guard), "map"):
                continue
            if node.guard is None:
                env.spend()
            env.locals[node.var] = item
            result.append(self.eval(node.step, env))
        return result

    def _macro_filter(self, node, items, env):
        return [item for item in items if sem.truth(self._step(node, item, env), "filter")]


BINARY = {"==": sem.eq, "!=": sem.ne, "<": sem.lt, "<=": sem.le, ">": sem.gt, ">=": sem.ge,
          "+": sem.add, "-": sem.sub, "*": sem.mul, "/": sem.div, "%": sem.mod,
          "in": containers.contains_in}


def resolve_ident(name: str, env: Env):
    """Macro variables, then bindings, then type names (`int`, `list`, ...)."""
    if name.startswith("."):
        name = name[1:]
    elif name in env.locals:
        return env.locals[name]
    if name in env.bindings:
        return env.bindings[name]
    if name in TYPE_DENOTATIONS:
        return CelType(name)
    raise CelErrorValue(f"undeclared reference to '{name}'")


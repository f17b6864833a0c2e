"""The typed fast path: one Python expression per CEL expression, direct operations.

Where the checker proved a type, the value is used with plain Python operators; where a
value comes from outside (a binding, a map field, a list element) its declared type is
*guarded* with an exact ``type(x) is float`` test. Any surprise (a failed guard, a missing
key, an overflow, any error at all) raises, and the caller reruns the expression on the
generic path, which has the full CEL error semantics. Expressions are pure, so rerunning
is safe, and on the fast path no error can happen, so ``&&``/``||`` are Python's
``and``/``or`` and ``exists``/``all`` are loops with early exit.

``metrics.p95 <= 2000.0 && "gpt-4o" in models`` with ``metrics: map(string, double)`` and
``models: list(string)`` becomes::

    v1 = bindings['metrics']
    if type(v1) is not dict: _deopt()
    v2 = bindings['models']
    if type(v2) is not list: _deopt()
    return ((t3 if type(t3 := v1['p95']) is float else _deopt()) <= 2000.0
            and ('gpt-4o' in v2))

Lets (named sub-expressions shared by the expressions of a gate or rule) are computed once,
in the prologue, into locals (``L4 = ...``) in the order they were defined; an error there
falls through to the generic path like any other. ``known`` paths (``metrics.p95`` read
from the gate's input with its own guard, ``params.p95`` a constant) are used as given: the
whole-gate PASS test (:mod:`codegen_gate`) reads them before any condition runs.
"""

from __future__ import annotations

from . import ast
from .codegen_base import Function
from .types import DYN, Type

#: Outline a sub-expression into its own function past this expression depth (Python's
#: parser accepts at most 200 nested parentheses).
MAX_EXPR_DEPTH = 40
_GUARDS = {"int": "type({x}) is int", "uint": "type({x}) is _CelUint", "double":
           "type({x}) is float", "bool": "type({x}) is bool", "string": "type({x}) is str",
           "bytes": "type({x}) is bytes", "null_type": "{x} is None", "list": "type({x}) is list",
           "map": "type({x}) is dict", "object": "type({x}) is dict"}
_NUMBERS = frozenset({"int", "uint", "double"})
_DIRECT_COMPARE = frozenset({"string", "bytes", "bool"})
_HELPERS = {"==": "_eq", "!=": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge",
            "+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod", "in": "_in"}
#: Global functions whose helper always returns exactly this type (no guard needed).
_EXACT_RESULTS = {"int": "int", "uint": "uint", "double": "double", "string": "string",
                  "bytes": "bytes", "bool": "bool", "size": "int", "matches": "bool",
                  "contains": "bool", "startsWith": "bool", "endsWith": "bool"}


class _Ctx:
    """A function being generated: which Python names it binds and which it needs."""

    def __init__(self, bound: set[str]):
        self.bound = set(bound)
        self.free: set[str] = set()

    def use(self, name: str) -> str:
        if name not in self.bound:
            self.free.add(name)
        return name


class FastEmitter:
    def __init__(self, consts, names, checked, *, untyped: bool = False, known: dict | None = None):
        self.consts, self.names, self.checked = consts, names, checked
        self.untyped = untyped  # no declarations: dotted names resolve at run time
        self.known = known or {}  # path tuple -> (Python expression, proven type or None)
        self.functions: list[Function] = []
        self.loads: dict[str, tuple[str, Type]] = {}   # CEL name -> (local, declared type)
        self.compare_operands: set[int] = set()         # ids of operands of < <= == ...
        self.dotted: set[str] = set()                   # `a.b` prefixes that could be bindings
        self.let_locals: dict[int, tuple[str, Type | None]] = {}
        self.let_lines: list[tuple[int, str]] = []

    def build(self, root: ast.Expr) -> tuple[list[str], str]:
        """The prologue lines and the result expression of the fast path."""
        code = self.expression(root)
        return self.prologue(), code

    def expression(self, root: ast.Expr) -> str:
        """The fast-path Python expression of ``root`` (its prologue: :meth:`prologue`)."""
        code, _ = self.emit(root, _Ctx(set()), {}, 0)
        return code

    def prologue(self) -> list[str]:
        """Statements the expressions built so far need first: binding loads, then lets."""
        prologue = []
        for dotted in sorted(self.dotted):
            # `a.b.c` names the binding `a.b` when there is one (longest prefix wins); the
            # fast path reads `a` and selects fields, so it steps aside for such bindings.
            prologue.append(f"if {dotted!r} in bindings: _deopt()")
        for name, (local, declared) in self.loads.items():
            prologue.append(f"{local} = bindings[{name!r}]")
            guard = _guard(local, declared)
            if guard:
                prologue.append(f"if not ({guard}): _deopt()")
        prologue.extend(line for _, line in sorted(self.let_lines))
        return prologue

    def emit(self, node, ctx: _Ctx, scope: dict, depth: int) -> tuple[str, Type | None]:
        """(Python expression, proven type or None) for ``node``."""
        if depth and depth % MAX_EXPR_DEPTH == 0:
            return self._outline(node, ctx, scope, depth)
        return getattr(self, "_" + type(node).__name__.lower())(node, ctx, scope, depth + 1)

    def _outline(self, node, ctx, scope, depth):
        inner = _Ctx({"bindings", "_b"})
        code, proven = getattr(self, "_" + type(node).__name__.lower())(node, inner, scope, 1)
        return self._function("_polc_part", inner, ctx, [f"return {code}"], node) + ")", proven

    def _function(self, prefix: str, inner: _Ctx, outer: _Ctx, body: list[str], node,
                  extra: tuple[str, ...] = ()) -> str:
        params = sorted(inner.free - set(extra))
        for name in params:
            outer.use(name)
        fn = Function(self.names.next(prefix), ["bindings", "_b", *params, *extra])
        for line in body:
            depth = (len(line) - len(line.lstrip(" "))) // 4
            fn.lines.append((depth, line.strip(), node.span))
        self.functions.append(fn)
        return fn.name + "(" + ", ".join(fn.params[:2 + len(params)])

    def _typed(self, code: str, declared: Type | None, node=None) -> tuple[str, Type | None]:
        """Guard a value of unknown provenance against its declared type.

        A double-declared operand of a comparison also accepts an int (a JSON integer
        metric): CEL compares int with double by converting to double, which is what
        ``_as_double`` does, so the fast path stays exact.
        """
        if declared is None or _guard("x", declared) is None:
            return code, None
        temp = self.names.next("t")
        fallback = "_as_double" if declared.kind == "double" and node is not None and \
            id(node) in self.compare_operands else "_deopt"
        arg = temp if fallback == "_as_double" else ""
        return f"({temp} if {_guard(f'({temp} := {code})', declared)} else {fallback}({arg}))", \
            declared

    def _declared(self, node) -> Type:
        return self.checked.type_of(node)

    # --- leaves and selection ------------------------------------------------------------
    def _literal(self, node, ctx, scope, depth):
        from .types import of_value
        proven = of_value(node.value)
        return self.consts.literal(node.value), None if proven.is_dyn else proven

    def _ident(self, node, ctx, scope, depth):
        name = node.name.lstrip(".")
        if not node.name.startswith(".") and name in scope:
            local, proven = scope[name]
            return ctx.use(local), proven
        index = self.checked.let_refs.get(id(node))
        if index is not None:
            return self._let(index, ctx)
        declared = self.checked.declarations.get(name)
        if declared is None:
            return f"_ident(bindings, {name!r})", None
        return self._load(name, declared, ctx)

    def _let(self, index: int, ctx: _Ctx):
        """The local holding let ``index``, computed in the prologue (lets see no macro variables)."""
        if index not in self.let_locals:
            code, proven = self.emit(self.checked.lets[index][1], _Ctx(set()), {}, 0)
            local = self.names.next("L")
            self.let_locals[index] = (local, proven)
            self.let_lines.append((index, f"{local} = {code}"))
        local, proven = self.let_locals[index]
        return ctx.use(local), proven

    def _known(self, node, scope):
        """The given Python expression for a known path (``metrics.p95``), or None."""
        parts = ast.qualified_parts(node) if self.known else None
        if parts is None or parts[0] in scope or tuple(parts) not in self.known:
            return None
        root = node
        while isinstance(root, ast.Select):
            root = root.operand
        return None if id(root) in self.checked.let_refs else self.known[tuple(parts)]

    def _load(self, name: str, declared: Type, ctx: _Ctx):
        if name not in self.loads:
            self.loads[name] = (self.names.next("v"), declared)
        local, _ = self.loads[name]
        return ctx.use(local), declared if _guard("x", declared) else None

    def _select(self, node, ctx, scope, depth):
        known = self._known(node, scope)
        if known is not None:
            code, proven = known
            return (ctx.use(code) if code.isidentifier() else code), proven
        qualified = self.checked.qualified.get(id(node))
        if qualified is not None:
            return self._load(qualified, self.checked.declarations[qualified], ctx)
        parts = ast.qualified_parts(node)
        if self.untyped and parts is not None and parts[0] not in scope:
            self.dotted.add(".".join(parts))
        operand, proven = self.emit(node.operand, ctx, scope, depth)
        declared = self._declared(node)
        if proven is not None and proven.kind in ("map", "object"):
            return self._typed(f"{operand}[{node.field!r}]", declared, node)
        return self._typed(f"_select({operand}, {node.field!r})", declared, node)

    def _has(self, node, ctx, scope, depth):
        operand, proven = self.emit(node.operand, ctx, scope, depth)
        if proven is not None and proven.kind in ("map", "object"):
            return f"({node.field!r} in {operand})", Type("bool")
        return f"_has({operand}, {node.field!r})", Type("bool")

    def _index(self, node, ctx, scope, depth):
        operand, proven = self.emit(node.operand, ctx, scope, depth)
        index, index_type = self.emit(node.index, ctx, scope, depth)
        declared = self._declared(node)
        if proven is not None and proven.kind == "list" and _kind(index_type) == "int":
            temp = self.names.next("t")
            return self._typed(f"({operand}[{temp}] if ({temp} := {index}) >= 0 else _deopt())",
                               declared, node)
        if proven is not None and proven.kind == "map" and _kind(index_type) == "string":
            return self._typed(f"{operand}[{index}]", declared, node)
        return self._typed(f"_index({operand}, {index})", declared, node)

    def _call(self, node, ctx, scope, depth):
        name = node.function.lstrip(".")
        target = None if node.target is None else self.emit(node.target, ctx, scope, depth)
        args = [self.emit(arg, ctx, scope, depth) for arg in node.args]
        direct = _direct_call(name, target, args, self.consts)
        if direct is not None:
            return direct
        target_code = "None" if target is None else target[0]
        code = f"_call({node.function!r}, {target_code}, [{', '.join(a for a, _ in args)}])"
        exact = _EXACT_RESULTS.get(name)
        if exact is not None:
            return code, Type(exact)
        return self._typed(code, self._declared(node))

    def _createlist(self, node, ctx, scope, depth):
        items = [self.emit(e, ctx, scope, depth)[0] for e in node.elements]
        return f"[{', '.join(items)}]", Type("list", (DYN,))

    def _createmap(self, node, ctx, scope, depth):
        pairs = [f"({self.emit(k, ctx, scope, depth)[0]}, {self.emit(v, ctx, scope, depth)[0]})"
                 for k, v in node.entries]
        return f"_make_map(({', '.join(pairs)}{',' if pairs else ''}))", Type("map", (DYN, DYN))

    # --- operators -----------------------------------------------------------------------
    def _unary(self, node, ctx, scope, depth):
        operand, proven = self.emit(node.operand, ctx, scope, depth)
        if node.op == "!":
            code = f"(not {operand})" if _kind(proven) == "bool" else f"_not({operand})"
            return code, Type("bool")
        if _kind(proven) == "double":
            return f"(-{operand})", proven
        if _kind(proven) == "int":
            temp = self.names.next("t")
            return f"({temp} if ({temp} := -{operand}) <= _MAX else _deopt())", proven
        return f"_neg({operand})", None

    def _binary(self, node, ctx, scope, depth):
        if node.op in ("==", "!=", "<", "<=", ">", ">="):
            self.compare_operands.update((id(node.left), id(node.right)))
        left, lt = self.emit(node.left, ctx, scope, depth)
        right, rt_ = self.emit(node.right, ctx, scope, depth)
        op, lk, rk = node.op, _kind(lt), _kind(rt_)
        if op in ("&&", "||"):
            left = left if lk == "bool" else f"_truth({left}, {op!r})"
            right = right if rk == "bool" else f"_truth({right}, {op!r})"
            return f"({left} {'and' if op == '&&' else 'or'} {right})", Type("bool")
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return _compare(op, left, lk, right, rk), Type("bool")
        if op == "in":
            if lk in ("string", "bytes") and rk in ("list", "map", "object"):
                return f"({left} in {right})", Type("bool")
            return f"_in({left}, {right})", Type("bool")
        return self._arithmetic(op, left, lt, right, rt_)

    def _arithmetic(self, op, left, lt, right, rt_):
        lk, rk = _kind(lt), _kind(rt_)
        if lk == rk == "int" and op in "+-*":
            temp = self.names.next("t")
            return f"({temp} if _MIN <= ({temp} := {left} {op} {right}) <= _MAX else " \
                   f"_deopt())", lt
        if lk == rk == "double" and op in "+-*":
            return f"({left} {op} {right})", lt
        if lk == rk and lk in ("string", "bytes", "list") and op == "+":
            return f"({left} + {right})", lt
        code = f"{_HELPERS[op]}({left}, {right})"
        return code, lt if lk == rk and lk in _NUMBERS and op in "/%" else None

    def _conditional(self, node, ctx, scope, depth):
        cond, ck = self.emit(node.cond, ctx, scope, depth)
        then, tt = self.emit(node.then, ctx, scope, depth)
        other, ot = self.emit(node.otherwise, ctx, scope, depth)
        cond = cond if _kind(ck) == "bool" else f"_truth({cond}, '?:')"
        return f"({then} if {cond} else {other})", tt if tt == ot else None

    # --- macros: each one a small function with a loop ------------------------------------
    def _comprehension(self, node, ctx, scope, depth):
        items, proven = self.emit(node.range, ctx, scope, depth)
        range_type = self._declared(node.range)
        elem = range_type.params[0] if range_type.kind in ("list", "map") else DYN
        var = self.names.next(f"c_{node.var}")
        inner = _Ctx({"bindings", "_b", var, "_r"})
        var_proven = elem if _guard("x", elem) else None
        inner_scope = {**scope, node.var: (var, var_proven)}
        step, step_type = self.emit(node.step, inner, inner_scope, 1)
        guard = None
        if node.guard is not None:
            guard, guard_type = self.emit(node.guard, inner, inner_scope, 1)
            guard = guard if _kind(guard_type) == "bool" else f"_truth({guard}, 'map')"
        if node.kind != "map" and _kind(step_type) != "bool":
            step = f"_truth({step}, {node.kind!r})"
        rows = items if _kind(proven) in ("list", "map") else f"_iterable({items}, {node.kind!r})"
        body = _loop_body(node.kind, var, _guard(var, elem), step, guard)
        call = self._function("_polc_loop", inner, ctx, body, node, extra=("_r",))
        result = Type("bool") if node.kind in ("all", "exists", "exists_one") else \
            Type("list", (DYN,))
        return f"{call}, {rows})", result


def _loop_body(kind: str, var: str, elem_guard: str | None, step: str, guard: str | None):
    lines = ["_b[0] -= len(_r)", "if _b[0] < 0: _deopt()"]
    if kind in ("map", "filter", "exists_one"):
        lines.append("_out = 0" if kind == "exists_one" else "_out = []")
    lines.append(f"for {var} in _r:")
    if elem_guard:
        lines.append(f"    if not ({elem_guard}): _deopt()")
    if kind == "exists":
        lines += [f"    if {step}: return True", "return False"]
    elif kind == "all":
        lines += [f"    if not {step}: return False", "return True"]
    elif kind == "exists_one":
        lines += [f"    if {step}: _out += 1", "return _out == 1"]
    elif kind == "filter":
        lines += [f"    if {step}: _out.append({var})", "return _out"]
    else:
        if guard is not None:
            lines.append(f"    if not {guard}: continue")
        lines += [f"    _out.append({step})", "return _out"]
    return lines


def _direct_call(name: str, target, args, consts):
    """Plain Python for calls on proven types (``len(x)``, ``x.startswith(y)``)."""
    receiver = target if target is not None else (args[0] if args else None)
    rest = args if target is not None else args[1:]
    if receiver is None:
        return None
    code, proven = receiver
    kind = _kind(proven)
    if name == "size" and not rest and kind in ("string", "bytes", "list", "map", "object"):
        return f"len({code})", Type("int")
    if len(rest) != 1 or kind != "string" or _kind(rest[0][1]) != "string":
        return _conversion(name, target, args)
    other = rest[0][0]
    method = {"startsWith": "startswith", "endsWith": "endswith"}.get(name)
    if method is not None and target is not None:
        return f"{code}.{method}({other})", Type("bool")
    if name == "contains" and target is not None:
        return f"({other} in {code})", Type("bool")
    return None


def _conversion(name: str, target, args):
    if target is not None or len(args) != 1:
        return None
    code, proven = args[0]
    kind = _kind(proven)
    if name == "double" and kind == "int":
        return f"float({code})", Type("double")
    if (name, kind) in (("int", "int"), ("double", "double"), ("string", "string"),
                        ("dyn", kind), ("bool", "bool")) and kind is not None:
        return code, proven
    return None


def _compare(op: str, left: str, lk, right: str, rk) -> str:
    if lk in _NUMBERS and rk in _NUMBERS:
        if "double" in (lk, rk) and lk != rk:
            left = left if lk == "double" else f"float({left})"
            right = right if rk == "double" else f"float({right})"
        return f"({left} {op} {right})"
    if lk == rk and lk in _DIRECT_COMPARE:
        return f"({left} {op} {right})"
    return f"{_HELPERS[op]}({left}, {right})"


def _kind(proven: Type | None) -> str | None:
    return None if proven is None else proven.kind


def _guard(expr: str, declared: Type) -> str | None:
    """An exact type test of ``expr`` against ``declared`` (None: nothing to test, e.g. dyn)."""
    if declared.nullable:
        return None  # null is a value too: the generic path's semantics decide
    template = _GUARDS.get(declared.kind)
    return None if template is None else template.format(x=expr)

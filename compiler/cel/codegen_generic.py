"""The generic code shape: one statement per CEL node, full CEL semantics.

Every operation goes through the interpreter's semantic helpers; ``&&``, ``||`` and the
``all``/``exists`` macros absorb errors with ``try``/``except``; each generated line maps
to the span of the node it computes, so an error names the policy position.

For ``a.b <= 1.0 && c``::

    def _polc_generic(bindings, _b):
        try:
            t1 = _select_path(bindings, ('a', 'b'))
            t2 = _le(t1, 1.0)
            t3 = _truth(t2, '&&')
        except _CelErrorValue as _e:
            t3 = _absorb(_e, _SPANS)
        if t3 is False:
            t4 = False
        else:
            ...

Block nesting is bounded: past :data:`MAX_BLOCK_DEPTH` the sub-expression is outlined into
its own module-level function (Python allows at most 20 nested blocks and 100 indents).

A let (a named sub-expression shared by the expressions of a gate or rule) is a function of
its own, ``_polc_letN``, computed at most once per evaluation through ``_let_value``, which
keeps the value (or the error) in the evaluation's memo ``_L``.
"""

from __future__ import annotations

from . import ast
from .codegen_base import Function

MAX_BLOCK_DEPTH = 8
_BINARY_HELPERS = {"==": "_eq", "!=": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge",
                   "+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod",
                   "in": "_in"}


class GenericEmitter:
    def __init__(self, consts, names, checked=None):
        self.consts = consts
        self.names = names          # the shared temp-name counter
        self.checked = checked      # with it, dotted names were resolved statically
        self.functions: list[Function] = []
        self.let_functions: dict[int, str] = {}

    def build(self, root: ast.Expr, name: str = "_polc_generic") -> str:
        fn = Function(name, ["bindings", "_b"])
        self.functions.append(fn)
        fn.add("_L = {}", root.span)
        result = self.emit(root, fn, {})
        fn.add(f"return {result}", root.span)
        return fn.name

    def _function(self, name: str, extra: list[str]) -> Function:
        fn = Function(name, ["bindings", "_b", "_L", *extra])
        self.functions.append(fn)
        return fn

    def _let_function(self, index: int) -> str:
        """The function computing let ``index`` (generated once; lets see no macro variables)."""
        name = self.let_functions.get(index)
        if name is None:
            name = self.let_functions[index] = f"_polc_let{index}"
            node = self.checked.lets[index][1]
            fn = self._function(name, [])
            fn.add(f"return {self.emit(node, fn, {})}", node.span)
        return name

    def emit(self, node: ast.Expr, fn: Function, scope: dict[str, str]) -> str:
        """Emit statements computing ``node``; return a Python expression for its value."""
        if isinstance(node, (ast.Binary, ast.Conditional, ast.Comprehension)) and \
                fn.depth >= MAX_BLOCK_DEPTH and not (isinstance(node, ast.Binary) and
                                                     node.op not in ("&&", "||")):
            return self._outline(node, fn, scope)
        return getattr(self, "_" + type(node).__name__.lower())(node, fn, scope)

    def _outline(self, node, fn: Function, scope) -> str:
        helper = self._function(self.names.next("_polc_part"), list(scope.values()))
        helper.add(f"return {self.emit(node, helper, scope)}", node.span)
        out = self.names.next("t")
        fn.add(f"{out} = {helper.name}({', '.join(helper.params)})", node.span)
        return out

    def _assign(self, fn: Function, code: str, span) -> str:
        out = self.names.next("t")
        fn.add(f"{out} = {code}", span)
        return out

    # --- leaves and selection ------------------------------------------------------------
    def _literal(self, node, fn, scope):
        return self.consts.literal(node.value)

    def _ident(self, node, fn, scope):
        if node.name in scope:
            return scope[node.name]
        index = None if self.checked is None else self.checked.let_refs.get(id(node))
        if index is not None:
            compute = self._let_function(index)
            return self._assign(fn, f"_let_value({compute}, {index}, bindings, _b, _L)", node.span)
        return self._assign(fn, f"_ident(bindings, {node.name.lstrip('.')!r})", node.span)

    def _dynamic_parts(self, node, scope):
        """The dotted name to resolve against the bindings at run time (unchecked only)."""
        parts = ast.qualified_parts(node)
        if self.checked is not None or parts is None or parts[0] in scope:
            return None
        return parts

    def _select(self, node, fn, scope):
        if self.checked is not None and id(node) in self.checked.qualified:
            name = self.checked.qualified[id(node)]
            return self._assign(fn, f"_ident(bindings, {name!r})", node.span)
        parts = self._dynamic_parts(node, scope)
        if parts is not None:
            return self._assign(fn, f"_select_path(bindings, {tuple(parts)!r})", node.span)
        operand = self.emit(node.operand, fn, scope)
        return self._assign(fn, f"_select({operand}, {node.field!r})", node.span)

    def _has(self, node, fn, scope):
        parts = self._dynamic_parts(node.operand, scope)
        if parts is not None and len(parts) > 1:
            return self._assign(fn, f"_has_path(bindings, {tuple(parts)!r}, {node.field!r})",
                                node.span)
        operand = self.emit(node.operand, fn, scope)
        return self._assign(fn, f"_has({operand}, {node.field!r})", node.span)

    def _index(self, node, fn, scope):
        operand = self.emit(node.operand, fn, scope)
        index = self.emit(node.index, fn, scope)
        return self._assign(fn, f"_index({operand}, {index})", node.span)

    def _call(self, node, fn, scope):
        target = "None" if node.target is None else self.emit(node.target, fn, scope)
        args = ", ".join(self.emit(arg, fn, scope) for arg in node.args)
        return self._assign(fn, f"_call({node.function!r}, {target}, [{args}])", node.span)

    def _createlist(self, node, fn, scope):
        items = ", ".join(self.emit(e, fn, scope) for e in node.elements)
        return self._assign(fn, f"[{items}]", node.span)

    def _createmap(self, node, fn, scope):
        pairs = [f"({self.emit(k, fn, scope)}, {self.emit(v, fn, scope)})"
                 for k, v in node.entries]
        return self._assign(fn, f"_make_map(({', '.join(pairs)}{',' if pairs else ''}))",
                            node.span)

    # --- operators -----------------------------------------------------------------------
    def _unary(self, node, fn, scope):
        operand = self.emit(node.operand, fn, scope)
        helper = "_not" if node.op == "!" else "_neg"
        return self._assign(fn, f"{helper}({operand})", node.span)

    def _binary(self, node, fn, scope):
        if node.op in ("&&", "||"):
            return self._logic(node, fn, scope)
        left = self.emit(node.left, fn, scope)
        right = self.emit(node.right, fn, scope)
        return self._assign(fn, f"{_BINARY_HELPERS[node.op]}({left}, {right})", node.span)

    def _guarded_truth(self, node, fn, scope, op: str) -> str:
        """Evaluate a logic operand, keeping an error as a value."""
        out = self.names.next("t")
        fn.add("try:", node.span)
        fn.depth += 1
        value = self.emit(node, fn, scope)
        fn.add(f"{out} = _truth({value}, {op!r})", node.span)
        fn.depth -= 1
        fn.add("except _CelErrorValue as _e:", node.span)
        fn.depth += 1
        fn.add(f"{out} = _absorb(_e, _SPANS)", node.span)
        fn.depth -= 1
        return out

    def _logic(self, node, fn, scope):
        decisive = "True" if node.op == "||" else "False"
        combine = "_or_result" if node.op == "||" else "_and_result"
        out = self.names.next("t")
        left = self._guarded_truth(node.left, fn, scope, node.op)
        fn.add(f"if {left} is {decisive}:", node.span)
        fn.depth += 1
        fn.add(f"{out} = {decisive}", node.span)
        fn.depth -= 1
        fn.add("else:", node.span)
        fn.depth += 1
        right = self._guarded_truth(node.right, fn, scope, node.op)
        fn.add(f"{out} = {combine}({left}, {right})", node.span)
        fn.depth -= 1
        return out

    def _conditional(self, node, fn, scope):
        cond = self.emit(node.cond, fn, scope)
        out = self.names.next("t")
        fn.add(f"if _truth({cond}, '?:'):", node.span)
        for branch, keyword in ((node.then, None), (node.otherwise, "else:")):
            if keyword:
                fn.add(keyword, node.span)
            fn.depth += 1
            fn.add(f"{out} = {self.emit(branch, fn, scope)}", branch.span)
            fn.depth -= 1
        return out

    # --- macros --------------------------------------------------------------------------
    def _comprehension(self, node, fn, scope):
        items = self.emit(node.range, fn, scope)
        var = self.names.next(f"c_{node.var}")
        inner = {**scope, node.var: var}
        out = self.names.next("t")
        rows = self._assign(fn, f"_iterable({items}, {node.kind!r})", node.range.span)
        if node.kind in ("all", "exists"):
            self._quantifier(node, fn, inner, var, rows, out)
            return out
        fn.add(f"{out} = 0" if node.kind == "exists_one" else f"{out} = []", node.span)
        fn.add(f"for {var} in {rows}:", node.span)
        fn.depth += 1
        self._spend(fn, node.span)
        getattr(self, "_body_" + node.kind)(node, fn, inner, var, out)
        fn.depth -= 1
        if node.kind == "exists_one":
            fn.add(f"{out} = {out} == 1", node.span)
        return out

    def _spend(self, fn, span) -> None:
        fn.add("_b[0] -= 1", span)
        fn.add("if _b[0] < 0: _cost_exceeded()", span)

    def _quantifier(self, node, fn, inner, var, rows, out) -> None:
        decisive = "True" if node.kind == "exists" else "False"
        error = self.names.next("err")
        fn.add(f"{out} = {'False' if decisive == 'True' else 'True'}", node.span)
        fn.add(f"{error} = None", node.span)
        fn.add(f"for {var} in {rows}:", node.span)
        fn.depth += 1
        self._spend(fn, node.span)
        pred = self._guarded_truth(node.step, fn, inner, node.kind)
        fn.add(f"if {pred} is {decisive}:", node.span)
        fn.depth += 1
        fn.add(f"{out} = {decisive}", node.span)
        fn.add("break", node.span)
        fn.depth -= 1
        fn.add(f"if {error} is None and {pred} is not {'False' if decisive == 'True' else 'True'}:",
               node.span)
        fn.add(f"    {error} = {pred}", node.span)
        fn.depth -= 1
        fn.add("else:", node.span)
        fn.add(f"    if {error} is not None: raise {error}", node.span)

    def _body_exists_one(self, node, fn, scope, var, out) -> None:
        pred = self.emit(node.step, fn, scope)
        fn.add(f"if _truth({pred}, 'exists_one'): {out} += 1", node.span)

    def _body_map(self, node, fn, scope, var, out) -> None:
        if node.guard is not None:
            guard = self.emit(node.guard, fn, scope)
            fn.add(f"if not _truth({guard}, 'map'): continue", node.guard.span)
        fn.add(f"{out}.append({self.emit(node.step, fn, scope)})", node.step.span)

    def _body_filter(self, node, fn, scope, var, out) -> None:
        pred = self.emit(node.step, fn, scope)
        fn.add(f"if _truth({pred}, 'filter'): {out}.append({var})", node.step.span)

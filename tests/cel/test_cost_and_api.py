"""Cost bounds (static and runtime) and the embedding API."""

from __future__ import annotations

import subprocess
import sys

import pytest

import compiler.cel as cel
from compiler.cel import CelError, CelUint
from compiler.cel.cost import DEFAULT_LIST_SIZE, estimate
from compiler.cel.parser import parse


def test_static_cost_grows_with_declared_sizes():
    expr = "models.exists(m, m.startsWith('claude'))"
    small = estimate(parse(expr), size_hints={"models": 4})
    large = estimate(parse(expr), size_hints={"models": 400})
    assert small < large and large > 100 * small // 2
    nested = estimate(parse("xs.all(x, xs.all(y, x == y))"))
    assert nested > DEFAULT_LIST_SIZE ** 2


def test_cost_limit_is_a_compile_error_naming_the_cost():
    with pytest.raises(CelError) as caught:
        cel.compile("xs.all(x, xs.all(y, x == y))", {"xs": "list(int)"}, cost_limit=1000)
    assert caught.value.code == "POLC220"
    assert "exceeds the limit 1,000" in caught.value.message
    program = cel.compile("xs.all(x, x > 0)", {"xs": "list(int)"}, cost_limit=10_000,
                          size_hints={"xs": 10})
    assert program.estimated_cost <= 10_000 and program.evaluate({"xs": [1, 2]}) is True


@pytest.mark.parametrize("backend", ["interp", "compiled"])
@pytest.mark.parametrize("declarations", [None, {"xs": "list(int)"}])
def test_runtime_budget_stops_runaway_evaluation(backend, declarations):
    program = cel.compile("xs.all(x, xs.all(y, xs.all(z, true))) || true", declarations,
                          backend=backend, runtime_budget=5_000)
    with pytest.raises(CelError) as caught:
        program.evaluate({"xs": list(range(30))})       # 30**3 iterations > 5,000
    assert caught.value.code == "POLC231"             # `|| true` does not absorb it
    assert program.evaluate({"xs": list(range(10))}) is True


def test_budget_is_per_evaluation():
    program = cel.compile("xs.all(x, true)", runtime_budget=50)
    for _ in range(5):
        assert program.evaluate({"xs": list(range(40))}) is True


@pytest.mark.parametrize("backend", ["interp", "compiled"])
def test_evaluate_returns_plain_python(backend):
    program = cel.compile("{'i': 1, 'u': 2u, 'd': 1.5, 's': 'x', 'b': b'y', 'n': null, "
                          "'l': [true], 'm': {'k': v}}", backend=backend)
    result = program.evaluate({"v": [1]})
    assert result == {"i": 1, "u": 2, "d": 1.5, "s": "x", "b": b"y", "n": None,
                      "l": [True], "m": {"k": [1]}}
    assert type(result["u"]) is CelUint and type(result["i"]) is int


@pytest.mark.parametrize("backend", ["interp", "compiled"])
def test_runtime_errors_are_cel_errors_with_spans(backend):
    program = cel.compile("a.b + 1", backend=backend, file="f.rules", line=3, column=4)
    with pytest.raises(CelError) as caught:
        program.evaluate({"a": {"b": "x"}})
    err = caught.value
    assert err.code == "POLC230" and err.span.file == "f.rules" and err.span.line == 3
    assert err.exit_code == 1 and err.diagnostic.code == "POLC230"


def test_compile_errors_are_cel_errors():
    for expr, code in (("1 +", "POLC200"), ("x.y", "POLC210")):
        with pytest.raises(CelError) as caught:
            cel.compile(expr, {})
        assert caught.value.code == code
    assert cel.CelError("POLC200", "x").exit_code == 3


def test_bad_backend_is_refused():
    with pytest.raises(ValueError):
        cel.compile("1", backend="jit")


def test_evaluate_without_bindings():
    assert cel.compile("1 + 1").evaluate() == 2
    assert cel.compile("1 + 1", backend="interp").evaluate() == 2


def test_import_is_cheap():
    code = ("import sys, compiler.cel, compiler.cel.program, compiler.cel.codegen, "
            "compiler.cel.checker, compiler.cel.interp; "
            "print(sorted(m for m in ('lark', 'jsonschema', 'jinja2', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_doctests_of_the_package():
    import doctest
    import importlib
    modules = ["ast", "checker", "codegen", "cost", "errors", "functions", "interp", "literals",
               "parser", "program", "regex", "semantics", "timeutil", "types", "values", "rt",
               "containers", "codegen_fast", "codegen_generic", "syntax_errors"]
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for name in modules:
        module = importlib.import_module(f"compiler.cel.{name}")
        failures, _ = doctest.testmod(module, optionflags=flags)
        assert failures == 0, name


def test_expected_result_type_option():
    with pytest.raises(CelError) as caught:
        cel.compile("x + 1", {"x": "int"}, expect="bool")
    assert caught.value.code == "POLC217"
    assert cel.compile("x > 1", {"x": "int"}, expect="bool").evaluate({"x": 2}) is True


@pytest.mark.parametrize("backend", ["interp", "compiled"])
def test_bad_bindings_are_cel_errors(backend):
    program = cel.compile("x == x", {"x": "list(dyn)"}, backend=backend)
    cyclic: list = []
    cyclic.append(cyclic)
    for bindings in ([("x", 1)], "x", 3):
        with pytest.raises(CelError) as caught:
            program.evaluate(bindings)
        assert caught.value.code == "POLC230"
    with pytest.raises(CelError) as caught:
        program.evaluate({"x": cyclic})
    assert caught.value.code == "POLC230"
    from types import MappingProxyType
    assert program.evaluate(MappingProxyType({"x": [1]})) is True
    with pytest.raises(CelError):  # a value CEL has no type for (a set)
        cel.compile("x == x", backend=backend).evaluate({"x": {1, 2}})


def test_compile_and_evaluate_from_many_threads():
    import threading
    errors, results = [], []
    decls = {"m": "map(string, double)", "l": "list(string)"}

    def work(i):
        try:
            for backend in ("compiled", "interp"):
                program = cel.compile(f"m.p95 <= {i}.0 && l.exists(x, x.startsWith('a'))",
                                      decls, backend=backend, name=f"t{i}")
                for j in range(20):
                    results.append(program.evaluate({"m": {"p95": float(j)}, "l": ["b", "a"]})
                                   == (j <= i))
        except Exception as err:  # any exception in a thread fails the test below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 8 * 2 * 20 and all(results)

"""The CEL parser: precedence, literals, spans, macros and every kind of bad input."""

from __future__ import annotations

import pytest

from compiler.cel import CelError, CelUint, ast, parse
from compiler.cel.parser import MAX_DEPTH, MAX_EXPR_CHARS


def shape(node):
    """A compact structural rendering for precedence tests."""
    if isinstance(node, ast.Binary):
        return f"({shape(node.left)} {node.op} {shape(node.right)})"
    if isinstance(node, ast.Unary):
        return f"{node.op}{shape(node.operand)}"
    if isinstance(node, ast.Conditional):
        return f"({shape(node.cond)} ? {shape(node.then)} : {shape(node.otherwise)})"
    if isinstance(node, ast.Select):
        return f"{shape(node.operand)}.{node.field}"
    if isinstance(node, ast.Index):
        return f"{shape(node.operand)}[{shape(node.index)}]"
    if isinstance(node, ast.Ident):
        return node.name
    if isinstance(node, ast.Literal):
        return repr(node.value)
    if isinstance(node, ast.Call):
        target = f"{shape(node.target)}." if node.target is not None else ""
        return f"{target}{node.function}({', '.join(shape(a) for a in node.args)})"
    return type(node).__name__


@pytest.mark.parametrize("text, expected", [
    ("a || b && c", "(a || (b && c))"),
    ("a && b || c", "((a && b) || c)"),
    ("a || b ? c : d", "((a || b) ? c : d)"),
    ("a ? b : c ? d : e", "(a ? b : (c ? d : e))"),
    ("1 + 2 * 3", "(1 + (2 * 3))"),
    ("1 - 2 - 3", "((1 - 2) - 3)"),
    ("a < b == c", "((a < b) == c)"),
    ("x in l && y", "((x in l) && y)"),
    ("!a.b", "!a.b"),
    ("-x[1]", "-x[1]"),
    ("!!a", "!!a"),
    ("a.b.c(1)[2]", "a.b.c(1)[2]"),
    ("-5 * 2", "(-5 * 2)"),
    ("(1 + 2) * 3", "((1 + 2) * 3)"),
    ("a % b / c", "((a % b) / c)"),
])
def test_precedence(text, expected):
    assert shape(parse(text)) == expected


@pytest.mark.parametrize("text, value", [
    ("0", 0), ("0x1F", 31), ("0X1f", 31), ("7u", CelUint(7)), ("0x10U", CelUint(16)),
    ("1.5", 1.5), ("1e3", 1000.0), (".5", 0.5), ("2.5E-1", 0.25), ("-9223372036854775808", -2**63),
    ("18446744073709551615u", CelUint(2**64 - 1)),
    ("'a'", "a"), ('"a"', "a"), ("'''x\ny'''", "x\ny"), ('"""q"u"""', 'q"u'),
    (r"r'\d'", r"\d"), (r'R"\n"', r"\n"), (r"'\x41\101\u00e9\U0001F431'", "AAé🐱"),
    (r"'\a\b\f\n\r\t\v\\\'\"\`\?'", "\a\b\f\n\r\t\v\\'\"`?"),
    (r"b'\xff\377'", b"\xff\xff"), ("b'ÿ'", "ÿ".encode()), (r"br'\x'", b"\\x"),
    (r"rb'\x'", b"\\x"), ("true", True), ("false", False), ("null", None),
])
def test_literals(text, value):
    node = parse(text)
    assert isinstance(node, ast.Literal)
    assert node.value == value and type(node.value) is type(value)


def test_spans_are_file_positions():
    node = parse("a +\n  bc.d", file="rules/x.rules", line=10, column=7)
    assert (node.span.file, node.span.line, node.span.column) == ("rules/x.rules", 10, 7)
    assert (node.left.span.line, node.left.span.column, node.left.span.end_column) == (10, 7, 8)
    select = node.right
    # second line: columns are not shifted by the start column
    assert (select.span.line, select.span.column, select.span.end_line, select.span.end_column) \
        == (11, 3, 11, 7)
    assert (select.operand.span.column, select.operand.span.end_column) == (3, 5)


def test_every_node_has_a_span():
    root = parse("[1, {'a': x.y}].exists(v, has(v.a) ? v.a[0] : -size(v)) || f(1) in [true]")
    for node in ast.walk(root):
        assert node.span.file == "<expr>" and node.span.line == 1 and node.span.column >= 1


def test_macros_expand():
    node = parse("xs.map(x, x > 0, x * 2)")
    assert isinstance(node, ast.Comprehension)
    assert (node.kind, node.var, shape(node.guard), shape(node.step)) == \
        ("map", "x", "(x > 0)", "(x * 2)")
    for kind in ("all", "exists", "exists_one", "filter"):
        assert parse(f"xs.{kind}(x, x)").kind == kind
    has = parse("has(a.b.c)")
    assert isinstance(has, ast.Has) and has.field == "c" and shape(has.operand) == "a.b"
    assert parse("a.`b-c`").field == "b-c"
    assert isinstance(parse("f(1)"), ast.Call) and parse(".f(1)").function == ".f"


@pytest.mark.parametrize("text, code, fragment", [
    ("1 +", "POLC200", "ends too early"),
    ("(1 + 2", "POLC200", "never closed"),
    ("[1, 2", "POLC200", "`]`"),
    ("{1: 2", "POLC200", "`}`"),
    ("a b", "POLC200", "operator between"),
    ("a and b", "POLC200", "`&&`"),
    ("a = 1", "POLC200", "`==`"),
    ("a & b", "POLC200", "`&&`"),
    ("'abc", "POLC201", "unterminated"),
    ('"abc\n"', "POLC201", "unterminated"),
    ("a # b", "POLC200", "unexpected character"),
    ("9223372036854775808", "POLC202", "out of range"),
    ("18446744073709551616u", "POLC202", "out of range"),
    (r"'\q'", "POLC202", "invalid escape"),
    (r"'\ud800'", "POLC202", "code point"),
    ("if", "POLC204", "reserved"),
    ("while(1)", "POLC204", "reserved"),
    ("Msg{a: 1}", "POLC205", "message construction"),
    ("has(a)", "POLC206", "has()"),
    ("l.all(x)", "POLC206", "2 arguments"),
    ("l.map(x, y, z, w)", "POLC206", "2 or 3"),
    ("l.exists(1, true)", "POLC206", "variable name"),
    ("", "POLC200", "ends too early"),
])
def test_syntax_errors(text, code, fragment):
    with pytest.raises(CelError) as caught:
        parse(text, file="g.rules", line=4, column=3)
    err = caught.value
    assert err.code == code, err
    assert fragment in str(err)
    assert err.span is not None and err.span.file == "g.rules" and err.span.line >= 4


def test_error_position_points_at_the_problem():
    with pytest.raises(CelError) as caught:
        parse("a && )", line=2, column=5)
    assert (caught.value.span.line, caught.value.span.column) == (2, 10)


def test_parentheses_up_to_the_limit_parse():
    assert parse("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH).value == 1


@pytest.mark.parametrize("text", [
    "(" * 10_000 + "1" + ")" * 10_000,
    "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
    "!" * 10_000 + "true",
    "-" * 10_000 + "1",
    "[" * 10_000 + "]" * 10_000,
    "+".join(["1"] * 10_000),
    "a" + ".b" * 10_000,
    "f(" * 5_000 + ")" * 5_000,
    "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
])
def test_deep_nesting_is_a_diagnostic(text):
    with pytest.raises(CelError) as caught:
        parse(text)
    assert caught.value.code == "POLC203"


def test_depth_limit_boundary():
    ok = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert ast.depth(parse(ok)) == MAX_DEPTH - 1


def test_huge_and_invalid_text():
    with pytest.raises(CelError) as caught:
        parse("'" + "a" * 1_000_000 + "'")
    assert caught.value.code == "POLC203" and f"{MAX_EXPR_CHARS:,}" in str(caught.value)
    with pytest.raises(CelError) as caught:
        parse(b"'a\xff'")
    assert caught.value.code == "POLC202"
    with pytest.raises(CelError) as caught:
        parse("'\udcff'")
    assert caught.value.code == "POLC202"
    big = "'" + "a" * (MAX_EXPR_CHARS - 2) + "'"
    assert len(parse(big).value) == MAX_EXPR_CHARS - 2


def test_non_text_is_refused():
    for value in (None, 12, ["a"]):
        with pytest.raises(CelError) as caught:
            parse(value)
        assert caught.value.code == "POLC200"


def test_utf8_bytes_are_accepted():
    assert parse("'é' + x".encode()).left.value == "é"


def test_comments_and_whitespace():
    assert shape(parse("a // comment\n && b")) == "(a && b)"


def test_grammar_can_be_embedded_in_a_host_grammar():
    """The recipe in docs/cel.md for the .rules language: %import + merge_transformers."""
    from lark import Lark, Transformer
    from lark.visitors import merge_transformers

    from compiler.cel.parser import GRAMMAR_PATH, CelTransformer, finish
    host = r'''
        start: rule+
        rule: "gate" NAME "when" cel_expr ";"
        NAME: /[a-z]+/
        %import cel.expr -> cel_expr
        %import common.WS
        %ignore WS
    '''

    class Host(Transformer):
        def rule(self, children):
            return str(children[0]), finish(children[1])

        def start(self, children):
            return children

    transformer = merge_transformers(Host(), cel=CelTransformer("x.rules"))
    parser = Lark(host, parser="lalr", transformer=transformer, maybe_placeholders=True,
                  import_paths=[str(GRAMMAR_PATH.parent)])
    rules = parser.parse("gate a when x.y > 1u && [1].exists(v, v == 1);\ngate b when !z;")
    assert [name for name, _ in rules] == ["a", "b"]
    assert shape(rules[0][1].left) == "(x.y > 1u)"
    assert (rules[1][1].span.file, rules[1][1].span.line, rules[1][1].span.column) == \
        ("x.rules", 2, 13)

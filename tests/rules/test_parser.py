"""The .rules front end: spans on every node, and a diagnostic (never a traceback) for bad input."""

from __future__ import annotations

import pytest

from compiler.cel import ast as cel
from compiler.errors import InputError
from compiler.rules.parser import parse_rules

GATE = '''import "stdlib/promotion.rules"

// a gate
gate reflex_fast {
  input metrics: map(string, double)
  let limit = params.p95_latency_ms
  require metrics.p95_latency_ms <= limit
    message "p95 {metrics.p95_latency_ms} ms is above {limit} ms"
}

drift DR_X WARN {
  when new.capture.mode != old.capture.mode
}
'''


def test_every_declaration_and_expression_has_its_span():
    f = parse_rules(GATE, "r.rules")
    assert [str(i.span) for i in f.imports] == ["r.rules:1:1"]
    gate = f.gates[0]
    assert (gate.name, str(gate.span), str(gate.name_span)) == ("reflex_fast", "r.rules:4:1", "r.rules:4:6")
    assert (gate.span.end_line, gate.span.end_column) == (9, 2)
    assert str(gate.inputs[0].type) == "map(string, double)"
    assert str(gate.inputs[0].type.span) == "r.rules:5:18"
    let = gate.lets[0]
    assert (let.name, let.expr.text, str(let.expr.span)) == ("limit", "params.p95_latency_ms", "r.rules:6:15")
    req = gate.requires[0]
    assert req.text == "metrics.p95_latency_ms <= limit"
    assert str(req.expr.span) == "r.rules:7:11"
    # CEL nodes carry file positions too
    assert isinstance(req.expr.node, cel.Binary) and str(req.expr.node.right.span) == "r.rules:7:37"
    parts = req.message.interpolations
    assert [(p.expr.text, str(p.expr.span)) for p in parts] == [
        ("metrics.p95_latency_ms", "r.rules:8:19"), ("limit", "r.rules:8:56")]
    drift = f.drifts[0]
    assert (drift.rule_id, drift.severity, str(drift.severity_span)) == ("DR_X", "WARN", "r.rules:11:12")
    assert drift.message is None and drift.when.text == "new.capture.mode != old.capture.mode"


def test_multiline_and_parenthesized_expressions_keep_their_exact_text():
    f = parse_rules('gate g {\n  require (a ||\n     b) && (c)\n}\n', "m.rules")
    expr = f.gates[0].requires[0].expr
    assert expr.text == "(a ||\n     b) && (c)"
    assert (expr.span.line, expr.span.column, expr.span.end_line, expr.span.end_column) == (2, 11, 3, 15)


def test_message_braces_and_escapes():
    f = parse_rules('gate g { require x message "a {{literal}} \\"q\\" {x}" }', "m.rules")
    parts = f.gates[0].requires[0].message.parts
    assert parts[0] == 'a {literal} "q" ' and parts[1].expr.text == "x"


def test_object_input_types():
    f = parse_rules("gate g { input m: {p95: double, tags: list(string)} require m.p95 > 0.0 }", "o.rules")
    assert str(f.gates[0].inputs[0].type) == "{p95: double, tags: list(string)}"


def _diag(text: str):
    with pytest.raises(InputError) as info:
        parse_rules(text, "bad.rules")
    return info.value.diagnostics[0]


@pytest.mark.parametrize("text, code, where, hint", [
    ('gate g { require x message "abc }', "POLC251", "bad.rules:1:28", "close it"),
    ('gate g {\n  require x > 1\n', "POLC252", "bad.rules:2:16", "never closed"),
    ('gate g { require x.all(y) }', "POLC206", "bad.rules:1:18", "list.all(x, predicate)"),
    ('gate g { require x and y }', "POLC250", "bad.rules:1:20", "`&&`"),
    ('gate g { x > 1 }', "POLC250", "bad.rules:1:10", "a gate body holds"),
    ('drift D { when x }', "POLC250", "bad.rules:1:9", "drift RULE_ID"),
    ('gate g { require }', "POLC250", "bad.rules:1:18", "need an expression"),
    ('gate g { require x message y }', "POLC250", "bad.rules:1:28", "double-quoted"),
    ('gates g { }', "POLC250", "bad.rules:1:1", "a file holds"),
    ('gate g { require for > 1 }', "POLC204", "bad.rules:1:18", "another name"),
    ('gate g { require x message "{x" }', "POLC253", "bad.rules:1:29", "close the interpolation"),
    ('gate g { require x # y }', "POLC250", "bad.rules:1:20", "`//`"),
])
def test_syntax_errors_say_what_was_expected_and_where(text, code, where, hint):
    d = _diag(text)
    assert (d.code, d.location()) == (code, where)
    assert hint in (d.hint or ""), d


def test_deep_nesting_is_a_diagnostic_not_a_recursion_error():
    d = _diag("gate g { require " + "[" * 10_000 + "x" + "]" * 10_000 + " }")  # refused before parsing
    assert d.code == "POLC203" and "more than 200 levels" in d.message and d.location() == "bad.rules:1:218"
    d = _diag("gate g { require " + "[" * 150 + "x" + "]" * 150 + " }")  # parsed: the tree's own limit
    assert d.code == "POLC203" and "151 levels" in d.message
    d = _diag("gate g { require " + "!" * 10_000 + "x }")
    assert d.code == "POLC203"
    d = _diag("gate g { require " + "(" * 10_000 + "x" + ")" * 10_000 + " }")
    assert d.code == "POLC203" and d.location().startswith("bad.rules:1:")


def test_one_megabyte_string_literal_is_refused_with_a_span():
    d = _diag('gate g { require "' + "a" * 1_000_000 + '" == x }')
    assert d.code == "POLC203" and d.location() == "bad.rules:1:18" and "1,000,007 characters" in d.message


def test_size_limits_are_checked_before_parsing_and_refuse_only_what_the_parser_would():
    from compiler.rules.limits import MAX_EXPR_CHARS, check_limits

    comment = "// " + "c" * 200 + "\n"
    legal = "gate g {\n  require x > 0\n" + comment * 1_000 + "  require '" + "s" * (MAX_EXPR_CHARS - 20) + "' != x\n}\n"
    assert check_limits(legal, "ok.rules") == []  # long comments between expressions are not expressions
    assert len(parse_rules(legal, "ok.rules").gates[0].requires) == 2
    nested = "gate g {\n  require " + "size([" * 60 + "1" + "])" * 60 + " > 0\n}\n"
    assert check_limits(nested, "ok.rules") == []  # 120 brackets of a 61-level tree: the parser decides
    d = _diag('gate g {\n  require x\n  message "' + "{" + "1 + " * 30_000 + "1}" + '"\n}\n')
    assert d.code == "POLC203" and "the limit is 100,000" in d.message  # an interpolation: the engine's own check

"""Friendly syntax errors for ``.rules`` files: what was found, what was expected, a hint.

Lark's ``match_examples`` classifies an error by the parser state it failed in, against the
catalogue of common mistakes below (a missing brace, a condition without an expression, ...).

>>> from compiler.rules.parser import parse_rules
>>> from compiler.errors import InputError
>>> try:
...     parse_rules('gate g {\\n  require x > 1\\n', "g.rules")
... except InputError as e:
...     print(e.diagnostics[0].code, e.diagnostics[0].location(), e.diagnostics[0].hint)
POLC252 g.rules:2:16 a `{` block is never closed; add `}` after its last statement
"""

from __future__ import annotations

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from ..diagnostics import Diagnostic, Span

#: Broken examples per mistake (hint text -> examples); lark matches parser states to these.
EXAMPLES = {
    "a `{` block is never closed; add `}` after its last statement": [
        "gate g {", "gate g { require x", "drift D BLOCK { when x", "gate g { require x message \"m\"",
        "gate g { let a = 1"],
    "a gate body holds `input NAME: TYPE`, `let NAME = EXPR` and `require EXPR [message \"...\"]`": [
        "gate g { x }", "gate g { when x }", "gate g { message \"m\" }", "gate g { x > 1 }"],
    "a drift rule is `drift RULE_ID INFO|WARN|BLOCK { when EXPR message \"...\" }`": [
        "drift D { when x }", "drift D BLOCK { require x }", "drift D BLOCK { }", "drift { }",
        "drift D BLOCK when x"],
    "a declaration needs a name and a `{`: `gate NAME { ... }`": ["gate { }", "gate g require x", "gate"],
    "`require`, `when` and `let` need an expression after them": [
        "gate g { require }", "gate g { require message \"m\" }", "drift D BLOCK { when }",
        "gate g { let a = }", "gate g { let a }"],
    "`message` needs a double-quoted string: message \"...\"": [
        "gate g { require x message }", "gate g { require x message y }",
        "gate g { require x message 'm' }"],
    "an input is declared as `input NAME: TYPE`, for example `input metrics: map(string, double)`": [
        "gate g { input metrics }", "gate g { input : double }", "gate g { input m: }",
        "gate g { input m: map(string }"],
    "a file holds `import \"path.rules\"`, `const NAME = EXPR`, `gate` and `drift` declarations": [
        "x", "require x", "gates g { }", "rule r { }", "import x", "}"],
}

_NAMES = {
    "CEL_RBRACE": "`}`", "CEL_LBRACE": "`{`", "CEL_LPAR": "`(`", "CEL_RPAR": "`)`", "COMMA": "`,`", "COLON": "`:`",
    "EQUALS": "`=`", "NAME": "a name", "PATH_STRING": "a quoted path", "MESSAGE_STRING": "a quoted message",
    "KW_IMPORT": "`import`", "KW_CONST": "`const`", "KW_GATE": "`gate`", "KW_DRIFT": "`drift`",
    "KW_INPUT": "`input`", "KW_LET": "`let`", "KW_REQUIRE": "`require`", "KW_WHEN": "`when`",
    "KW_MESSAGE": "`message`", "$END": "the end of the file",
}
_CEL_NAMES = {"IDENT": "a name", "INT": "a number", "UINT": "a number", "DOUBLE": "a number",
              "STRING": "a string", "RPAR": "`)`", "RBRACKET": "`]`", "RBRACE": "`}`", "LPAR": "`(`",
              "LBRACKET": "`[`", "LBRACE": "`{`", "NOT": "`!`", "MINUS": "`-`", "DOT": "`.`",
              "TRUE": "`true`", "FALSE": "`false`", "NULL": "`null`", "REL_OP": "a comparison",
              "AND": "`&&`", "OR": "`||`", "IN": "`in`", "PLUS": "`+`", "STAR": "`*`", "SLASH": "`/`",
              "PERCENT": "`%`", "QUESTION": "`?`", "QUOTED_IDENT": "a `quoted` field"}
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}

def describe(err: UnexpectedInput, text: str, file: str) -> Diagnostic:
    """One diagnostic for a lark error: POLC251 for an unterminated string, else POLC250/252."""
    span = _span(err, text, file)
    if isinstance(err, UnexpectedCharacters):
        return _bad_character(err, text, span)
    token = getattr(err, "token", None)
    at_end = isinstance(err, UnexpectedEOF) or token is None or token.type == "$END"
    found = f"`{_short(str(token))}`"
    if str(token) in _WORD_OPERATORS:
        return Diagnostic.error("POLC250", f"unexpected `{token}`", span,
                                hint=f"CEL writes `{token}` as `{_WORD_OPERATORS[str(token)]}`")
    hint = _classify(err)
    code = "POLC252" if hint and hint.startswith("a `{` block") else "POLC250"
    if at_end and "CEL_RBRACE" in _expected_names(err):
        code, hint = "POLC252", hint or "a `{` block is never closed; add `}` after its last statement"
    if at_end:
        return Diagnostic.error(code, f"the file ends too early; expected {_expected(err)}", span, hint=hint)
    return Diagnostic.error(code, f"unexpected {found}; expected {_expected(err)}", span, hint=hint)


def _bad_character(err: UnexpectedCharacters, text: str, span: Span) -> Diagnostic:
    char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
    if char in "\"'":
        return Diagnostic.error("POLC251", "unterminated string", span,
                                hint=f"close it with {char} on the same line (a message is one line)")
    if char == "=":
        return Diagnostic.error("POLC250", "unexpected `=`", span, hint="compare with `==`")
    if char in "&|":
        return Diagnostic.error("POLC250", f"unexpected `{char}`", span, hint=f"use `{char * 2}`")
    if char == "#":
        return Diagnostic.error("POLC250", "unexpected `#`", span, hint="comments start with `//`")
    shown = char if char.isprintable() else f"U+{ord(char):04X}" if char else "?"
    return Diagnostic.error("POLC250", f"unexpected character `{shown}`", span,
                            hint="see docs/rules-language.md for the syntax")


def _expected_names(err: UnexpectedInput) -> set[str]:
    return set(getattr(err, "accepts", None) or getattr(err, "expected", None) or ())


def _expected(err: UnexpectedInput) -> str:
    shown = sorted({_name(n) for n in _expected_names(err) if not n.startswith("__")})
    if not shown:
        return "more input"
    if len(shown) > 8:
        return "an expression or a statement"
    return shown[0] if len(shown) == 1 else "one of " + ", ".join(shown)


def _name(terminal: str) -> str:
    if terminal.startswith("cel__CEL_"):
        return _CEL_NAMES.get(terminal[len("cel__CEL_"):], terminal.lower())
    return _NAMES.get(terminal, terminal.lower())


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _classify(err: UnexpectedInput) -> str | None:
    # lark compares parser states by identity of the parse table, so the examples must go
    # through the same parser that failed; the caller re-arms its transformers afterwards.
    from .parser import _parser

    lark, rules, _cel = _parser()
    try:
        rules.reset("<example>", "")
        return err.match_examples(lambda text: lark.parse(text, start="start"), EXAMPLES, use_accepts=True)
    except Exception:  # classification is a nicety; the error itself must still be reported
        return None


def _span(err: UnexpectedInput, text: str, file: str) -> Span:
    token = getattr(err, "token", None)
    if isinstance(err, UnexpectedEOF) or (token is not None and token.type == "$END"):
        stripped = text.rstrip()  # point just after the last thing written: where `}` goes
        line = stripped.count("\n") + 1
        column = len(stripped) - (stripped.rfind("\n") + 1) + 1
        return Span(file, line, column, line, column + 1)
    line, column = getattr(err, "line", None), getattr(err, "column", None)
    if not isinstance(line, int) or line < 1:  # at the end of input lark gives -1
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    token = getattr(err, "token", None)
    width = len(str(token)) if token is not None and getattr(token, "type", "") != "$END" else 1
    return Span(file, line, column, line, column + max(1, min(width, 200)))

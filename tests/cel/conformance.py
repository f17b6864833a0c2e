"""The CEL conformance suite (google/cel-spec ``tests/simple/testdata``) as polc test cases.

Each ``test`` of a ``.textproto`` file becomes a :class:`Case`: the expression, its bindings
as plain Python values, its type environment in polc's declaration language, and the
expected value or error. Cases that need protobuf message types are marked skipped with
the reason.

    >>> cases = load_cases()
    >>> len(cases)
    876
    >>> run_case(next(c for c in cases if c.address == "basic/functions/binop"), "interp")
    ('passed', '')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from compiler.cel import CelError, CelUint
from compiler.cel.values import CelType
from tests.cel.textproto import Msg, Scalar, parse_textproto

CONFORMANCE_DIR = Path(__file__).with_name("conformance")
FILES = ("basic", "comparisons", "conversions", "fields", "fp_math", "integer_math", "lists",
         "logic", "macros", "string")
_PROTO_MARKERS = ("TestAllTypes", "google.protobuf.", "cel.expr.conformance", "object_value",
                  "message_type")
_PRIMITIVES = {"INT64": "int", "UINT64": "uint", "DOUBLE": "double", "STRING": "string",
               "BYTES": "bytes", "BOOL": "bool"}


@dataclass
class Case:
    file: str
    section: str
    name: str
    expr: str
    bindings: dict = field(default_factory=dict)
    declarations: dict | None = None     # None: checking disabled
    expect_error: bool = False
    expected: object = True
    skip: str | None = None

    @property
    def address(self) -> str:
        return f"{self.file}/{self.section}/{self.name}"


def load_cases(directory: Path = CONFORMANCE_DIR) -> list[Case]:
    cases = []
    for name in FILES:
        text = (directory / f"{name}.textproto").read_text(encoding="utf-8")
        root = parse_textproto(text)
        for section in root.all("section"):
            for test in section.all("test"):
                cases.append(_case(name, _text(section.get("name")), test))
    return cases


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value.text)


def _case(file: str, section: str, test: Msg) -> Case:
    case = Case(file, section, _text(test.get("name")), _text(test.get("expr")))
    case.skip = _skip_reason(test)
    if case.skip:
        return case
    case.bindings = {_text(b.get("key")): to_value(b.get("value").get("value"))
                     for b in test.all("bindings")}
    if not _flag(test, "disable_check"):
        case.declarations = {_text(d.get("name")): to_decl(d.get("ident").get("type"))
                             for d in test.all("type_env")}
    if test.has("eval_error") or test.has("any_eval_errors"):
        case.expect_error = True
    elif test.has("value"):
        case.expected = to_value(test.get("value"))
    return case


def _flag(test: Msg, name: str) -> bool:
    value = test.get(name)
    return isinstance(value, Scalar) and value.text == "true"


def _skip_reason(test: Msg) -> str | None:
    if test.has("container"):
        return "needs protobuf message types (container: name resolution)"
    rendered = repr(test)
    for marker in _PROTO_MARKERS:
        if marker in rendered:
            return f"needs protobuf message types ({marker.rstrip('.')})"
    return None


def to_value(msg: Msg):
    """A ``cel.expr.Value`` message as a plain Python CEL value."""
    (kind, raw), = msg.fields
    if kind == "int64_value":
        return int(raw.text)
    if kind == "uint64_value":
        return CelUint(int(raw.text))
    if kind == "double_value":
        return float(raw.text.rstrip("fF")) if raw.text.lower().lstrip("-") not in (
            "inf", "infinity", "nan") else float(raw.text)
    if kind == "string_value":
        return raw.decode("utf-8")
    if kind == "bytes_value":
        return raw
    if kind == "bool_value":
        return raw.text == "true"
    if kind == "null_value":
        return None
    if kind == "list_value":
        return [to_value(v) for v in raw.all("values")]
    if kind == "map_value":
        return {to_value(e.get("key")): to_value(e.get("value")) for e in raw.all("entries")}
    if kind == "type_value":
        return CelType(raw.decode("utf-8"))
    raise ValueError(f"unsupported value kind {kind}")


def to_decl(msg: Msg) -> str:
    """A ``cel.expr.Type`` message in polc's declaration language (``map(string, int)``)."""
    (kind, raw), = msg.fields
    if kind == "primitive":
        return _PRIMITIVES[raw.text]
    if kind == "list_type":
        return f"list({to_decl(raw.get('elem_type'))})"
    if kind == "map_type":
        return f"map({to_decl(raw.get('key_type'))}, {to_decl(raw.get('value_type'))})"
    if kind in ("dyn", "null"):
        return "dyn" if kind == "dyn" else "null_type"
    raise ValueError(f"unsupported type kind {kind}")


def same_value(a, b) -> bool:
    """Strict equality for expectations: CEL types must match (1 and 1u differ), NaN == NaN,
    and -0.0 differs from 0.0."""
    from compiler.cel.semantics import type_name
    if type_name(a) != type_name(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                     math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            any(same_value(k, k2) and same_value(v, b[k2]) for k2 in b) for k, v in a.items())
    return a == b


def run_case(case: Case, backend: str, **options) -> tuple[str, str]:
    """('passed' | 'failed' | 'skipped', detail)."""
    import compiler.cel as cel
    if case.skip:
        return "skipped", case.skip
    try:
        program = cel.compile(case.expr, case.declarations, backend=backend, **options)
        value = program.evaluate(case.bindings)
    except CelError as err:
        if case.expect_error:
            return "passed", ""
        return "failed", f"unexpected error: {err}"
    if case.expect_error:
        return "failed", f"expected an error, got {value!r}"
    if not same_value(value, case.expected):
        return "failed", f"expected {case.expected!r}, got {value!r}"
    return "passed", ""

"""The catalogue of diagnostic codes: stable, documented (docs/diagnostics.md is generated
from this table by ``python -m compiler.docgen``), each with the exit class it implies.

``input`` codes mean the input could not be read or parsed as what it claims to be (exit 3);
every other error-level code is a policy finding (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    title: str
    input: bool = False  # True: the input could not be read/parsed (exit 3)


def _table(*codes: Code) -> dict[str, Code]:
    return {c.code: c for c in codes}


CODES: dict[str, Code] = _table(
    # --- POLC0xx: the project file, reading files -------------------------------------------
    Code("POLC000", "more diagnostics were found than are shown"),
    Code("POLC001", "no policy.toml found", input=True),
    Code("POLC002", "a file could not be read (missing, a directory, unreadable)", input=True),
    Code("POLC003", "a file is not valid UTF-8", input=True),
    Code("POLC004", "a file is larger than the limit polc reads", input=True),
    Code("POLC005", "a path points outside the project tree", input=True),
    Code("POLC006", "invalid TOML syntax", input=True),
    Code("POLC007", "a file is empty", input=True),
    Code("POLC010", "policy.toml: unknown key"),
    Code("POLC011", "policy.toml: wrong type or value"),
    Code("POLC012", "a required documentation file is missing (doc contract, spec 001 977-A5)"),
    Code("POLC020", "the output directory cannot be written", input=True),
    Code("POLC021", "an existing bundle does not match its content hash"),
    # --- POLC1xx: model_policy.toml ---------------------------------------------------------
    Code("POLC100", "model_policy.toml does not match its schema"),
    Code("POLC101", "wrong type"),
    Code("POLC102", "unknown key"),
    Code("POLC103", "a required key is missing"),
    Code("POLC104", "value not allowed (enum)"),
    Code("POLC110", "empty model list for a role"),
    Code("POLC111", "model listed twice for a role"),
    Code("POLC120", "budget is not positive"),
    Code("POLC121", "cost warn_threshold is above hard_limit"),
    Code("POLC130", "malformed endpoint URL"),
    Code("POLC140", "reference to an undefined role or stage"),
    Code("POLC150", "number cannot be represented canonically (NaN, Infinity, beyond ±2^53)"),
    Code("POLC160", "a gate parameter table is empty or malformed"),
    # --- POLC2xx: .rules files and CEL expressions (gate/rule language) ---------------------
    # POLC200-249: CEL expressions (compiler/cel). Syntax-level codes are input codes (exit 3).
    Code("POLC200", "CEL syntax error", input=True),
    Code("POLC201", "CEL: unterminated string literal", input=True),
    Code("POLC202", "CEL: invalid literal (escape, out of range number, bad UTF-8)", input=True),
    Code("POLC203", "CEL: expression nested too deeply or too large", input=True),
    Code("POLC204", "CEL: reserved word used as an identifier", input=True),
    Code("POLC205", "CEL: unsupported syntax (message construction)", input=True),
    Code("POLC206", "CEL: wrong macro arguments", input=True),
    Code("POLC210", "CEL: unknown identifier"),
    Code("POLC211", "CEL: unknown field"),
    Code("POLC212", "CEL: unknown function or no matching overload"),
    Code("POLC213", "CEL: operands of incompatible types"),
    Code("POLC214", "CEL: macro over a value that is not a list or map"),
    Code("POLC215", "CEL: wrong number of arguments"),
    Code("POLC216", "CEL: invalid type declaration"),
    Code("POLC217", "CEL: expression has the wrong result type"),
    Code("POLC220", "CEL: estimated cost is over the limit"),
    Code("POLC230", "CEL: evaluation error"),
    Code("POLC231", "CEL: runtime cost budget exceeded"),
    # --- POLC3xx: learning surfaces, weights, deltas, storage -------------------------------
    # --- POLC4xx: drift review --------------------------------------------------------------
    # --- POLC5xx: model_config, routing weights, prompts, optimizer metadata -----------------
    # --- POLC6xx: registry ------------------------------------------------------------------
    # --- POLC7xx: runtime -------------------------------------------------------------------
)


def is_input_code(code: str) -> bool:
    entry = CODES.get(code)
    return bool(entry and entry.input)


def exit_code_for(diagnostics: Iterable) -> int:
    """0 when no error; 3 when an input could not be read or parsed; else 1."""
    errors = [d for d in diagnostics if d.is_error]
    if not errors:
        return 0
    return 3 if any(is_input_code(d.code) for d in errors) else 1

"""Generators of the hostile inputs too big or too binary to keep as files.

Each returns the bytes or text of one file; ``tests/hostile/cases.py`` names them in its table
and ``benchmarks/bench_hostile.py`` uses the size generators for its growth figures.

>>> budgets_policy(3).count("stage_")
3
>>> npy(trailing=b"!!")[-2:]
b'!!'
"""

from __future__ import annotations

import io

# -- big but legal sources --------------------------------------------------------------------------

POLICY_HEAD = """[routing.cloud]
architect = ["model-a", "model-b"]

[capture]
mode = "prompts_only"

[budgets.cost]
warn_threshold = 5.0
hard_limit = 25.0

[gates.reflex_promotion]
p95_latency_ms = 2000
success_parity_percent = 85

[gates.local_memory_sunset]
retrieval_p95_parity = true
stability_days = 30
"""


def budgets_policy(entries: int) -> str:
    """A model_policy.toml with ``entries`` keys in [budgets.tokens] (500,000 is about 10 MB)."""
    lines = [POLICY_HEAD, "[budgets.tokens]"]
    lines += [f"stage_{i} = {1000 + i % 7000}" for i in range(entries)]
    return "\n".join(lines) + "\n"


def surface_features(features: int) -> str:
    """A surface YAML with ``features`` entries in feature_space."""
    lines = ["surface_version: policy_surface@v1", "feature_space:"]
    for i in range(features):
        lines += [f"  - name: f_{i}", "    transform: minmax", f"    bounds: [0, {i + 1}]"]
    return "\n".join(lines) + "\n"


SMALL_POLICY = POLICY_HEAD + "\n[budgets.tokens]\nplan = 8000\n"


def project_toml(*, surface: bool = False) -> str:
    return '[sources]\nmodel_policy = "model_policy.toml"\n' + ('surface = "surface.yaml"\n' if surface else "")


# -- hostile YAML -------------------------------------------------------------------------------------

SURFACE_HEAD = "surface_version: policy_surface@v1\nfeature_space:\n  - name: x\n    transform: identity\n"


def deep_flow_sequence(depth: int = 10_000) -> str:
    return SURFACE_HEAD + "extra: " + "[" * depth + "\n"


def deep_flow_mapping(depth: int = 10_000) -> str:
    return SURFACE_HEAD + "extra: " + "{a: " * depth + "\n"


def deep_block_mapping(depth: int = 2_000) -> str:
    lines = [SURFACE_HEAD.rstrip("\n"), "extra:"]
    lines += ["  " * (i + 1) + "k:" for i in range(depth)]
    return "\n".join(lines) + " 1\n"


def long_integer(digits: int = 5_000) -> str:
    return SURFACE_HEAD + "extra: " + "9" * digits + "\n"


def deep_toml_array(depth: int = 10_000) -> str:
    return SMALL_POLICY + "\n[gates.deep]\nvalue = " + "[" * depth + "\n"


def deep_json_array(depth: int = 100_000) -> str:
    """A JSON document of ``depth`` nested arrays (``polc diff`` refuses it, it does not recurse into it)."""
    return "[" * depth + "]" * depth + "\n"


def deep_json_object(depth: int = 100_000) -> str:
    return '{"a": ' * depth + "null" + "}" * depth + "\n"


# -- hostile .npy files ---------------------------------------------------------------------------------

def npy(values=(1.0, 2.0), *, header: bytes | None = None, trailing: bytes = b"", cut: int = 0) -> bytes:
    """A float64 .npy file; ``header`` replaces its header dict (padded to the same length),
    ``trailing`` is appended, ``cut`` bytes are removed from the end."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.array(values, dtype=np.float64), allow_pickle=False)
    data = buffer.getvalue()
    if header is not None:
        length = int.from_bytes(data[8:10], "little")
        body = header.ljust(length - 1) + b"\n"
        data = data[:8] + len(body).to_bytes(2, "little") + body + data[10 + length:]
    data += trailing
    return data[:len(data) - cut] if cut else data


def npy_truncated_header() -> bytes:
    return npy(header=b"{'descr': '<f8', 'fortran_ord")


def npy_huge_shape() -> bytes:
    return npy(header=b"{'descr': '<f8', 'fortran_order': False, 'shape': (9999999999999,), }")


def npy_object_dtype() -> bytes:
    return npy(header=b"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }")


def npy_negative_shape() -> bytes:
    return npy(header=b"{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }")


# -- CEL: big, deep and exponential expressions ------------------------------------------------------

def let_chain(length: int, start: str = "scorecard.exact_match") -> str:
    """A gate whose lets each use the one before twice (``let a3 = a2 + a2``): 2^length uses if
    lets were copied into their users instead of shared."""
    lets = "\n".join(f"  let a{i} = a{i - 1} + a{i - 1}" for i in range(1, length + 1))
    return (f"gate chain {{\n  input scorecard: {{exact_match: double, judge_pass_rate: double}}\n"
            f"  let a0 = {start}\n{lets}\n  require a{length} >= 0.0\n}}\n")


def long_expression_rules(chars: int = 1_200_000) -> str:
    """A gate with one expression of about ``chars`` characters (1.2 MB by default)."""
    return "gate long {\n  input m: {x: double}\n  require m.x < " + " + ".join(["1.0"] * (chars // 6)) + "\n}\n"


def deep_brackets_rules(depth: int = 10_000) -> str:
    return "gate deep {\n  input m: {x: double}\n  require size(" + "[" * depth + "m.x" + "]" * depth + ") > 0\n}\n"

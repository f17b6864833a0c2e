"""Mutation fuzzing of every source kind: whatever the bytes, polc answers with diagnostics.

Each example takes the base project of tests/hostile/fixtures/project, mutates one source
(model_policy.toml, policy.toml, the surface YAML, a .rules file, a prompt template, the
optimizer JSON, the .npy weights) with a few byte-level edits that hit parsers where they
break (brackets, quotes, dates, aliases, deep nesting by repetition, invalid UTF-8...), and
runs ``polc check``. It must end in diagnostics, never in an exception (the CLI's exit 70,
"internal error"), and within a time bound: in-process under a SIGALRM timer, or, for
``.rules`` (CEL checking is the kind most likely to hang), in a subprocess with a timeout.
The template kind also renders the mutated template through the runtime, within its budget.

CI runs a fixed, derandomized set of examples (seconds per kind). For a longer local run:
``pytest tests/hostile/test_fuzz.py --hypothesis-profile=long`` (tests/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from compiler.codes import CODES
from compiler.pipeline import last_check_stage, run_pipeline
from compiler.render import render

from ..conftest import REPO
from .test_cases import EPOCH, make_base

#: Seconds one in-process example may take before it counts as a hang.
IN_PROCESS_LIMIT = 20
SUBPROCESS_LIMIT = 60

LONG = settings.default.max_examples >= 1000  # --hypothesis-profile=long (tests/conftest.py)
# CI: no shrinking either (a mutation list is at most four edits, readable as it is, and shrinking
# a slow example can take minutes).
def fuzz(examples: int) -> settings:
    """``examples`` fixed examples in CI; the long profile's count, random, with shrinking, locally."""
    return settings(max_examples=settings.default.max_examples if LONG else examples, derandomize=not LONG,
                    database=settings.default.database if LONG else None, deadline=None,
                    phases=tuple(Phase) if LONG else (Phase.explicit, Phase.reuse, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: Fragments that break parsers: delimiters, quotes, TOML dates and times, YAML anchors and tags,
#: numbers at the edges, CEL and Jinja syntax, control bytes and invalid UTF-8.
TOKENS = [b"[", b"]", b"{", b"}", b"[[", b"]]", b'"', b"'", b'"""', b"'''", b"=", b":", b",", b".", b"\n", b"\t",
          b"#", b"\\", b"07:32:00", b"1979-05-27", b"1979-05-27T07:32:00Z", b"nan", b"-inf", b"true", b"NO",
          b"9" * 400, b"-9223372036854775809", b"1e999", b"&a", b"*a", b"<<: ", b"!!python/object:os.system ",
          b"!!binary ", b"---\n", b"? ", b"- ", b"{{", b"}}", b"{%", b"%}", b"{% for i in range(100000) %}",
          b"{% endfor %}", b"matches('(a+)+$')", b"&&", b"||", b"?", b"size(", b")", b"(", b"let a = ",
          b"\x00", b"\xff", b"\xc3", b"\xe2\x80\xae", "é".encode(), b"\r", b"\x93NUMPY", b"'shape': (", b"-1,"]

_mutation = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.one_of(st.sampled_from(TOKENS), st.binary(max_size=6))),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 64)),
    st.tuples(st.just("repeat"), st.integers(0, 1 << 20), st.integers(1, 24), st.integers(2, 3000)),
    st.tuples(st.just("byte"), st.integers(0, 1 << 20), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20)),
)
MUTATIONS = st.lists(_mutation, min_size=1, max_size=4)


def mutate(data: bytes, mutations) -> bytes:
    for m in mutations:
        at = m[1] % (len(data) + 1)
        if m[0] == "insert":
            data = data[:at] + m[2] + data[at:]
        elif m[0] == "delete":
            data = data[:at] + data[at + m[2]:]
        elif m[0] == "repeat":  # a slice repeated thousands of times: deep nesting, huge lines
            data = data[:at] + data[at:at + m[2]] * m[3] + data[at:]
        elif m[0] == "byte" and at < len(data):
            data = data[:at] + bytes([m[2]]) + data[at + 1:]
        elif m[0] == "truncate":
            data = data[:at]
    return data


class _Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    def expire(signum, frame):
        raise _Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def mutated_project(name: str, mutations):
    with tempfile.TemporaryDirectory(prefix="polc-fuzz-") as tmp:
        root = make_base(Path(tmp) / "project")
        path = root / name
        path.write_bytes(mutate(path.read_bytes(), mutations))
        yield root


def check_in_process(root: Path) -> None:
    """``polc check`` as the CLI runs it, plus the text rendering of what it found."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        with time_limit(IN_PROCESS_LIMIT):
            result = run_pipeline(root, until=last_check_stage())
            render(result.diagnostics, "text", root=root)
            render(result.diagnostics, "json")
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    unknown = sorted({d.code for d in result.diagnostics} - set(CODES))
    assert not unknown, f"diagnostic codes missing from compiler/codes.py: {unknown}"


IN_PROCESS_KINDS = {
    "model_policy": "model_policy.toml",
    "policy_toml": "policy.toml",
    "surface": "policy.surface.yaml",
    "optimizer": "optimizer/mipro-run.json",
    "npy": "weights.npy",
}


@pytest.mark.parametrize("kind", sorted(IN_PROCESS_KINDS))
def test_mutated_source_ends_in_diagnostics(kind):
    @fuzz(60)
    @given(MUTATIONS)
    def run(mutations):
        with mutated_project(IN_PROCESS_KINDS[kind], mutations) as root:
            check_in_process(root)

    run()


@fuzz(60)
@given(MUTATIONS)
def test_mutated_template_checks_and_renders_within_budget(mutations):
    from compiler.runtime.prompts import Prompt, PromptError

    with mutated_project("prompts/plan.j2", mutations) as root:
        check_in_process(root)
        text = (root / "prompts" / "plan.j2").read_bytes().decode("utf-8", errors="replace")
        prompt = Prompt("plan", text).with_limits(max_seconds=5.0)
        with time_limit(IN_PROCESS_LIMIT):
            try:
                prompt.render()
            except PromptError:
                pass  # a template that does not render says so, naming the prompt


@fuzz(12)  # a subprocess each: the slow kind
@given(MUTATIONS)
def test_mutated_rules_end_in_diagnostics(mutations):
    with mutated_project("gates.rules", mutations) as root:
        env = {**os.environ, "NO_COLOR": "1", "SOURCE_DATE_EPOCH": EPOCH, "PYTHONPATH": str(REPO)}
        try:
            done = subprocess.run([sys.executable, "-m", "compiler", "check"], cwd=root, env=env, capture_output=True,
                                  text=True, timeout=SUBPROCESS_LIMIT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pytest.fail(f"polc check did not answer within {SUBPROCESS_LIMIT} s on:\n"
                        + (root / "gates.rules").read_text(errors="replace")[:2000])
        output = done.stdout + done.stderr
        assert done.returncode in (0, 1, 3), output
        assert "Traceback" not in output and "internal error" not in output, output


def test_mutations_are_applied_as_described():
    assert mutate(b"abc", [("insert", 1, b"X")]) == b"aXbc"
    assert mutate(b"abcdef", [("delete", 1, 2)]) == b"adef"
    assert mutate(b"ab", [("repeat", 0, 1, 3)]) == b"aaaab"
    assert mutate(b"abc", [("truncate", 2)]) == b"ab"
    assert shutil.which("python") or sys.executable  # the subprocess kind runs the same interpreter

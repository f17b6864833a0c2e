"""The CEL conformance suite through both evaluators (cases named file/section/test)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.cel.conformance import load_cases, run_case

CASES = load_cases()


def test_suite_is_complete():
    assert len(CASES) == 876
    skipped = [c for c in CASES if c.skip]
    # Only protobuf-message tests may be skipped (README: about 72, all in comparisons).
    assert len(skipped) == 72
    assert all(c.skip.startswith("needs protobuf message types") for c in skipped)


@pytest.mark.parametrize("backend", ["interp", "compiled"])
@pytest.mark.parametrize("case", CASES, ids=[c.address for c in CASES])
def test_conformance(case, backend):
    status, detail = run_case(case, backend)
    if status == "skipped":
        pytest.skip(detail)
    assert status == "passed", detail


@pytest.mark.parametrize("case", [c for c in CASES if not c.skip],
                         ids=[c.address for c in CASES if not c.skip])
def test_conformance_unchecked(case):
    """Without declarations (everything dyn): the compiled evaluator's untyped fast path,
    and its generic path alone (optimize=False). The interpreter ignores declarations."""
    case = dataclasses.replace(case, declarations=None)
    for options in ({}, {"optimize": False}):
        status, detail = run_case(case, "compiled", **options)
        assert status == "passed", f"{options}: {detail}"

"""Runs every case of tests/hostile/cases.py: a subprocess per case, killed at the case's timeout.

A case passes when polc answers within the timeout with the expected exit code, codes and
message fragment, without a traceback or an internal error (exit 70).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from compiler.codes import exit_code_for
from compiler.diagnostics import Diagnostic

from ..conftest import REPO
from .cases import CASES, DIRECTORY, FIFO, Case, Generated, Symlink

BASE = Path(__file__).resolve().parent / "fixtures" / "project"
#: Fixed "now" (2026-12-01 UTC): retirement warnings of the base project do not change with the date.
EPOCH = "1796083200"


def make_base(root: Path) -> Path:
    shutil.copytree(BASE, root)
    np.save(root / "weights.npy", np.linspace(0.0, 1.0, 6, dtype=np.float64).reshape(2, 3), allow_pickle=False)
    return root


def apply(case: Case, root: Path) -> None:
    for name in case.remove:
        (root / name).unlink()
    for name, old, new in case.edits:
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{case.id}: `{old}` is not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    for name, content in case.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
        if isinstance(content, Generated):
            content = content.make(*content.args)
        if content is FIFO:
            os.mkfifo(path)
        elif content is DIRECTORY:
            path.mkdir()
        elif isinstance(content, Symlink):
            os.symlink(content.target, path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def run(argv: tuple[str, ...], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "SOURCE_DATE_EPOCH": EPOCH, "PYTHONPATH": str(REPO),
           "POLC_ACTOR": "hostile-tests"}
    env.pop("POLC_REGISTRY_URL", None)
    command = [sys.executable, "-c", argv[1]] if argv[0] == "python" else [sys.executable, "-m", "compiler", *argv]
    try:
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(argv)[:120]}` did not answer within {timeout:g} s (a hang)")


@pytest.fixture(scope="module")
def built_base(tmp_path_factory) -> tuple[Path, str]:
    """The base project built once (cases with ``build_first`` start from a copy of it)."""
    root = make_base(tmp_path_factory.mktemp("built") / "project")
    built = run(("build",), root, 120)
    assert built.returncode == 0, built.stdout + built.stderr
    return root, built.stdout.strip()


def prepare(case: Case, tmp_path: Path, built_base) -> tuple[Path, tuple[str, ...]]:
    root = tmp_path / "parent" / "project"
    argv = case.command
    if case.build_first:
        source, digest = built_base
        shutil.copytree(source, root, symlinks=True)
        argv = tuple(a.replace("{hash}", digest) for a in argv)
    else:
        make_base(root)
    if case.git:
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    apply(case, root)
    for before in case.before:
        before = tuple(a.replace("{hash}", built_base[1]) for a in before) if case.build_first else before
        prepared = run(before, root, case.timeout)
        assert prepared.returncode == 0, f"`{' '.join(before)}` failed:\n{prepared.stdout}{prepared.stderr}"
    return root, argv


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)]
                                               if c.xfail else []) for c in CASES])
def test_case(case: Case, tmp_path, request):
    root, argv = prepare(case, tmp_path, request.getfixturevalue("built_base") if case.build_first else None)
    result = run(argv, root, case.timeout)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output
    assert result.returncode == case.exit, f"exit {result.returncode}, expected {case.exit}:\n{output}"
    errors = re.findall(r"error\[(POLC\d{3})\]", output)
    if errors:  # the exit code is the catalogue's class of the errors printed (docs/reference/diagnostics.md)
        table = exit_code_for([Diagnostic.error(code, "") for code in errors])
        assert result.returncode == table, f"exit {result.returncode}, but the catalogue says {table} for {errors}"
    for code in case.codes:
        assert code in output, f"{code} missing:\n{output}"
    assert case.fragment in output, f"`{case.fragment}` missing:\n{output}"
    for text in case.absent:
        assert text not in output, f"`{text}` must not appear:\n{output}"
    for name, fragment in case.expect_files.items():
        assert fragment in (root / name).read_text(encoding="utf-8"), name


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)

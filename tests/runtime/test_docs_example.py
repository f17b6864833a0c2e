"""The router example of docs/runtime.md runs as written, against a freshly built example project."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import build

REPO = Path(__file__).resolve().parents[2]


def router_example(markdown: str) -> str:
    section = markdown.split("## A router in ten lines", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def documents_with_the_example() -> list[Path]:
    """docs/runtime.md and README.md both carry the section (issue 4: the README shows it)."""
    return [REPO / "docs" / "runtime.md", REPO / "README.md"]


@pytest.mark.parametrize("document", documents_with_the_example(), ids=lambda p: p.name)
def test_the_ten_line_router_runs_as_written(tmp_path, document):
    project = tmp_path / "example"
    project.mkdir()
    shutil.copy(REPO / "policy.toml", project / "policy.toml")
    shutil.copytree(REPO / "examples", project / "examples")
    assert build(project).ok
    code = router_example(document.read_text(encoding="utf-8"))
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "claude-sonnet-4-20250514 may record prompts: True"
    runs = list((project / ".polc" / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "RECEIPT.json").is_file()

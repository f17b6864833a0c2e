"""Docs are part of the feature: generated references match the code, README links resolve."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import REPO


def test_generated_reference_pages_are_current():
    result = subprocess.run([sys.executable, "-m", "compiler.docgen", "--check"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_readme_and_docs_links_resolve():
    for page in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).resolve().exists(), f"{page.relative_to(REPO)} links to missing {target}"


def test_readme_quick_start_names_the_two_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme

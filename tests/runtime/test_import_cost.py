"""Importing the runtime must stay cheap: no compiler front end or heavy third-party module."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("lark", "jsonschema", "jinja2", "numpy", "tomlkit", "click", "yaml", "psycopg", "cryptography",
         "compiler.pipeline", "compiler.passes", "compiler.frontend", "compiler.project", "compiler.cel")


def imported_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def heavy_in(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_import_runtime_pulls_in_nothing_heavy():
    assert heavy_in(imported_after("import compiler.runtime")) == set()


def test_loading_and_routing_stay_light(out_dir):
    statement = (f"from compiler.runtime import load_snapshot; s = load_snapshot({str(out_dir)!r}); "
                 "s.route('judge'); s.budget_tracker('r').charge('plan', tokens=1)")
    assert heavy_in(imported_after(statement)) == set()

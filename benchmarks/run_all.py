"""Run every benchmark script in this directory, one after another, printing their figures.

Run: make bench   (or .venv/bin/python benchmarks/run_all.py [NAME ...])
Each script measures its candidates side by side in one run and prints medians and ratios.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    failed = 0
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

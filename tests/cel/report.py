"""Print the CEL conformance results per file for each evaluator.

    python -m tests.cel.report            # table
    python -m tests.cel.report --failures # also list failing and skipped tests
"""

from __future__ import annotations

import sys
from collections import Counter

from tests.cel.conformance import FILES, load_cases, run_case


def main(argv: list[str]) -> int:
    show = "--failures" in argv
    cases = load_cases()
    counts: dict[tuple[str, str], Counter] = {}
    details = []
    for backend in ("interp", "compiled"):
        for case in cases:
            status, detail = run_case(case, backend)
            counts.setdefault((backend, case.file), Counter())[status] += 1
            if status != "passed":
                details.append(f"{backend:8} {status:7} {case.address}: {detail}")
    print(f"{'file':16} | {'interp pass/fail/skip':>22} | {'compiled pass/fail/skip':>24}")
    print("-" * 70)
    totals = {b: Counter() for b in ("interp", "compiled")}
    for name in FILES:
        cells = []
        for backend in ("interp", "compiled"):
            c = counts.get((backend, name), Counter())
            totals[backend] += c
            cells.append(f"{c['passed']}/{c['failed']}/{c['skipped']}")
        print(f"{name:16} | {cells[0]:>22} | {cells[1]:>24}")
    print("-" * 70)
    cells = [f"{t['passed']}/{t['failed']}/{t['skipped']}" for t in totals.values()]
    print(f"{'total':16} | {cells[0]:>22} | {cells[1]:>24}")
    if show:
        print("\n".join(details))
    return 1 if any(t["failed"] for t in totals.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

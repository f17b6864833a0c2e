"""CEL under hostile input: ReDoS patterns through `matches`, and a chain of doubling lets.

Run: .venv/bin/python benchmarks/bench_cel_hostile.py [--rounds N]

1. Regular expressions. For four patterns known to make a backtracking engine take exponential
   time (``(a+)+$``, ``(a|aa)+$``, ``^(\\w+\\s?)*$`` and an e-mail validator), on the text
   ``'a' * n + '!'``, it prints the median time of one ``matches`` through a compiled CEL program
   (RE2, polc's engine) at n = 30 and 60, and the ratio 60/30 (linear: about 2 or less; the
   target is under 1 ms per match). Baseline, side by side in the same run: Python's ``re``
   (backtracking, what polc used before) on the same pattern at n = 16 and 20, next to polc at
   the same sizes, and their ratio at 20; ``re`` at 30 is not run (its time doubles per character
   for most of these patterns: minutes). polc's figures are medians of 200 calls per round.
2. A chain of lets, each using the one before twice (``let a3 = a2 + a2``): the median time of
   an in-process ``polc check`` of a project holding such a gate, and of the CEL checker with
   constant folding plus the cost estimator alone, at 20 and 40 lets, with the ratio 40/20
   (linear: about 2; exponential would be 2^20).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._util import interleaved, median_time  # noqa: E402

PATTERNS = {
    "(a+)+$": r"(a+)+$",
    "(a|aa)+$": r"(a|aa)+$",
    "^(\\w+\\s?)*$": r"^(\w+\s?)*$",
    "e-mail": r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
}
BASELINE_SIZES = (16, 20)
SIZES = (30, 60)


def _cel_literal(pattern: str) -> str:
    return "'" + pattern.replace("\\", "\\\\").replace("'", "\\'") + "'"


def regexes(rounds: int) -> None:
    import compiler.cel as cel

    print("1. `matches` on 'a' * n + '!' (median per match; polc = compiled CEL program on RE2)")
    print(f"{'pattern':<14} {'re n=16':>10} {'polc n=16':>10} {'re n=20':>10} {'polc n=20':>10} "
          f"{'re/polc n=20':>12} {'polc n=30':>10} {'polc n=60':>10} {'60/30':>6}")
    for name, pattern in PATTERNS.items():
        program = cel.compile(f"s.matches({_cel_literal(pattern)})", {"s": "string"})
        compiled = re.compile(pattern)
        row: dict[str, float] = {}
        for n in BASELINE_SIZES:  # one search per round: at n = 20 one takes tens of milliseconds
            text = "a" * n + "!"
            row[f"re {n}"] = median_time(lambda: compiled.search(text), rounds=max(3, rounds // 2))
        for n in (*BASELINE_SIZES, *SIZES):
            text = "a" * n + "!"
            assert program.evaluate({"s": text}) is False and (n > 20 or compiled.search(text) is None)
            row[f"polc {n}"] = median_time(lambda: program.evaluate({"s": text}), rounds=rounds, number=200)
        print(f"{name:<14} {_ms(row['re 16']):>10} {_ms(row['polc 16']):>10} {_ms(row['re 20']):>10} "
              f"{_ms(row['polc 20']):>10} {row['re 20'] / row['polc 20']:>11.0f}x {_ms(row['polc 30']):>10} "
              f"{_ms(row['polc 60']):>10} {row['polc 60'] / row['polc 30']:>6.2f}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f}us"


def let_chains(rounds: int) -> None:
    from compiler.cel.checker import Checker
    from compiler.cel.cost import estimate
    from compiler.cel.parser import parse
    from compiler.cel.types import parse_declarations
    from compiler.pipeline import check
    from tests.hostile import generators as gen
    from tests.hostile.test_cases import make_base

    def engine(length: int) -> None:
        checker = Checker(parse_declarations({"x": "double"}), fold_constants=True)
        checker.define_let("a0", parse("x"))
        memo: dict = {}
        for i in range(1, length + 1):
            node = parse(f"a{i - 1} + a{i - 1}")
            checker.define_let(f"a{i}", node)
            estimate(node, types=checker.result, memo=memo)
        root = parse(f"a{length} >= 0.0")
        checker.check(root)
        estimate(root, types=checker.result, memo=memo)
        assert not checker.diagnostics

    work = Path(tempfile.mkdtemp(prefix="polc-bench-chain-"))
    try:
        projects = {}
        for length in (20, 40):
            root = make_base(work / f"chain-{length}")
            (root / "chain.rules").write_text(gen.let_chain(length), encoding="utf-8")
            policy = root / "policy.toml"
            policy.write_text(policy.read_text(encoding="utf-8").replace(
                'rules = ["gates.rules"]', 'rules = ["gates.rules", "chain.rules"]'), encoding="utf-8")
            projects[length] = root
        for root in projects.values():
            assert not [d for d in check(root) if d.is_error]
        checks = interleaved({n: (lambda r=root: check(r)) for n, root in projects.items()}, rounds=rounds)
        engines = interleaved({n: (lambda n=n: engine(n)) for n in (20, 40)}, rounds=rounds, number=5)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n2. a chain of lets, each using the one before twice (median)")
    print(f"{'':<40} {'20 lets':>10} {'40 lets':>10} {'40/20':>6}")
    print(f"{'polc check of the project (in process)':<40} {_ms(checks[20]):>10} {_ms(checks[40]):>10} "
          f"{checks[40] / checks[20]:>6.2f}")
    print(f"{'CEL checker + folding + cost estimate':<40} {_ms(engines[20]):>10} {_ms(engines[40]):>10} "
          f"{engines[40] / engines[20]:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    regexes(args.rounds)
    let_chains(args.rounds)


if __name__ == "__main__":
    main()

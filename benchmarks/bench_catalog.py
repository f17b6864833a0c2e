"""Runtime cost of the catalogue blocks: keyed routes, prompt rendering, model lookup.

Builds examples/full once, loads it, and times side by side, interleaved round by round:

* ``route(role)`` (the baseline: a table lookup) against ``route(role, key=...)`` (sha256 of
  the key, the interval search, a reordered tuple);
* ``snap.prompt(name).render(**vars)`` (variable checks + the sandbox) against rendering the
  same template with a plain, unsandboxed ``jinja2.Template`` compiled once;
* ``snap.model(name)`` against a dict lookup of the same block.

Prints medians per call and the ratios.

    .venv/bin/python benchmarks/bench_catalog.py [--rounds 9] [--calls 20000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import interleaved  # noqa: E402

from compiler import build  # noqa: E402
from compiler.runtime import load_snapshot  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "full"
VARIABLES = {"request": "Add a --json flag to polc show.", "max_steps": 5, "constraints": ["no new deps", "tests"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "out"
    result = build(EXAMPLE, out_dir=out)
    if not result.ok:
        sys.exit("examples/full does not build: " + "; ".join(d.message for d in result.diagnostics))
    snap = load_snapshot(out / "policy.json")
    keys = [f"session-{i}" for i in range(args.calls)]
    calls = args.calls

    def loop(fn):
        return lambda: [fn(k) for k in keys]

    import jinja2

    plain = jinja2.Template(snap["prompts"]["plan"]["template"])
    prompt = snap.prompt("plan")
    block = snap["model_config"]
    timings = interleaved({
        "route(role)": loop(lambda k: snap.route("implementer")),
        "route(role, key=k)": loop(lambda k: snap.route("implementer", key=k)),
        "jinja2.Template.render": loop(lambda k: plain.render(**VARIABLES)),
        "snap.prompt(name).render": loop(lambda k: prompt.render(**VARIABLES)),
        "dict lookup": loop(lambda k: block["gpt-4o"]),
        "snap.model(name)": loop(lambda k: snap.model("gpt-4o")),
    }, rounds=args.rounds)
    per_call = {name: seconds / calls for name, seconds in timings.items()}
    for name, seconds in per_call.items():
        print(f"{name:28s} {seconds * 1e6:9.2f} µs/call (median of {args.rounds} rounds of {calls} calls)")
    for candidate, baseline in (("route(role, key=k)", "route(role)"),
                                ("snap.prompt(name).render", "jinja2.Template.render"),
                                ("snap.model(name)", "dict lookup")):
        print(f"ratio {candidate} / {baseline}: {per_call[candidate] / per_call[baseline]:.2f}x")


if __name__ == "__main__":
    main()

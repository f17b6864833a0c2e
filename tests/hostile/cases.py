"""The hostile-input corpus: one table of cases, each a broken copy of one base project.

Every case starts from ``tests/hostile/fixtures/project`` (every source kind polc reads: policy.toml,
model_policy.toml, a .rules file, a surface, weights, a prompt template file, an optimizer JSON
file, a doc), changes what it names, runs one ``polc`` command in a subprocess and expects a
clean diagnostic: the exit code, the diagnostic codes, a fragment of the message, no traceback,
no "internal error", and an answer before the harness's timeout (a hang is a failure).

To add a case, append a ``Case`` to ``CASES``::

    Case("surface-tab-indent", files={"policy.surface.yaml": "a:\\n\\tb: 1\\n"},
         exit=3, codes=("POLC300",), fragment="invalid YAML"),

``files`` maps a project-relative path (``../`` reaches the directory above the project) to its
new content: text, bytes, ``FIFO``, ``DIRECTORY``, ``Symlink(target)``, or ``Generated(fn, *args)``
for content made by ``tests/hostile/generators.py``. ``edits`` replace text in a base file (the
old text must be there), ``remove`` deletes base files. ``command`` is polc's arguments
(``{hash}`` is the built bundle's hash when ``build_first``), or ``("python", CODE)`` to run
Python in the project directory. ``before`` are polc commands that prepare the case (each must
succeed), such as the gate run whose receipt the case then publishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import generators as gen


class _Special:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


FIFO = _Special("FIFO")
DIRECTORY = _Special("DIRECTORY")


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Generated:
    make: Callable[..., Any]
    args: tuple = ()

    def __init__(self, make, *args):
        object.__setattr__(self, "make", make)
        object.__setattr__(self, "args", args)


@dataclass(frozen=True)
class Case:
    id: str
    exit: int
    codes: tuple[str, ...] = ()              # each must be in the output
    fragment: str = ""                       # must be in the output
    files: Mapping[str, Any] = field(default_factory=dict)
    edits: tuple[tuple[str, str, str], ...] = ()
    remove: tuple[str, ...] = ()
    command: tuple[str, ...] = ("check",)
    before: tuple[tuple[str, ...], ...] = ()  # polc commands run first, in order; each must exit 0
    absent: tuple[str, ...] = ()             # codes or text that must NOT be in the output
    build_first: bool = False
    git: bool = False                        # make the project a git work tree first
    expect_files: Mapping[str, str] = field(default_factory=dict)  # path -> fragment of its content
    timeout: float = 60.0
    xfail: str | None = None                 # known, tracked elsewhere: the reason


MP, RULES, SURFACE, WEIGHTS = "model_policy.toml", "gates.rules", "policy.surface.yaml", "weights.npy"
TEMPLATE, OPTIMIZER, DOC = "prompts/plan.j2", "optimizer/mipro-run.json", "docs/POLICY.md"
UNKNOWN_ID = "abcd1234"


def _render(template: str, **values) -> tuple[str, str]:
    """A Python command rendering an inline template through the runtime, printing the outcome."""
    code = ("from compiler.runtime.prompts import Prompt, PromptError\n"
            f"p = Prompt('stress', {template!r})\n"
            "try:\n"
            f"    print('rendered', len(p.render(**{values!r})))\n"
            "except PromptError as exc:\n"
            "    print(type(exc).__name__, exc)\n"
            "    raise SystemExit(1)\n")
    return ("python", code)



def _evaluate(gate: str, inputs: str, setup: str = "") -> tuple[str, str]:
    """A Python command: build the project in process, then evaluate ``gate`` on each of ``inputs`` (Python
    source of a list, after the statement ``setup``), printing one letter per input (P passed, F failed) and
    then each failure's message."""
    code = (f"{setup}\n"
            "from compiler import build\n"
            "from compiler.runtime import load_snapshot\n"
            "result = build('.')\n"
            "assert result.ok, result.diagnostics\n"
            f"gate = load_snapshot(str(result.bundle_dir)).gate({gate!r})\n"
            f"results = [gate.evaluate(value) for value in {inputs}]\n"
            "print(' '.join('P' if r.passed else 'F' for r in results))\n"
            "for r in results:\n"
            "    for f in r.failures:\n"
            "        print(f.span, f.message)\n")
    return ("python", code)


#: Gates of the CEL cases, put before the base project's gate.
NAMES_GATE = r"""gate names {
  input metrics: {name: string, pattern: string}
  require !metrics.name.matches('(a+)+$') && !metrics.name.matches('(a|aa)+$') && !metrics.name.matches('^(\\w+\\s?)*$')
  require metrics.name.matches(metrics.pattern)
}

"""
REDOS_DRIFT = r"""
drift DR_ENDPOINT_SHAPE WARN {
  when !new.routing.reflex.endpoint.matches('(a+)+$') && !new.routing.reflex.endpoint.matches('^(\\w+\\s?)*$')
  message "the reflex endpoint is not a run of a's"
}
"""
HOSTILE_INPUTS_GATE = r"""gate hostile_inputs {
  input metrics: {items: list(dyn), n: int, text: string}
  require size(metrics.items) > 0
  require metrics.n > 0
  require int(metrics.text) > 0
}

"""


CASES: list[Case] = [
    # -- the base project is clean ------------------------------------------------------------------
    Case("base-check-says-ok", exit=0, fragment="ok: 0 problems in 8 files"),
    Case("base-build", exit=0, command=("build",)),
    Case("base-fmt-says-ok", exit=0, command=("fmt", "--check", "policy.toml"), fragment="ok: 0 problems in 1 file"),

    # -- 1. a FIFO as any source never blocks ----------------------------------------------------------
    *[Case(f"fifo-{name.replace('/', '-')}", files={name: FIFO}, exit=3, codes=(code,), fragment="FIFO")
      for name, code in ((MP, "POLC002"), (RULES, "POLC002"), (SURFACE, "POLC002"), (WEIGHTS, "POLC330"),
                         (DOC, "POLC002"), (TEMPLATE, "POLC002"), (OPTIMIZER, "POLC002"))],
    Case("fifo-imported-rules", files={"lib.rules": FIFO}, edits=((RULES, "gate prompt_quality", 'import "lib.rules"\n\ngate prompt_quality'),),
         exit=3, codes=("POLC002",), fragment="FIFO"),
    Case("fifo-policy-toml", files={"policy.toml": FIFO, "../policy.toml": '[sources]\nmodel_policy = "x.toml"\n'},
         exit=3, codes=("POLC002",), fragment="FIFO (named pipe), not a project file"),
    Case("fifo-diff-input", files={"old.json": FIFO}, command=("diff", "old.json", "."), exit=3, codes=("POLC700",),
         fragment="FIFO"),
    Case("fifo-head-pointer-in-out-dir", files={"artifacts/policy/policy.json": FIFO}, exit=0,
         codes=("POLC322",), fragment="is a FIFO (named pipe): it is not a polc head pointer"),
    Case("fifo-required-doc", files={"docs/REQUIRED.md": FIFO},
         edits=(("policy.toml", 'required_docs = ["docs/POLICY.md"]', 'required_docs = ["docs/REQUIRED.md"]'),),
         exit=1, codes=("POLC012",), fragment="is a FIFO (named pipe), not a file"),

    # -- 2. globs are checked before anything is walked ----------------------------------------------------
    *[Case(f"glob-{slug}", edits=(("policy.toml", 'rules = ["gates.rules"]', f'rules = ["gates.rules", "{pattern}"]'),),
           files={"outside": Symlink("/usr")}, exit=3, codes=("POLC005",), fragment=fragment)
      for slug, pattern, fragment in (("absolute-usr", "/usr/**", "is absolute"), ("absolute-etc", "/etc/**", "is absolute"),
                                      ("dotdot", "../**/*.rules", "leaves the project"),
                                      ("symlinked-outside", "outside/**/*.rules", "leads outside the project"))],
    Case("glob-symlink-loops-are-not-followed", files={"r/loop": Symlink(".."), "self": Symlink(".")},
         edits=(("policy.toml", 'rules = ["gates.rules"]', 'rules = ["**/*.rules"]'),), exit=0, fragment="ok:"),

    # -- 6. template rendering is bounded -------------------------------------------------------------------
    Case("render-nested-ranges", command=_render(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
        exit=1, fragment="PromptBudgetError prompt `stress`"),
    Case("render-nested-output", command=_render("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"),
         exit=1, fragment="PromptBudgetError"),
    Case("render-repetition", command=_render("{{ 'x' * 1000000000 }}"), exit=1, fragment="a repetition would make"),
    Case("render-list-repetition", command=_render("{{ [0] * 10**9 }}"), exit=1, fragment="PromptBudgetError"),
    Case("render-power", command=_render("{{ 2 ** 99999999 }}"), exit=1, fragment="a power would make"),
    Case("render-padding-filter", command=_render("{{ 'a'|center(1000000000) }}"), exit=1, fragment="`|center`"),
    Case("render-padding-method", command=_render("{{ 'a'.rjust(1000000000) }}"), exit=1, fragment="`.rjust()`"),
    Case("render-format-width", command=_render("{{ '%0999999999d' % 1 }}"), exit=1, fragment="a format width"),
    Case("render-replace-blowup", command=_render("{% set s = 'a' * 1000 %}{{ (s * 1000)|replace('a', s) }}"),
         exit=1, fragment="`|replace`"),
    Case("render-exponential-macro", command=_render(
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}"),
        exit=1, fragment="PromptBudgetError"),
    Case("render-normal-template-is-fine", command=_render("{% for i in range(1000) %}{{ i }} {% endfor %}"),
         exit=0, fragment="rendered"),

    # -- 7. big but legal sources, in bounded time ------------------------------------------------------------
    Case("big-budgets-100k", files={MP: Generated(gen.budgets_policy, 100_000)},
         edits=(("policy.toml", 'rules = ["gates.rules"]', "rules = []"),), remove=(TEMPLATE, OPTIMIZER),
         exit=0, fragment="ok: 0 problems", timeout=30),  # about 4 s on 2 busy cores (was 10 before linear)
    Case("big-surface-50k", files={SURFACE: Generated(gen.surface_features, 50_000)}, exit=0, fragment="ok: 0 problems",
         timeout=30),  # about 2 s on 2 busy cores

    # -- 8. TOML dates and times where strings are expected -----------------------------------------------------
    Case("toml-time-as-capture-mode", edits=((MP, 'mode = "prompts_only"', "mode = 07:32:00"),), exit=1,
         codes=("POLC104",), fragment="capture.mode is a TOML time (07:32:00)", absent=("datetime", "internal error")),
    Case("toml-datetime-as-endpoint", edits=((MP, 'endpoint = "http://127.0.0.1:3009/v1"', "endpoint = 1979-05-27T07:32:00Z"),),
         exit=1, codes=("POLC101",), fragment="a TOML date-time (1979-05-27T07:32:00+00:00)"),
    Case("toml-date-as-model-name", edits=((MP, 'judge = ["claude-sonnet-4-20250514"]', "judge = [2027-05-14]"),),
         exit=1, codes=("POLC101",), fragment="a TOML date (2027-05-14)"),

    # -- 9. symlink loops ----------------------------------------------------------------------------------------
    *[Case(f"symlink-loop-{name.replace('/', '-')}", files={name: Symlink(name.rsplit("/", 1)[-1])}, exit=3, codes=(code,),
           fragment="symlink loop") for name, code in ((MP, "POLC002"), (RULES, "POLC002"), (SURFACE, "POLC002"),
                                                         (WEIGHTS, "POLC002"), (TEMPLATE, "POLC002"))],
    Case("symlink-loop-of-two", files={MP: Symlink("other.toml"), "other.toml": Symlink(MP)}, exit=3,
         codes=("POLC002",), fragment="symlink loop"),

    # -- 10. surface YAML --------------------------------------------------------------------------------------
    Case("yaml-10k-open-brackets", files={SURFACE: Generated(gen.deep_flow_sequence)}, exit=3, codes=("POLC300",),
         fragment="nesting depth"),
    Case("yaml-10k-nested-mappings", files={SURFACE: Generated(gen.deep_flow_mapping)}, exit=3, codes=("POLC318",),
         fragment="nested more than 100 levels"),
    Case("yaml-2000-deep-block-mapping", files={SURFACE: Generated(gen.deep_block_mapping)}, exit=3,
         codes=("POLC318",), fragment="nested more than 100 levels"),
    Case("yaml-5000-digit-integer", files={SURFACE: Generated(gen.long_integer)}, exit=3, codes=("POLC318",),
         fragment="5,000 digits"),
    Case("yaml-11-boolean-key", files={SURFACE: gen.SURFACE_HEAD + "NO: 1\n"}, exit=3, codes=("POLC319",),
         fragment="YAML 1.1 reads `NO` as the boolean false"),
    Case("yaml-numeric-key", files={SURFACE: gen.SURFACE_HEAD + "12: 1\n"}, exit=3, codes=("POLC319",),
         fragment="YAML reads `12` as a number"),
    Case("yaml-date-value", files={SURFACE: gen.SURFACE_HEAD + "description: 2027-01-01\n"}, exit=3,
         codes=("POLC301",), fragment="reads as a YAML date"),
    Case("yaml-python-tag", files={SURFACE: gen.SURFACE_HEAD + "x: !!python/object/apply:os.system ['true']\n"},
         exit=3, codes=("POLC301",), fragment="`!!python/object/apply:os.system` is not allowed"),
    Case("yaml-alias", files={SURFACE: gen.SURFACE_HEAD + "a: &x [1]\nb: *x\n"}, exit=3, codes=("POLC301",),
         fragment="aliases are not supported"),
    Case("yaml-two-documents", files={SURFACE: gen.SURFACE_HEAD + "---\nb: 2\n"}, exit=3, codes=("POLC300",),
         fragment="a second one starts here"),
    Case("yaml-misspelled-required-key", edits=((SURFACE, "    transform: identity", "    transfrom: identity"),),
         exit=1, codes=("POLC305",), absent=("POLC306",), fragment="did you mean `transform`?"),
    Case("toml-10k-open-brackets", files={MP: Generated(gen.deep_toml_array)}, exit=3, codes=("POLC006",),
         fragment="nested"),

    # -- 11. weights .npy ------------------------------------------------------------------------------------
    Case("npy-truncated-header-dict", files={WEIGHTS: Generated(gen.npy_truncated_header)}, exit=3, codes=("POLC330",),
         fragment="damaged .npy header"),
    Case("npy-huge-shape", files={WEIGHTS: Generated(gen.npy_huge_shape)}, exit=3, codes=("POLC330",),
         fragment="is truncated: its header describes float64[9999999999999]"),
    Case("npy-trailing-garbage", files={WEIGHTS: gen.npy(trailing=b"garbage!")}, exit=3, codes=("POLC330",),
         fragment="has bytes after the array data"),
    Case("npy-truncated-data", files={WEIGHTS: gen.npy(cut=3)}, exit=3, codes=("POLC330",), fragment="is truncated"),
    Case("npy-object-dtype", files={WEIGHTS: Generated(gen.npy_object_dtype)}, exit=3, codes=("POLC330",),
         fragment="Python objects"),
    Case("npy-negative-shape", files={WEIGHTS: Generated(gen.npy_negative_shape)}, exit=3, codes=("POLC330",),
         fragment="negative size"),
    Case("npy-not-npy", files={WEIGHTS: b"PK\x03\x04 a zip file, not an array"}, exit=3, codes=("POLC330",),
         fragment="not a .npy file"),
    Case("npy-device-path", edits=(("policy.toml", 'weights = "weights.npy"', 'weights = "/dev/zero"'),), exit=1,
         codes=("POLC011",), fragment="expected a path ending in `.npy`", absent=("\\.npy$", "does not match")),

    # -- 3. regular expressions are RE2: linear time, RE2's syntax ----------------------------------------------
    Case("cel-redos-gate-at-run-time", edits=((RULES, "gate prompt_quality {", NAMES_GATE + "gate prompt_quality {"),),
         command=_evaluate("names", "[{'name': 'a' * 60 + '!', 'pattern': 'a'}, {'name': 'x', 'pattern': '(a)\\\\1'}, "
                                    "{'name': 'Ünïcode', 'pattern': '^\\\\pL+$'}, {'name': 'ab!', 'pattern': 'a(?i)B'}, "
                                    "{'name': '5!', 'pattern': '[\\\\d\\\\W]'}]"),
         exit=0, fragment="P F P P P", timeout=60),
    Case("cel-redos-pattern-from-the-input-fails-closed", edits=((RULES, "gate prompt_quality {", NAMES_GATE + "gate prompt_quality {"),),
         command=_evaluate("names", "[{'name': 'x', 'pattern': '(a)\\\\1'}]"), exit=0,
         fragment="invalid regular expression `(a)\\1`: invalid escape sequence: \\1"),
    Case("cel-redos-drift-rule-during-diff", build_first=True,
         edits=((RULES, "gate prompt_quality {", REDOS_DRIFT + "\ngate prompt_quality {"),
                (MP, 'endpoint = "http://127.0.0.1:3009/v1"', 'endpoint = "http://127.0.0.1:3009/' + "a" * 60 + '!"')),
         command=("diff", "artifacts/policy/policy.json", "."), exit=0, fragment="DR_ENDPOINT_SHAPE", timeout=60),
    Case("cel-backreference-literal-is-a-check-error",
         edits=((RULES, "require scorecard.exact_match >= params.min_exact_match",
                 "require scorecard.exact_match >= params.min_exact_match && 'x'.matches('(a)\\\\1')"),),
         exit=1, codes=("POLC218",), fragment="gates.rules:6:74: error[POLC218]: invalid regular expression `(a)\\1`"),

    # -- 4. a chain of doubling lets is checked, built and evaluated in linear time --------------------------------
    *[Case(f"cel-let-chain-{n}", files={"chain.rules": Generated(gen.let_chain, n)},
           edits=(("policy.toml", 'rules = ["gates.rules"]', 'rules = ["gates.rules", "chain.rules"]'),),
           command=_evaluate("chain", "[{'exact_match': 1.0, 'judge_pass_rate': 1.0}]"), exit=0, fragment="P", timeout=60)
      for n in (20, 40)],
    Case("cel-let-chain-of-strings-is-over-the-cost-limit", files={"chain.rules": Generated(gen.let_chain, 40, "'ab'")},
         edits=(("policy.toml", 'rules = ["gates.rules"]', 'rules = ["gates.rules", "chain.rules"]'),),
         exit=1, codes=("POLC220",), fragment="exceeds the limit 10,000,000", timeout=60),

    # -- 5. expression limits are checked before parsing ------------------------------------------------------------
    Case("cel-1mb-expression-refused-before-parsing", files={"long.rules": Generated(gen.long_expression_rules)},
         edits=(("policy.toml", 'rules = ["gates.rules"]', 'rules = ["gates.rules", "long.rules"]'),),
         exit=3, codes=("POLC203",), fragment="long.rules:3:11: error[POLC203]: expression is about 1,200,003 characters; the limit is 100,000",
         timeout=30),
    Case("cel-10k-nested-brackets-refused-before-parsing", files={"deep.rules": Generated(gen.deep_brackets_rules)},
         edits=(("policy.toml", 'rules = ["gates.rules"]', 'rules = ["gates.rules", "deep.rules"]'),),
         exit=3, codes=("POLC203",), fragment="brackets nest more than 200 levels deep", timeout=30),

    # -- 13. hostile values at run time are failures of the gate, never a raw exception -------------------------------
    Case("cel-runtime-cyclic-list-and-5000-digit-int", edits=((RULES, "gate prompt_quality {", HOSTILE_INPUTS_GATE + "gate prompt_quality {"),),
         command=_evaluate("hostile_inputs", "[{'items': cycle, 'n': 1, 'text': '1'}, {'items': [1], 'n': 1, 'text': '9' * 5000}]",
                           setup="cycle = []; cycle.append(cycle)"),
         exit=0, fragment="F F\ngates.rules:4:3 input metrics nests too deeply (does it contain itself?)\n"
                          "gates.rules:7:11 cannot evaluate `int(metrics.text) > 0`: cannot convert '999"),

    # -- 14. constant parts that can only fail are check errors -------------------------------------------------------
    *[Case(f"cel-constant-{slug}", edits=((RULES, "require scorecard.exact_match >= params.min_exact_match",
                                           f"require scorecard.exact_match >= params.min_exact_match && {expr}"),),
           exit=1, codes=("POLC218",), fragment=f"gates.rules:6:{column}: error[POLC218]: {message}")
      for slug, expr, column, message in (
          ("division-by-zero", "1 / 0 > 0", 62, "this constant expression can only fail: division by zero"),
          ("int64-overflow", "9223372036854775807 + 1 > 0", 62, "this constant expression can only fail: integer overflow in `+`"),
          ("uint-underflow", "0u - 1u > 0u", 62, "this constant expression can only fail: unsigned integer overflow in `-`"),
          ("invalid-regex", "'x'.matches('(')", 74, "invalid regular expression `(`: missing ): ("),
          ("regex-repetition-limit", "'x'.matches('a{100000}')", 74, "invalid regular expression `a{100000}`: invalid repetition size"),
          ("bad-timestamp", "timestamp('9999-99-99T00:00:00Z') > timestamp(0)", 62,
           "this constant expression can only fail: invalid timestamp"))],

    # -- 15. an int input outside int64 is a failure, not a pass ------------------------------------------------------
    Case("cel-int-input-out-of-range", edits=((RULES, "gate prompt_quality {", HOSTILE_INPUTS_GATE + "gate prompt_quality {"),),
         command=_evaluate("hostile_inputs", "[{'items': [1], 'n': 2 ** 80, 'text': '1'}, {'items': [1], 'n': 2 ** 63 - 1, 'text': '1'}]"),
         exit=0, fragment="F P\ngates.rules:4:3 input metrics.n is an integer (1208925819614629174706176), outside the int range"),

    # -- 16. a gate parameter of the wrong type is reported at the TOML value ------------------------------------------
    Case("gate-parameter-of-the-wrong-type-stdlib", edits=((MP, "p95_latency_ms = 2000", 'p95_latency_ms = "fast"'),), exit=1,
         codes=("POLC267",), fragment='model_policy.toml:30:18: error[POLC267]: [gates.reflex_promotion] `p95_latency_ms` is a string ("fast")',
         absent=("POLC213",)),
    Case("gate-parameter-of-the-wrong-type-project", edits=((MP, "min_exact_match = 0.8", 'min_exact_match = "high"'),), exit=1,
         codes=("POLC267",), fragment="= note: used at gates.rules:6:11: `>=` compares a double (`scorecard.exact_match`) "
                                      "with a string (`params.min_exact_match`)"),

    # -- 12. a deeply nested JSON given to polc diff ----------------------------------------------------------
    Case("diff-100k-nested-arrays", files={"deep.json": Generated(gen.deep_json_array)}, command=("diff", "deep.json"),
         exit=3, codes=("POLC701",), fragment="is nested too deeply", absent=("RecursionError",)),
    Case("diff-100k-nested-objects", files={"deep.json": Generated(gen.deep_json_object)},
         command=("diff", "deep.json", "."), exit=3, codes=("POLC701",), fragment="is nested too deeply",
         absent=("RecursionError",)),

    # -- 17. one run reports every independent problem -----------------------------------------------------------
    Case("missing-policy-and-missing-doc", remove=(MP, DOC), exit=3, codes=("POLC002", "POLC012"),
         fragment="`model_policy.toml` does not exist"),  # POLC012: the required doc, in the same run
    Case("wrong-type-beside-a-negative-limit", edits=((MP, "plan = 8000", 'plan = "8000"'),
                                                      (MP, "hard_limit = 25.0", "hard_limit = -3.0")),
         exit=1, codes=("POLC101", "POLC120"), fragment="hard_limit"),

    # -- 18. misspelled role and table ---------------------------------------------------------------------------
    Case("role-misspelled-beside-its-prompt", edits=((MP, 'judge = ["claude-sonnet-4-20250514"]', 'juge = ["claude-sonnet-4-20250514"]'),),
         exit=0, codes=("POLC105",), fragment="did you mean `judge`?"),
    Case("role-unused-by-any-stage", edits=((MP, "[routing.fallback]", '[routing.stages]\nplan = "architect"\n'
                                                                       'tasks = "implementer"\nimplement = "implementer"\n\n[routing.fallback]'),
                                            (MP, "[prompts.judge]", "[prompts.judging]"),
                                            (MP, "[prompts.judge.variables]", "[prompts.judging.variables]")),
         exit=0, codes=("POLC105",), fragment="role `judge` is never used"),
    Case("table-misspelled", edits=((MP, "[capture]", "[captur]"),), exit=1, codes=("POLC102",), absent=("POLC103",),
         fragment="did you mean `capture`? `capture` is required and missing"),

    # -- 19. an unknown name on the command line is a usage error (exit 2), in every command -------------------
    Case("unknown-role-route", build_first=True, command=("route", "juge"), exit=2, codes=("POLC720",),
         fragment="did you mean `judge`"),
    Case("unknown-role-explain-route", build_first=True, command=("explain", "route", "juge"), exit=2, codes=("POLC720",)),
    Case("unknown-gate-explain", command=("explain", "gate", "nosuchgate"), exit=2, codes=("POLC266",)),
    Case("unknown-gate-explain-metrics", build_first=True, files={"m.json": '{"p95_latency_ms": 1}'},
         command=("explain", "gate", "nosuchgate", "--metrics", "m.json"), exit=2, codes=("POLC721",)),
    Case("unknown-drift-rule-explain", command=("explain", "drift", "DR_NOPE"), exit=2, codes=("POLC266",)),
    Case("unknown-passed-gate-route", build_first=True, command=("route", "judge", "--passed-gate", "reflex_promo"),
         exit=2, codes=("POLC721",), fragment="did you mean `reflex_promotion`"),
    Case("unknown-bundle-show", build_first=True, command=("show", UNKNOWN_ID), exit=2, codes=("POLC707",)),
    Case("unknown-bundle-route-pin", build_first=True, command=("route", "judge", "--pin", UNKNOWN_ID), exit=2,
         codes=("POLC707",)),
    Case("unknown-bundle-explain", build_first=True, files={"m.json": "{}"},
         command=("explain", "gate", "reflex_promotion", "--metrics", "m.json", "--bundle", UNKNOWN_ID), exit=2,
         codes=("POLC707",)),
    Case("unknown-bundle-archive", build_first=True, command=("archive", UNKNOWN_ID), exit=2, codes=("POLC707",)),
    Case("unknown-bundle-delta-replay", build_first=True, command=("delta", "replay", UNKNOWN_ID), exit=2,
         codes=("POLC707",)),
    Case("unknown-bundle-ledger-snapshot", build_first=True,
         command=("ledger", "snapshot", "--notes", "x", "--bundle", UNKNOWN_ID), exit=2, codes=("POLC707",)),
    Case("unknown-run-trace", files={".polc/runs/run-1/RECEIPT.json": "{}"}, command=("trace", "run-2"), exit=2,
         codes=("POLC744",), fragment="did you mean `run-1`"),
    Case("unknown-schema", command=("schema", "model_polcy"), exit=2, fragment="did you mean `model_policy`"),
    Case("unknown-gate-gate-run", build_first=True, files={"m.json": "{}"},
         command=("gate", "run", "nosuchgate", "--bundle", "{hash}", "--metrics", "m.json", "--unsigned"), exit=2,
         codes=("POLC721",)),
    Case("unknown-bundle-gate-run", build_first=True, files={"m.json": "{}"},
         command=("gate", "run", "reflex_promotion", "--bundle", UNKNOWN_ID, "--metrics", "m.json", "--unsigned"),
         exit=2, codes=("POLC707",)),
    # (an unknown id in an existing registry is exit 2: tests/registry/test_cli.py; here the registry itself is missing)
    Case("registry-show-without-a-database", command=("registry", "show", UNKNOWN_ID, "--registry", "reg.db"), exit=3,
         codes=("POLC602",), fragment="there is no registry database"),

    # -- 20. messages in the user's terms ------------------------------------------------------------------------
    Case("empty-model-policy-path", edits=(("policy.toml", 'model_policy = "model_policy.toml"', 'model_policy = ""'),),
         exit=3, codes=("POLC002",), fragment="the path is empty", absent=("`.` is a directory",)),
    Case("datetime-retirement", edits=((MP, "retires_on = 2027-05-14", "retires_on = 2027-05-14T00:00:00"),), exit=1,
         codes=("POLC515",), fragment="is a TOML date-time (2027-05-14T00:00:00), not a date",
         absent=("datetime.datetime",)),
    Case("out-dir-is-a-device", command=("build", "--out", "/dev/full"), exit=3, codes=("POLC020",),
         fragment="is a character device, not a directory", absent=("File exists",)),

    # -- 22. publish says how each receipt's signature was checked, in words -------------------------------------
    Case("publish-unsigned-receipt-in-words", build_first=True,
         files={"m.json": '{"p95_latency_ms": 1800, "success_parity_percent": 91}', "eval.json": "{}"},
         before=(("gate", "run", "reflex_promotion", "--bundle", "{hash}", "--metrics", "m.json", "--unsigned",
                  "--out", "receipt.json"),),
         command=("registry", "publish", "{hash}", "--receipt", "receipt.json", "--evaluation-report", "eval.json",
                  "--registry", "reg.db"),
         exit=0, fragment="signature not checked: the receipt is unsigned and no trusted keys are configured"),

    # -- 21. policy.toml, keygen ------------------------------------------------------------------------------------
    Case("policy-toml-is-a-directory", files={"policy.toml": DIRECTORY, "../policy.toml": '[sources]\nmodel_policy = "x"\n'},
         exit=3, codes=("POLC002",), fragment="is a directory, not a project file"),
    Case("keygen-in-a-git-work-tree", git=True, command=("registry", "keygen", "--out", "keys/gate"), exit=0,
         fragment="added `/keys/gate.key` to", expect_files={".gitignore": "/keys/gate.key"}),
    Case("keygen-path-already-ignored", git=True, files={".gitignore": "keys/\n"},
         command=("registry", "keygen", "--out", "keys/gate"), exit=0, fragment="wrote keys/gate.key",
         absent=("added",)),
    Case("fmt-says-what-it-reformatted", edits=((MP, "[capture]\nmode", "[capture]\nmode   "),),
         command=("fmt", "model_policy.toml"), exit=0, fragment="ok: reformatted 1 of 1 file"),
    Case("check-with-warnings-says-ok", edits=((MP, 'judge = ["claude-sonnet-4-20250514"]', 'juge = ["claude-sonnet-4-20250514"]'),),
         exit=0, fragment="ok: 1 warning in 8 files"),
]

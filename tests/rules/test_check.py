"""polc check on projects with .rules files: typing, names, cost, imports; exit codes and spans."""

from __future__ import annotations

import json

import pytest

from compiler import check
from compiler.codes import exit_code_for
from tests.conftest import run_polc
from tests.rules.helpers import rules_project


def _check(tmp_path, files, **kw):
    root = rules_project(tmp_path / "p", files, **kw)
    diagnostics = check(root)
    return diagnostics, exit_code_for(diagnostics)


def _errors(diagnostics):
    return [(d.code, d.location(), d.message, d.hint) for d in diagnostics if d.is_error]


def test_a_well_typed_project_gate_checks_clean(tmp_path):
    diagnostics, code = _check(tmp_path, {"rules/fast.rules": '''
gate reflex_promotion {
  input metrics: map(string, double)
  let limit = params.p95_latency_ms
  require metrics.p95_latency_ms <= limit message "p95 {metrics.p95_latency_ms} above {limit}"
}
'''})
    assert _errors(diagnostics) == [] and code == 0


@pytest.mark.parametrize("expr, code, column, needle, hint", [
    ("metrics.p95 <= params.p95_latncy_ms", "POLC211", 26, "`params` has no field `p95_latncy_ms`",
     "did you mean `p95_latency_ms`"),
    ('params.p95_latency_ms > "fast"', "POLC213", 11, "compares a double", "convert one side"),
    ("params.p95_latency_ms.exists(x, x > 1)", "POLC214", 11, "`exists` needs a list or map", "macros iterate"),
    ("sizee(metrics) > 1", "POLC212", 11, "unknown function `sizee`", "did you mean `size`"),
    ("metric.p95 > 1.0", "POLC210", 11, "unknown name `metric`", "did you mean `metrics`"),
    ("metrics.p95 * 2 > 1.0", "POLC213", 11, "cannot combine a double", "convert with"),
    ("size(metrics)", "POLC217", 11, "must be a bool", "compare it"),
])
def test_type_errors_point_at_the_sub_expression_with_a_hint(tmp_path, expr, code, column, needle, hint):
    diagnostics, exit_code = _check(tmp_path, {"g.rules": f'''gate reflex_promotion {{
  input metrics: map(string, double)
  require {expr}
}}
'''})
    errors = _errors(diagnostics)
    assert errors, diagnostics
    got_code, where, message, got_hint = errors[0]
    assert got_code == code and needle in message and hint in (got_hint or ""), errors
    assert where == f"g.rules:3:{column}"
    assert exit_code == 1


def test_drift_subjects_are_typed_from_the_snapshot_schema(tmp_path):
    diagnostics, code = _check(tmp_path, {"d.rules": '''drift DR_MINE WARN {
  when new.budgets.cots.hard_limit > old.budgets.cost.hard_limit
  message "raised {new.budgets.cost.hard_lmit}"
}
'''})
    errors = _errors(diagnostics)
    assert [(c, w) for c, w, _, _ in errors] == [("POLC211", "d.rules:2:8"), ("POLC211", "d.rules:3:20")]
    assert "did you mean `cost`" in errors[0][3] and "did you mean `hard_limit`" in errors[1][3]


def test_declaration_errors(tmp_path):
    diagnostics, code = _check(tmp_path, {"a.rules": '''gate g1 { require params.x > 1.0 }
gate g2 { input m: mapp(string, double) require true }
gate g3 { let params = 1 require true }
gate g4 { input m: double }
drift D_ONE SEVERE { when true }
'''})
    codes = [(c, w) for c, w, _, _ in _errors(diagnostics)]
    assert ("POLC264", "a.rules:1:19") in codes        # params without [gates.g1]
    assert ("POLC257", "a.rules:2:20") in codes        # unknown type
    assert ("POLC262", "a.rules:3:11") in codes        # params redeclared
    assert ("POLC263", "a.rules:4:6") in codes         # no condition
    assert ("POLC258", "a.rules:5:13") in codes        # severity
    assert code == 1


def test_duplicate_gate_names_and_stdlib_override(tmp_path):
    diagnostics, _ = _check(tmp_path, {
        "a.rules": "gate reflex_promotion { require true }\n",
        "b.rules": "gate reflex_promotion { require false }\n"})
    dup = [d for d in diagnostics if d.code == "POLC260"]
    assert len(dup) == 1 and dup[0].location() == "b.rules:1:1" and "a.rules:1:1" in dup[0].notes[0]
    # one project gate with a stdlib name replaces the implicit stdlib gate: no error
    diagnostics, code = _check(tmp_path / "x", {"a.rules": "gate reflex_promotion { require true }\n"})
    assert _errors(diagnostics) == [] and code == 0
    # ... but importing the stdlib file explicitly and redefining it is a duplicate
    diagnostics, _ = _check(tmp_path / "y", {"a.rules": 'import "stdlib/promotion.rules"\n'
                                             "gate reflex_promotion { require true }\n"})
    assert [d.code for d in diagnostics if d.is_error] == ["POLC260"]


def test_import_cycle_missing_import_and_escape(tmp_path):
    diagnostics, code = _check(tmp_path, {
        "a.rules": 'import "b.rules"\ngate x { require true }\n',
        "b.rules": 'import "a.rules"\n'}, patterns=["a.rules"])
    cycle = [d for d in diagnostics if d.code == "POLC256"]
    assert cycle and cycle[0].location() == "b.rules:1:1" and "`a.rules` → `b.rules` → `a.rules`" in cycle[0].message
    diagnostics, code = _check(tmp_path / "m", {"a.rules": 'import "nope.rules"\n'})
    assert [(d.code, d.location()) for d in diagnostics if d.is_error] == [("POLC002", "a.rules:1:1")]
    assert code == 3
    diagnostics, code = _check(tmp_path / "e", {"a.rules": 'import "../../etc/x.rules"\n'})
    assert [d.code for d in diagnostics if d.is_error] == ["POLC005"] and code == 3
    diagnostics, _ = _check(tmp_path / "s", {"a.rules": 'import "stdlib/nope.rules"\n'})
    assert [d.code for d in diagnostics if d.is_error] == ["POLC255"]
    assert "stdlib/drift.rules" in diagnostics[0].hint


def test_globs_non_utf8_and_unmatched_patterns(tmp_path):
    diagnostics, code = _check(tmp_path, {"rules/a.rules": b"gate g { require \xff }\n"}, patterns=["rules/*.rules"])
    assert [(d.code, d.location()) for d in diagnostics if d.is_error] == [("POLC003", "rules/a.rules:1:18")]
    assert code == 3
    diagnostics, code = _check(tmp_path / "g", {}, patterns=["rules/*.rules"])
    assert [d.code for d in diagnostics if d.is_error] == ["POLC254"] and code == 3


def test_cost_limit_from_policy_toml(tmp_path):
    files = {"c.rules": "drift DR_HEAVY WARN { when new.routing.cloud.exists(r, "
                        "new.routing.cloud[r].exists(m, m in old.routing.cloud[r])) }\n"}
    diagnostics, code = _check(tmp_path, files, extra="[rules]\ncost_limit = 500\n")
    cost = [d for d in diagnostics if d.code == "POLC220"]
    assert cost and cost[0].location().startswith("c.rules:1:") and "exceeds the limit 500" in cost[0].message
    diagnostics, code = _check(tmp_path / "ok", files)
    assert code == 0


def test_rules_options_are_validated(tmp_path):
    diagnostics, code = _check(tmp_path, {}, patterns=[], extra="[rules]\nstdlb = false\n")
    assert [d.code for d in diagnostics if d.is_error] == ["POLC010"]


def test_gate_table_without_rules_is_a_warning(tmp_path):
    policy = open("examples/model_policy.toml").read() + "\n[gates.canary]\nmax_error_rate = 0.01\n"
    diagnostics, code = _check(tmp_path, {}, patterns=[], policy=policy)
    warn = [d for d in diagnostics if d.code == "POLC265"]
    assert warn and warn[0].location() == "model_policy.toml:32:1" and code == 0


def test_polc_check_cli_reports_rules_errors_like_toml_ones(tmp_path):
    root = rules_project(tmp_path / "p", {"g.rules": "gate reflex_promotion {\n  require params.p95 > 1.0\n}\n"})
    result = run_polc("check", cwd=root)
    assert result.returncode == 1
    assert "g.rules:2:11: error[POLC211]: `params` has no field `p95`" in result.stdout
    result = run_polc("check", "--format", "json", cwd=root)
    found = json.loads(result.stdout)["diagnostics"]
    assert found[0]["code"] == "POLC211" and (found[0]["line"], found[0]["column"]) == (2, 11)
    (root / "g.rules").write_text("gate g {\n  require x\n", encoding="utf-8")
    result = run_polc("check", cwd=root)
    assert result.returncode == 3 and "g.rules:2:12: error[POLC252]" in result.stdout


def test_ratio_is_for_drift_rules_only(tmp_path):
    diagnostics, _ = _check(tmp_path, {"a.rules": 'gate reflex_promotion { require ratio("x", 2.0) > 1.0 }\n'
                                       'drift D_R WARN { when ratio("x") > 1.0 }\n'})
    assert [(d.code, d.location()) for d in diagnostics if d.is_error] == [
        ("POLC212", "a.rules:1:33"), ("POLC215", "a.rules:2:23")]


def test_a_bug_in_the_checker_is_a_diagnostic_at_the_expression_never_a_traceback(tmp_path, monkeypatch):
    from compiler.cel.checker import Checker

    def broken(self, node, **kwargs):
        raise RuntimeError("checker bug")

    monkeypatch.setattr(Checker, "check", broken)
    diagnostics, code = _check(tmp_path, {"g.rules": "gate reflex_promotion {\n  require 1 < 2\n}\n"})
    found = [d for d in diagnostics if d.code == "POLC270"]
    assert found and found[0].location() == "g.rules:2:11" and "checker bug" in found[0].message
    assert found[0].is_error and code == 1


def test_a_gate_parameter_of_the_wrong_type_is_reported_at_its_toml_value(tmp_path):
    policy = open("examples/model_policy.toml").read().replace("p95_latency_ms = 2000", 'p95_latency_ms = "fast"')
    rules = '''gate reflex_promotion {
  input metrics: {p95_latency_ms: double, success_parity_percent: double}
  require metrics.p95_latency_ms <= params.p95_latency_ms
  require params.p95_latency_ms > metrics.success_parity_percent
  require params.success_parity_percent > "high"
}
'''
    diagnostics, code = _check(tmp_path, {"g.rules": rules}, policy=policy)
    found = [d for d in diagnostics if d.is_error]
    blamed = [d for d in found if d.code == "POLC267"]
    assert code == 1 and len(blamed) == 1, found  # two uses of one parameter: one error, two notes
    line = policy.splitlines().index('p95_latency_ms = "fast"') + 1
    assert blamed[0].location() == f"model_policy.toml:{line}:18"
    assert blamed[0].message == '[gates.reflex_promotion] `p95_latency_ms` is a string ("fast"), which gate ' \
                                '`reflex_promotion` cannot use'
    assert blamed[0].hint == "write `p95_latency_ms` as a number (no quotes)"
    assert [n.split(":")[0:3] for n in blamed[0].notes] == [["used at g.rules", "3", "11"], ["used at g.rules", "4", "11"]]
    # against a literal, the rule may be the one that is wrong: reported at the rule
    assert [(d.code, d.location()) for d in found if d.code != "POLC267"] == [("POLC213", "g.rules:5:11")]

"""Review of prompt and weight changes: unified template diffs and share shifts from a real diff."""

from __future__ import annotations

from compiler.diff.prompt_review import prompt_diffs, render_markdown, render_text, weight_shifts
from compiler.diff.report_json import to_json
from compiler.diff.review import review_args

from .helpers import BASE, compile_ok

POLICY = BASE + """
[weights.architect]
"claude-sonnet-4-20250514" = 90
gpt-4o = 10

[prompts.plan]
template_file = "prompts/plan.j2"

[prompts.plan.variables]
request = { type = "string" }
"""
PLAN = "Plan the work.\nRequest: {{ request }}\nBe brief.\n"


def report_for(tmp_path, old: tuple, new: tuple) -> dict:
    a = compile_ok(tmp_path / "old", *old).bundle_dir / "snapshot.json"
    b = compile_ok(tmp_path / "new", *new).bundle_dir / "snapshot.json"
    return to_json(review_args(str(a), str(b), cwd=tmp_path, rules=[]))


def test_a_template_edit_is_a_unified_diff(tmp_path):
    report = report_for(tmp_path, (POLICY, {"prompts/plan.j2": PLAN}),
                        (POLICY, {"prompts/plan.j2": PLAN.replace("Be brief.", "Be thorough.\nCite files.")}))
    (diff,) = prompt_diffs(report["changes"])
    assert diff.signature == "plan" and diff.kind == "changed"
    assert "-Be brief.\n+Be thorough.\n+Cite files.\n" in diff.unified
    markdown = render_markdown(report)
    assert "#### Prompt changes" in markdown and "```diff\n--- a/prompts.plan" in markdown
    assert "#### Weight shifts" not in markdown
    assert " Request: {{ request }}" in render_text(report)


def test_an_added_prompt_diffs_against_nothing(tmp_path):
    extra = '\n[prompts.judge]\ntemplate = "Grade {{ answer }}."\n\n[prompts.judge.variables]\n' \
            'answer = { type = "string" }\n'
    report = report_for(tmp_path, (POLICY, {"prompts/plan.j2": PLAN}), (POLICY + extra, {"prompts/plan.j2": PLAN}))
    (diff,) = prompt_diffs(report["changes"])
    assert (diff.signature, diff.kind) == ("judge", "added")
    assert diff.unified.endswith("+Grade {{ answer }}.\n\\ No newline at end of file\n")


def test_backticks_in_a_template_cannot_close_the_fence(tmp_path):
    tricky = PLAN + "````\n</details>\n"
    report = report_for(tmp_path, (POLICY, {"prompts/plan.j2": PLAN}), (POLICY, {"prompts/plan.j2": tricky}))
    markdown = render_markdown(report)
    assert "`````diff\n" in markdown and markdown.count("`````") == 2


def test_weight_shifts_in_shares_of_traffic(tmp_path):
    report = report_for(tmp_path, (POLICY, {"prompts/plan.j2": PLAN}),
                        (POLICY.replace("= 90", "= 60").replace("= 10", "= 40"), {"prompts/plan.j2": PLAN}))
    shifts = {(s.role, s.model): round(s.points, 6) for s in weight_shifts(report["changes"])}
    assert shifts == {("architect", "claude-sonnet-4-20250514"): -30.0, ("architect", "gpt-4o"): 30.0}
    assert "| `architect` | `gpt-4o` | 10.0% | 40.0% | +30.0 pp |" in render_markdown(report)
    assert prompt_diffs(report["changes"]) == []


def test_rescaled_weights_are_no_change(tmp_path):
    report = report_for(tmp_path, (POLICY, {"prompts/plan.j2": PLAN}),
                        (POLICY.replace("= 90", "= 9").replace("= 10", "= 1"), {"prompts/plan.j2": PLAN}))
    assert report["changes"] == [] and render_markdown(report) == "" and render_text(report) == ""


def test_model_config_changes_show_in_the_structural_diff(tmp_path):
    models = '\n[model_config.default]\nprovider = "openai"\ncontext_window = 128000\ninput_price_per_mtok = 2.5\n'
    report = report_for(tmp_path, (POLICY + models, {"prompts/plan.j2": PLAN}),
                        (POLICY + models.replace("2.5", "5.0").replace("128000", "200000"),
                         {"prompts/plan.j2": PLAN}))
    changed = {c["path"]: (c["old"], c["new"]) for c in report["changes"]}
    assert changed["model_config.gpt-4o.input_price_per_mtok"] == (2.5, 5.0)
    assert changed["model_config.gpt-4o.context_window"] == (128000, 200000)


def test_polc_diff_markdown_and_text_show_the_template_diff(tmp_path):
    from ..conftest import run_polc

    old = compile_ok(tmp_path / "old", POLICY, {"prompts/plan.j2": PLAN}).bundle_dir / "snapshot.json"
    new = compile_ok(tmp_path / "new", POLICY, {"prompts/plan.j2": PLAN.replace("Be brief.", "Be thorough.")}
                     ).bundle_dir / "snapshot.json"
    markdown = run_polc("diff", str(old), str(new), "--format", "markdown")
    assert markdown.returncode == 0, markdown.stdout + markdown.stderr
    assert "#### Prompt changes" in markdown.stdout
    assert "```diff\n--- a/prompts.plan\n+++ b/prompts.plan\n" in markdown.stdout
    assert "\n-Be brief.\n+Be thorough.\n" in markdown.stdout
    text = run_polc("diff", str(old), str(new), env={"NO_COLOR": "1"})
    assert "-Be brief." in text.stdout and "+Be thorough." in text.stdout

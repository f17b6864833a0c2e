"""[prompts.<signature>]: templates parsed in the sandbox at build time, rendered in it at run time."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.sandbox import SecurityError

from compiler.codes import exit_code_for
from compiler.passes.prompts import TemplateText, analyze
from compiler.runtime.prompts import Prompt, PromptError, PromptSecurityError, PromptVariableError, prompt_for

from .helpers import BASE, compile_ok, diagnose, findings, project

FILE_PROMPT = """
[prompts.plan]
template_file = "prompts/plan.j2"

[prompts.plan.variables]
request = { type = "string" }
max_steps = { type = "integer" }
"""
PLAN = "Plan at most {{ max_steps }} steps.\n\nRequest: {{ request }}\n"


def inline(template_line: str) -> str:
    return ('\n[prompts.judge]\ntemplate = """\nGrade the answer.\n' + template_line +
            '\n"""\n\n[prompts.judge.variables]\nanswer = { type = "string" }\n')


def test_file_and_inline_templates_compile_into_the_snapshot(tmp_path):
    result = compile_ok(tmp_path, BASE + FILE_PROMPT + inline("Answer: {{ answer }}"),
                        {"prompts/plan.j2": PLAN})
    snap = result.snapshot
    assert snap["prompts"]["plan"]["template"] == PLAN
    assert snap["prompts"]["plan"]["template_file"] == "prompts/plan.j2"
    assert snap["prompts"]["judge"]["template"] == "Grade the answer.\nAnswer: {{ answer }}\n"
    assert snap["prompts"]["judge"]["template_file"] is None
    assert snap["prompts"]["plan"]["variables"]["max_steps"] == {"type": "integer", "required": True,
                                                                 "description": None}
    assert "prompts/plan.j2" in snap["source_files"]
    assert "prompts/plan.j2" in [s["path"] for s in result.compilation["manifest"]["source_files"]]


def test_a_template_change_changes_the_hash(tmp_path):
    one = compile_ok(tmp_path / "a", BASE + FILE_PROMPT, {"prompts/plan.j2": PLAN}).hash
    two = compile_ok(tmp_path / "b", BASE + FILE_PROMPT, {"prompts/plan.j2": PLAN + "Be brief.\n"}).hash
    assert one != two


def test_unclosed_block_in_a_file_points_at_the_template_line(tmp_path):
    bad = "Plan {{ max_steps }} steps.\n{% if request %}\nRequest: {{ request }}\n"
    found = diagnose(tmp_path, BASE + FILE_PROMPT, {"prompts/plan.j2": bad})
    assert findings(found) == [("POLC500", "prompts/plan.j2", 3, 1)]  # where the template ends
    assert "endif" in found[0].message and exit_code_for(found) == 3


def test_syntax_error_in_an_inline_template_points_at_the_toml_line(tmp_path):
    # the template starts on the line after `template = """`; its line 2 is TOML line 14
    found = diagnose(tmp_path, BASE + inline("Answer: {{ answer }"))
    assert [(c, f, line) for c, f, line, _ in findings(found)] == [("POLC500", "model_policy.toml", 14)]


def test_same_line_inline_template_positions(tmp_path):
    text = BASE + '\n[prompts.judge]\ntemplate = "Answer: {{ answr }}"\n\n[prompts.judge.variables]\n' \
                  'answer = { type = "string" }\n'
    found = diagnose(tmp_path, text)
    assert findings(found) == [("POLC501", "model_policy.toml", 12, 24), ("POLC502", "model_policy.toml", 15, 1)]


def test_undeclared_variable_points_at_its_use(tmp_path):
    found = diagnose(tmp_path, BASE + FILE_PROMPT, {"prompts/plan.j2": PLAN + "Context: {{ context }}\n"})
    assert findings(found) == [("POLC501", "prompts/plan.j2", 4, 13)]
    assert found[0].span.end_column == 20 and "[prompts.plan.variables] context" in found[0].hint


def test_loop_variables_and_globals_are_not_undeclared(tmp_path):
    body = PLAN + "{% for i in range(max_steps) %}{{ loop.index }}. {{ i }}{% endfor %}{% set x = 1 %}{{ x }}\n"
    assert diagnose(tmp_path, BASE + FILE_PROMPT, {"prompts/plan.j2": body}) == []


def test_declared_but_unused_variable_is_a_warning_at_its_declaration(tmp_path):
    found = diagnose(tmp_path, BASE + FILE_PROMPT, {"prompts/plan.j2": "Request: {{ request }}\n"})
    assert findings(found) == [("POLC502", "model_policy.toml", 16, 1)]
    assert found[0].severity.value == "warning" and exit_code_for(found) == 0


@pytest.mark.parametrize("expression, attribute", [
    ("{{ ''.__class__ }}", "__class__"),
    ("{{ request.__class__.__mro__ }}", "__class__"),
    ("{{ request['__class__'] }}", "__class__"),
    ("{{ request|attr('__globals__') }}", "__globals__"),
    ("{{ request.upper.__func__ }}", "__func__"),
])
def test_attribute_the_sandbox_forbids_is_an_error_at_build_time(tmp_path, expression, attribute):
    found = diagnose(tmp_path, BASE + FILE_PROMPT, {"prompts/plan.j2": PLAN + expression + "\n"})
    assert [(d.code, d.span.line) for d in found][0] == ("POLC503", 4)
    assert attribute in found[0].message


def test_include_extends_import_are_refused(tmp_path):
    body = PLAN + "{% include 'other.j2' %}\n"
    assert findings(diagnose(tmp_path, BASE + FILE_PROMPT, {"prompts/plan.j2": body})) == [
        ("POLC506", "prompts/plan.j2", 4, 4)]


@pytest.mark.parametrize("name", ["../outside.j2", "/etc/passwd", "prompts/../../outside.j2"])
def test_template_file_outside_the_project_is_refused(tmp_path, name):
    (tmp_path / "outside.j2").write_text("{{ request }}")
    found = diagnose(tmp_path, BASE + FILE_PROMPT.replace("prompts/plan.j2", name))
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("POLC005", 12, 17)]
    assert exit_code_for(found) == 3


def test_symlink_out_of_the_project_is_refused(tmp_path):
    (tmp_path / "secret.j2").write_text("{{ request }}")
    root = project(tmp_path, BASE + FILE_PROMPT)
    (root / "prompts").mkdir()
    os.symlink(tmp_path / "secret.j2", root / "prompts" / "plan.j2")
    from compiler import check

    assert [d.code for d in check(root)] == ["POLC005"]


def test_missing_template_file(tmp_path):
    found = diagnose(tmp_path, BASE + FILE_PROMPT)
    assert [(d.code, d.span.line) for d in found] == [("POLC002", 12)] and exit_code_for(found) == 3


def test_template_and_template_file_together(tmp_path):
    text = BASE + FILE_PROMPT.replace('template_file = "prompts/plan.j2"', 'template = "x"\ntemplate_file = "a.j2"')
    assert findings(diagnose(tmp_path, text)) == [("POLC504", "model_policy.toml", 11, 1)]
    text = BASE + FILE_PROMPT.replace('template_file = "prompts/plan.j2"\n', 'description = "no template"\n')
    assert [c for c, *_ in findings(diagnose(tmp_path, text))] == ["POLC504"]


@pytest.mark.parametrize("demo, expected", [
    ('input = { request = "r", max_steps = 3 }\noutput = "ok"', []),
    ('input = { request = "r", max_step = 3 }\noutput = "ok"', [("POLC505", 19, 26), ("POLC505", 19, 1)]),
    ('input = { request = "r", max_steps = "3" }\noutput = "ok"', [("POLC505", 19, 38)]),
    ('input = { request = "r", max_steps = 3 }\noutput = 1979-05-27', [("POLC101", 20, 10)]),
    ('input = { request = 1979-05-27, max_steps = 3 }\noutput = "ok"', [("POLC505", 19, 21)]),
    ('input = { request = "r", max_steps = 3 }', [("POLC103", 18, 1)]),
])
def test_demos_are_checked_against_the_variables(tmp_path, demo, expected):
    text = BASE + FILE_PROMPT + "\n[[prompts.plan.demos]]\n" + demo + "\n"
    found = diagnose(tmp_path, text, {"prompts/plan.j2": PLAN})
    assert [(d.code, d.span.line, d.span.column) for d in found] == sorted(expected, key=lambda e: (e[1], e[2]))


def test_demos_lower_into_the_snapshot(tmp_path):
    text = BASE + FILE_PROMPT + '\n[[prompts.plan.demos]]\ninput = { request = "r", max_steps = 3 }\noutput = "ok"\n'
    snap = compile_ok(tmp_path, text, {"prompts/plan.j2": PLAN}).snapshot
    assert snap["prompts"]["plan"]["demos"] == [{"input": {"request": "r", "max_steps": 3}, "output": "ok"}]


# -- run time -------------------------------------------------------------------------------

def prompt(template: str, **variables) -> Prompt:
    return Prompt.from_block("plan", {"template": template, "variables": variables})


def test_render_from_a_built_snapshot(tmp_path):
    snap = compile_ok(tmp_path, BASE + FILE_PROMPT, {"prompts/plan.j2": PLAN}).snapshot
    text = prompt_for(snap["prompts"], "plan").render(request="add --json", max_steps=3)
    assert text == "Plan at most 3 steps.\n\nRequest: add --json\n"


@pytest.mark.parametrize("values, fragment", [
    ({"max_steps": 3}, "needs variable `request` (string)"),
    ({"request": "r", "max_steps": "3"}, "`max_steps` must be integer, got str"),
    ({"request": "r", "max_steps": True}, "`max_steps` must be integer, got bool"),
    ({"request": "r", "max_steps": 3, "max_step": 4}, "no variable `max_step`; did you mean `max_steps`?"),
])
def test_missing_or_mistyped_variables_are_named(values, fragment):
    p = prompt(PLAN, request={"type": "string"}, max_steps={"type": "integer"})
    with pytest.raises(PromptVariableError) as info:
        p.render(**values)
    assert fragment in str(info.value)


def test_an_optional_variable_used_unguarded_is_a_clear_error():
    p = prompt("a\n{{ note }}", note={"type": "string", "required": False})
    assert p.render(note="x") == "a\nx"
    with pytest.raises(PromptVariableError, match=r"<polc:prompts.plan>:2\): 'note' is undefined"):
        p.render()


@pytest.mark.parametrize("template", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ request|attr('__class__') }}",
    "{{ request.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
])
def test_sandbox_escape_attempts_never_execute(template):
    p = prompt(template, request={"type": "any"})
    with pytest.raises(PromptSecurityError) as info:
        p.render(request="x")
    assert isinstance(info.value.__cause__, SecurityError)
    assert "sandbox refused" in str(info.value)


def test_a_template_cannot_mutate_its_inputs():
    items = [1, 2]
    with pytest.raises(PromptSecurityError):
        prompt("{{ items.append(3) }}", items={"type": "list"}).render(items=items)
    assert items == [1, 2]


def test_runtime_errors_name_the_template_line():
    p = Prompt.from_block("plan", {"template": "ok\n{{ 1 // n }}", "variables": {"n": {"type": "integer"}},
                                   "template_file": "prompts/plan.j2"})
    with pytest.raises(PromptError, match=r"prompts/plan.j2:2\): rendering failed: ZeroDivisionError"):
        p.render(n=0)


def test_importing_the_runtime_does_not_import_jinja2():
    code = ("import sys, compiler.runtime.prompts, compiler.runtime.split, compiler.runtime.models\n"
            "import compiler.runtime\n"
            "heavy = {'jinja2', 'numpy', 'lark', 'jsonschema'} & set(sys.modules)\n"
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_two_prompts_sharing_a_file_record_it_once(tmp_path):
    text = BASE + FILE_PROMPT + FILE_PROMPT.replace("[prompts.plan", "[prompts.replan")
    result = compile_ok(tmp_path, text, {"prompts/plan.j2": PLAN})
    paths = [s["path"] for s in result.compilation["manifest"]["source_files"]]
    assert paths.count("prompts/plan.j2") == 1
    assert result.snapshot["prompts"]["replan"]["template"] == PLAN


_PIECES = list("{}%#-|.[]()'\" \n_=<>!ax1") + ["{{", "}}", "{%", "%}", "{#", "#}", "if ", "endif", "for ",
                                             " in ", "endfor", "set ", "raw", "endraw", "include", "__class__"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_any_template_text_gives_facts_or_diagnostics_never_an_exception(text):
    template = TemplateText("p", text, "p.j2", text, 1, 1, False, "p.j2")
    facts = analyze(template)
    assert all(d.code == "POLC500" and d.span.file == "p.j2" for d in facts.errors)


def test_absurdly_nested_templates_are_a_diagnostic():
    deep = "{% if a %}" * 3000 + "x" + "{% endif %}" * 3000
    (error,) = analyze(TemplateText("p", deep, "p.j2", deep, 1, 1, False)).errors
    assert error.code == "POLC500" and "nested too deeply" in error.message


def test_a_runaway_recursive_macro_is_a_prompt_error():
    p = prompt("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
    with pytest.raises(PromptError, match="RecursionError"):
        p.render()

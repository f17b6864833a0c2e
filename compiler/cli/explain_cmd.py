"""``polc explain gate NAME [--codegen]`` and ``polc explain drift RULE_ID``: what a rule is, for review.

Compiles the project up to its ``rules`` block (nothing is written), then prints the
declaration: where it is, its inputs and params, each condition with its span and message;
``--codegen`` adds the Python the compiled backend generates for each condition.
"""

from __future__ import annotations

import json
import sys

import click

from ..codes import exit_code_for


def _compile_rules(path):
    from ..pipeline import run_pipeline

    result = run_pipeline(path, until="lower_rules")
    if exit_code_for(result.diagnostics) or result.compilation is None:
        from ..render import render
        click.echo(render(result.diagnostics, "text"), err=True)
        sys.exit(exit_code_for(result.diagnostics) or 1)
    c = result.compilation
    document = c.get("model_policy")
    gates = document.data.get("gates", {}) if document is not None else {}
    return c.get("snapshot_blocks", {}).get("rules", {}), gates


def _fail(message: str, hint: str | None, code: str = "POLC266") -> None:
    from ..diagnostics import Diagnostic
    from ..render import render
    click.echo(render([Diagnostic.error(code, message, hint=hint)], "text"), err=True)
    sys.exit(1)


@click.group("explain")
def explain_cmd():
    """Explain a compiled gate or drift rule (what it reads, its conditions, its code)."""


@explain_cmd.command("gate")
@click.argument("name")
@click.argument("path", required=False, type=click.Path(path_type=str))
@click.option("--codegen", is_flag=True, help="Also print the generated Python of each condition.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def explain_gate(name, path, codegen, fmt):
    """Show gate NAME of the project at PATH (default: found from the current directory)."""
    from ..diagnostics import did_you_mean
    from ..rules.runtime import build_gate

    block, tables = _compile_rules(path)
    entry = block.get("gates", {}).get(name)
    if entry is None:
        _fail(f"no gate `{name}` in this policy", did_you_mean(name, block.get("gates", {}))
              or "gates are compiled when a .rules file declares them and [gates.NAME] gives parameters")
    source = build_gate(block, name, tables.get(entry["params"]) if entry["params"] else None).generated_source() \
        if codegen else None
    if fmt == "json":
        click.echo(json.dumps({"gate": name, **entry, "params_table": tables.get(name), "codegen": source},
                              indent=2, sort_keys=True))
        return
    click.echo(f"gate {name}  ({entry['file']}:{entry['span'][0]}:{entry['span'][1]})")
    for item in entry["inputs"]:
        click.echo(f"  input {item['name']}: {item['type']}")
    if entry["params"]:
        click.echo(f"  params = [gates.{entry['params']}] {json.dumps(tables.get(entry['params']), sort_keys=True)}")
    for let in entry["lets"]:
        click.echo(f"  let {let['name']} = {let['expr']}")
    for i, cond in enumerate(entry["conditions"], 1):
        click.echo(f"  require #{i} {cond['expr']}  ({entry['file']}:{cond['span'][0]}:{cond['span'][1]})")
        if cond["message"]:
            click.echo(f"    message \"{cond['message']['template']}\"")
    if codegen:
        click.echo("\n# generated Python (compiled under <polc:FILE#NAME>; line maps point back to the spans above)")
        click.echo(source or "# the CEL engine's compiled backend is not available; conditions run on its interpreter")


@explain_cmd.command("drift")
@click.argument("rule_id")
@click.argument("path", required=False, type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def explain_drift(rule_id, path, fmt):
    """Show drift rule RULE_ID (stdlib or the project's)."""
    from ..diagnostics import did_you_mean

    block, _ = _compile_rules(path)
    entry = block.get("drift", {}).get(rule_id)
    if entry is None:
        _fail(f"no drift rule `{rule_id}`", did_you_mean(rule_id, block.get("drift", {})))
    if fmt == "json":
        click.echo(json.dumps({"rule_id": rule_id, **entry}, indent=2, sort_keys=True))
        return
    click.echo(f"drift {rule_id} {entry['severity']}  ({entry['file']}:{entry['span'][0]}:{entry['span'][1]})")
    for let in entry["lets"]:
        click.echo(f"  let {let['name']} = {let['expr']}")
    click.echo(f"  when {entry['when']['expr']}")
    if entry["message"]:
        click.echo(f"  message \"{entry['message']['template']}\"")

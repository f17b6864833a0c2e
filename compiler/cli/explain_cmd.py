"""``polc explain gate NAME [--codegen]`` and ``polc explain drift RULE_ID``: what a rule is, for review;
``polc explain gate NAME --metrics FILE`` and ``polc explain route ROLE``: a decision with its reasons.

Definitions compile the project up to its ``rules`` block (nothing is written), then print the
declaration: where it is, its inputs and params, each condition with its span and message;
``--codegen`` adds the Python the runtime generates from the gate's expression IR (its PASS
test, then each condition). JSON output shows the declaration as the snapshot stores it,
without the IR itself (``node``, message ``parts``), which is for machines.

Decisions come from the runtime on the compiled, verified snapshot (``--bundle HASH|DIR``, else
the head pointer of the project's out dir), exactly as a router would make them:
``snap.gate(name).evaluate(metrics)`` for a gate (exit 0 PASS, 1 FAIL) and
``snap.explain_route(role)`` for a route (rendered by ``polc route``'s own ``echo_route``).
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


def _unknown(message: str, hint: str | None, code: str = "POLC266") -> None:
    """A gate or drift rule the policy does not have was named on the command line: exit 2."""
    from ..diagnostics import Diagnostic
    from ..errors import UsageError

    raise UsageError(message, [Diagnostic.error(code, message, hint=hint)], hint=hint)


@click.group("explain")
def explain_cmd():
    """Explain a compiled gate or drift rule (what it reads, its conditions, its code)."""


_BUNDLE = click.option("--bundle", metavar="HASH|DIR",
                       help="Bundle dir, head pointer, snapshot.json or policy_bundle_id (resolved under the "
                            "project's out dir); default: the head pointer <out>/policy.json.")


def _snapshot(bundle: str | None, path: str | None):
    """The verified snapshot a decision is made on: ``--bundle``, else the project's head pointer.

    Ids resolve under the out dir of the project at PATH, as ``polc route --pin`` does.
    """
    from pathlib import Path

    from ..errors import InputError
    from ..runtime import load_snapshot
    from ..runtime.resolve import out_dir_for

    root = Path(path).parent if path and Path(path).is_file() else path  # PATH may name policy.toml
    if bundle:
        return load_snapshot(bundle, root=root)
    head = out_dir_for(root) / "policy.json"
    if not head.exists():
        from ..diagnostics import Diagnostic

        message = f"no compiled policy: `{head}` does not exist"
        hint = "run `polc build` first, or pass --bundle HASH|DIR"
        raise InputError(message, [Diagnostic.error("POLC700", message, hint=hint)], hint=hint)
    return load_snapshot(head)


@explain_cmd.command("route")
@click.argument("role")
@click.argument("path", required=False, type=click.Path(path_type=str))
@_BUNDLE
@click.option("--passed-gate", "passed", multiple=True, metavar="GATE",
              help="Treat this gate as passed (repeatable), as `polc route --passed-gate` does.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def explain_route(role, path, bundle, passed, fmt):
    """Explain the route for ROLE on the compiled policy of the project at PATH: the ordered
    candidates, why each is there, and notes (reflex gate, safe and shadow modes)."""
    from .runtime_cmd import echo_route

    echo_route(_snapshot(bundle, path), role, passed, fmt)


def _explain_gate_decision(name: str, snap, metrics_path: str, fmt: str) -> None:
    """Evaluate gate NAME of ``snap`` on the metrics file, print the decision, exit 0 PASS / 1 FAIL."""
    import hashlib

    from ..registry.gate_receipt import read_metrics  # bounded read, yaml.safe_load, exit 3 if unreadable

    raw, metrics = read_metrics(metrics_path)
    gate = snap.gate(name)
    result = gate.evaluate(metrics)
    failures = [{**f.to_json(), "location": str(f.span)} for f in result.failures]
    verdict = "PASS" if result.passed else "FAIL"
    if fmt == "json":
        click.echo(json.dumps({"gate": name, "passed": result.passed, "verdict": verdict,
                               "conditions": result.conditions, "failures": failures,
                               "policy_hash": snap.hash, "policy_id": snap.policy_id,
                               "policy_bundle_id": snap.policy_bundle_id, "metrics_file": metrics_path,
                               "metrics_sha256": hashlib.sha256(raw).hexdigest()}, indent=2, sort_keys=True))
    else:
        summary = f"{len(failures)} of {result.conditions} conditions failed" if failures \
            else f"all {result.conditions} conditions hold"
        click.echo(f"{verdict} gate {name} under policy {snap.hash[:12]} ({snap.policy_id}): {summary}")
        for f in failures:
            click.echo(f"  failed: {f['condition']}  ({f['location']})")
            click.echo(f"    {f['message']}")
            if f["error"]:  # not evaluated: its observed values are placeholders, the error says what was seen
                click.echo(f"    not evaluated: {f['error']}")
            elif f["observed"]:
                seen = ", ".join(f"{k} = {json.dumps(v, default=str)}" for k, v in f["observed"].items())
                click.echo(f"    observed: {seen}")
    sys.exit(0 if result.passed else 1)


@explain_cmd.command("gate")
@click.argument("name")
@click.argument("path", required=False, type=click.Path(path_type=str))
@click.option("--codegen", is_flag=True, help="Also print the generated Python of each condition.")
@click.option("--metrics", "metrics_path", metavar="FILE",
              help="Evaluate the compiled gate against these metrics (JSON or YAML mapping) and explain the decision.")
@_BUNDLE
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def explain_gate(name, path, codegen, metrics_path, bundle, fmt):
    """Show gate NAME of the project at PATH (default: found from the current directory); with
    --metrics, evaluate it on the compiled bundle and explain the decision (exit 0 PASS, 1 FAIL)."""
    from ..diagnostics import did_you_mean
    from ..rules.runtime import build_gate

    if metrics_path is not None:
        if codegen:
            raise click.UsageError("--codegen shows a gate's definition; it does not combine with --metrics")
        _explain_gate_decision(name, _snapshot(bundle, path), metrics_path, fmt)
    if bundle is not None:
        raise click.UsageError("--bundle selects the bundle a decision is made on; give --metrics FILE too")
    block, tables = _compile_rules(path)
    entry = block.get("gates", {}).get(name)
    if entry is None:
        _unknown(f"no gate `{name}` in this policy", did_you_mean(name, block.get("gates", {}))
              or "gates are compiled when a .rules file declares them and [gates.NAME] gives parameters")
    source = build_gate(block, name, tables.get(entry["params"]) if entry["params"] else None).generated_source() \
        if codegen else None
    if fmt == "json":
        click.echo(json.dumps({"gate": name, **_without_ir(entry), "params_table": tables.get(name),
                               "codegen": source}, indent=2, sort_keys=True))
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
        click.echo(source)


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
        _unknown(f"no drift rule `{rule_id}`", did_you_mean(rule_id, block.get("drift", {})))
    if fmt == "json":
        click.echo(json.dumps({"rule_id": rule_id, **_without_ir(entry)}, indent=2, sort_keys=True))
        return
    click.echo(f"drift {rule_id} {entry['severity']}  ({entry['file']}:{entry['span'][0]}:{entry['span'][1]})")
    for let in entry["lets"]:
        click.echo(f"  let {let['name']} = {let['expr']}")
    click.echo(f"  when {entry['when']['expr']}")
    if entry["message"]:
        click.echo(f"  message \"{entry['message']['template']}\"")


@explain_cmd.command("budget")
@click.argument("path", required=False, type=click.Path(path_type=str))
@click.option("--bundle", metavar="HASH|DIR",
              help="Prove a compiled bundle (dir, head pointer, snapshot.json or policy_bundle_id) instead of "
                   "the sources of the project at PATH.")
@click.option("--stage", "stages", multiple=True, metavar="STAGE", help="Only this stage (repeatable).")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def explain_budget(path, bundle, stages, fmt):
    """Prove the budgets of the project at PATH (default: found from the current directory):
    per stage and model, the worst-case and expected cost, the binding constraint, and the
    whole-run totals, in exact arithmetic (docs/impact.md). Exit 1 when a finding is an error
    (a run can overshoot hard_limit)."""
    from ..diagnostics import Diagnostic
    from ..errors import UsageError
    from ..impact.budget_report import render_text, to_json
    from ..impact.prover import prove
    from ..render import render

    if bundle is not None:
        snap = _snapshot(bundle, path)
        proof, found, title = prove(snap.data), [], f"bundle {snap.hash[:12]}"
    else:
        proof, found, title = _prove_sources(path)
    known = [s.stage for s in proof.stages]
    for name in stages:
        if name not in known:
            from ..diagnostics import did_you_mean
            message = f"unknown stage `{name}`"
            raise UsageError(message, [Diagnostic.error(
                "POLC563", message, hint=did_you_mean(name, known) or "the policy budgets no stages")])
    if stages:
        from dataclasses import replace
        proof = replace(proof, stages=tuple(s for s in proof.stages if s.stage in stages))
    if fmt == "json":
        click.echo(json.dumps({**to_json(proof), "diagnostics": [d.to_json() for d in found]}, indent=2,
                              ensure_ascii=False))
    else:
        click.echo(render_text(proof, title), nl=False)
        if found:
            click.echo("\n" + render(found, "text"), nl=False)
    sys.exit(1 if any(d.is_error for d in found) else 0)


def _prove_sources(path):
    """The proof of the project's sources (compiled up to check_catalog) and check_budgets' findings."""
    from ..impact.prover import prove
    from ..passes.budget_proof import budget_findings, policy_blocks
    from ..pipeline import run_pipeline

    result = run_pipeline(path, until="check_catalog")
    if exit_code_for(result.diagnostics) or result.compilation is None or \
            result.compilation.get("model_policy_valid") is None:
        from ..render import render
        click.echo(render(result.diagnostics, "text"), err=True)
        sys.exit(exit_code_for(result.diagnostics) or 1)
    c = result.compilation
    doc = c["model_policy_valid"]
    return prove(policy_blocks(doc.data)), list(budget_findings(doc)), \
        c.project.section("project").get("name") or c.project.root.name

def _without_ir(value):
    """A rules block entry without its expression IR (what a person reads)."""
    if isinstance(value, dict):
        return {k: _without_ir(v) for k, v in value.items() if k not in ("node", "parts")}
    if isinstance(value, list):
        return [_without_ir(v) for v in value]
    return value

"""Runtime commands over a compiled, verified snapshot (no policy sources needed):

* ``polc route ROLE``: a routing decision with its reasons;
* ``polc trace RUN_ID``: which snapshot governed a run, and its stage transitions.
"""

from __future__ import annotations

import json
import os
import sys

import click


def _load(policy: str | None, pin: str | None):
    from ..runtime import load_snapshot
    from ..runtime.resolve import out_dir_for

    if pin:
        return load_snapshot(pin, root=policy)
    return load_snapshot(policy or out_dir_for(None) / "policy.json")


_FORMAT = click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)


@click.command("route")
@click.argument("role")
@click.option("--policy", type=click.Path(path_type=str),
              help="Head pointer, bundle dir or snapshot.json (default: the project's <out>/policy.json); "
                   "with --pin, the out dir or project dir to resolve the id under.")
@click.option("--pin", help="A policy_bundle_id (hash, unique prefix or policy_id) to route with.")
@click.option("--passed-gate", "passed", multiple=True, help="Treat this gate as passed (repeatable).")
@_FORMAT
def route_cmd(role, policy, pin, passed, fmt):
    """Print the ordered model candidates for ROLE, each with why it is there."""
    snap = _load(policy, pin)
    echo_route(snap, role, passed, fmt)


def echo_route(snap, role: str, passed, fmt: str) -> None:
    """Print ``snap.explain_route`` for ROLE (shared by ``polc route`` and ``polc explain route``)."""
    if passed:  # each must be a gate of this policy: a misspelled one would silently change nothing
        snap.with_gate_results({name: True for name in passed})
    decision = snap.explain_route(role, {"passed_gates": list(passed)})
    if fmt == "json":
        click.echo(json.dumps(decision, indent=2))
        return
    click.echo(f"route for `{role}` under policy {snap.hash[:12]} ({snap.policy_id}):")
    for rank, c in enumerate(decision["candidates"], 1):
        click.echo(f"  {rank}. {c['model']:<32} [{c['source']}] {c['reason']}")
    for note in decision["notes"]:
        click.echo(f"  note: {note}")


@click.command("trace")
@click.argument("run_id")
@click.option("--workspace", type=click.Path(file_okay=False, path_type=str),
              default=lambda: os.environ.get("POLC_WORKSPACE", ".polc"), show_default="$POLC_WORKSPACE or .polc",
              help="The run workspace given to start_run().")
@click.option("--from-capsule", is_flag=True,
              help="Answer from the capsule alone (its event log and snapshot objects), not the workspace.")
@click.option("--capsule", "capsule_location",
              help="With --from-capsule: the capsule file or postgresql:// URL (default: POLC_CAPSULE, else the "
                   "project's [storage].capsule).")
@click.option("--workspace-name", help="With --from-capsule: the capsule workspace, when the run id is in several.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Load and verify the governing snapshot(s).")
@_FORMAT
def trace_cmd(run_id, workspace, from_capsule, capsule_location, workspace_name, verify, fmt):
    """Which snapshot governed RUN_ID, and its stage transitions."""
    if from_capsule or capsule_location:
        payload = _trace_capsule(run_id, capsule_location, workspace_name, verify)
    else:
        from ..runtime.trace import governing_snapshot, trace_run

        trace = trace_run(workspace, run_id)
        payload = trace.to_json()
        if verify:
            for ref in trace.policy_refs:  # every referenced snapshot must load and match its reference
                governing_snapshot(workspace, run_id, seq=ref["seq"])
            payload["verified"] = True
    if fmt == "json":
        click.echo(json.dumps(payload, indent=2))
        return
    source = f" (from the capsule stream {payload['stream']})" if payload.get("stream") else ""
    click.echo(f"run {run_id}: {payload['status']}, policy_bundle_id {payload['policy_bundle_id']}{source}")
    for ref in payload["policies"]:
        click.echo(f"  #{ref['seq']:<4} policy {ref['policy_hash'][:12]} ({ref['reason']}) {ref['policy_uri']}")
    for t in payload["transitions"]:
        click.echo(f"  #{t['seq']:<4} {t['from_stage'] or '-'} -> {t['to_stage']}  policy {t['policy_hash'][:12]}")
    if payload["torn_tail"]:
        click.echo("  note: the event log ends in a torn line (a write was cut off); it was ignored", err=True)
    if verify:
        click.echo("  verified: every referenced snapshot loads and matches its hash")
    sys.exit(0)


def _trace_capsule(run_id: str, location: str | None, workspace_name: str | None, verify: bool) -> dict:
    from ..runtime.trace import governing_from_capsule, trace_from_capsule
    from ..capsule import open_capsule
    from ..runtime.resolve import default_capsule_path

    store = open_capsule(location or default_capsule_path(), create=False)
    try:
        trace = trace_from_capsule(store, run_id, workspace=workspace_name)
        payload = {**trace.to_json(), "stream": trace.receipt["stream"]}
        if verify:
            for ref in trace.policy_refs:
                governing_from_capsule(store, trace, seq=ref["seq"])
            payload["verified"] = True
    finally:
        store.close()
    return payload

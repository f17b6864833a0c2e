"""``polc registry ...``: the registry from the command line (docs/registry.md).

Every subcommand takes ``--json`` (the contracts schema's response, or an ErrorResponse with the
same exit code), ``--registry URL`` (else POLC_REGISTRY_URL, [registry] url, .polc/registry.db)
and ``--project DIR`` (else policy.toml is found by walking up from the current directory).
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
from pathlib import Path

import click

from ..errors import ExitCode, PolcError

STATES = ("candidate", "staged", "shadow", "promoted", "rolled_back", "retired")
ROLES = ("submitter", "approver", "operator")
MAX_RECEIPT_BYTES = 1024 * 1024


def _common(fn):
    @click.option("--registry", "registry_url", metavar="URL", help="postgresql://..., sqlite:///path or a file path.")
    @click.option("--project", "project_dir", metavar="DIR", type=click.Path(file_okay=True), help="Where policy.toml is.")
    @click.option("--json", "as_json", is_flag=True, help="Print the JSON response of the contracts schema.")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


def _scoped(required: bool = True):
    def decorate(fn):
        fn = click.option("--policy", "policy_name", metavar="NAME", help="Policy name (default [registry] default_policy "
                          "or the project name).")(fn)
        fn = click.option("--tenant", metavar="NAME", help="Tenant (omit for the tenant-less scope).")(fn)
        return click.option("--env", "environment", required=required, metavar="NAME", help="Environment.")(fn)
    return decorate


def _acting(fn):
    fn = click.option("--reason", default="", help="Why (kept in the audit log).")(fn)
    fn = click.option("--role", type=click.Choice(ROLES), default=lambda: os.environ.get("POLC_ROLE", "operator"),
                      show_default="$POLC_ROLE or operator", help="The role you act in.")(fn)
    return click.option("--actor", default=lambda: os.environ.get("POLC_ACTOR") or getpass.getuser(),
                        show_default="$POLC_ACTOR or your user name", help="Who you are (kept in the audit log).")(fn)


@click.group("registry")
def registry():
    """Publish bundles, move them through rollout states, resolve, pin, roll back, audit."""


# --- plumbing -----------------------------------------------------------------------------------

def _config(project_dir: str | None, registry_url: str | None):
    from ..project import load_project
    from ..registry import RegistryConfig

    try:
        project = load_project(project_dir)
    except PolcError as exc:
        if project_dir is None and (registry_url or os.environ.get("POLC_REGISTRY_URL")) and \
                any(d.code == "POLC001" for d in exc.diagnostics):
            return RegistryConfig()  # no project: fine when the registry is named explicitly
        raise
    errors = [d for d in project.diagnostics if d.is_error]
    if errors:
        from ..codes import exit_code_for

        raise _ProjectError(errors, exit_code_for(errors))
    return RegistryConfig.from_project(project)


class _ProjectError(PolcError):
    def __init__(self, diagnostics, code):
        super().__init__("policy.toml is invalid", diagnostics)
        self.exit_code = ExitCode(code)


def _scope(config, environment, tenant, policy_name):
    from ..registry import Scope

    return Scope(environment, policy_name or config.default_policy, tenant or None)


def _run(as_json: bool, project_dir, registry_url, operation, text, exit_of=lambda response: 0):
    """Open the registry, run ``operation(registry, config)``, print the response; the exit code."""
    from ..registry import RegistryError, open_registry

    try:
        config = _config(project_dir, registry_url)
        with open_registry(registry_url, config=config) as reg:
            response = operation(reg, config)
    except PolcError as exc:
        if not as_json:
            raise
        error = exc if isinstance(exc, RegistryError) else _as_registry_error(exc)
        click.echo(json.dumps(error.to_json(), indent=2))
        return int(error.exit_code)
    if as_json:
        click.echo(json.dumps(response, indent=2, ensure_ascii=False))
        return exit_of(response)
    text(response)
    return exit_of(response)


def _as_registry_error(exc: PolcError):
    from ..registry import RegistryError

    category = {2: "INVALID_PAYLOAD", 3: "INVALID_PAYLOAD", 4: "INTEGRITY"}.get(int(exc.exit_code), "INVALID_PAYLOAD")
    first = exc.diagnostics[0] if exc.diagnostics else None
    message = f"{first.location()}: {first.message}" if first else exc.message
    return RegistryError(category, first.code if first else "POLC601", message, hint=first.hint if first else exc.hint,
                         exit_code=int(exc.exit_code))


def _read_receipt(path: str) -> dict:
    from ..registry.errors import invalid

    try:
        data = Path(path).read_bytes()[: MAX_RECEIPT_BYTES + 1]
        if len(data) > MAX_RECEIPT_BYTES:
            raise invalid("POLC620", f"{path} is larger than {MAX_RECEIPT_BYTES:,} bytes", unreadable=True)
        value = json.loads(data.decode("utf-8"))
    except OSError as exc:
        raise invalid("POLC620", f"cannot read the gate receipt {path}: {exc.strerror}", unreadable=True,
                      hint="polc gate run writes one; pass its path with --receipt") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid("POLC620", f"{path} is not a JSON gate receipt: {exc}", unreadable=True) from None
    if not isinstance(value, dict):
        raise invalid("POLC620", f"{path} is not a JSON object", unreadable=True)
    return value


def _short(bundle_id: str | None) -> str:
    return bundle_id[:12] if bundle_id else "none"


def _scope_text(scope: dict) -> str:
    return f"{scope['environment']}/{scope.get('tenant') or '-'}/{scope['policy_name']}"


def _print_events(events) -> None:
    for e in events:
        scope = _scope_text(e["scope"]) if e["scope"] else "(all scopes)"
        move = f"{e['from_state'] or '-'} -> {e['to_state'] or '-'}"
        reason = f"  \"{e['reason']}\"" if e["reason"] else ""
        click.echo(f"{e['seq']:>6}  {e['observed_at_utc']}  {e['event_type']:<18} {_short(e['bundle_id'])}  "
                   f"{scope:<24} {move:<26} {e['actor']['name']} ({e['actor']['role']}){reason}")


def _exit(code: int) -> None:
    click.get_current_context().exit(code)


# --- commands -----------------------------------------------------------------------------------

@registry.command("publish")
@click.argument("bundle")
@click.option("--receipt", "receipt_path", required=True, metavar="FILE", help="The gate receipt (polc gate run).")
@click.option("--bundle-version", metavar="V", help="Display version (default: the manifest's policy.version).")
@click.option("--policy", "policy_name", metavar="NAME", help="The policy this bundle is for.")
@click.option("--training-run", metavar="ID", help="Provenance: the training run.")
@click.option("--evaluation-report", metavar="REF", help="Provenance: the evaluation report.")
@click.option("--dataset-manifest", multiple=True, metavar="REF", help="Provenance: a dataset manifest (repeatable).")
@click.option("--submitter", default=lambda: os.environ.get("POLC_ACTOR") or getpass.getuser(), help="Who submits.")
@_common
def publish_cmd(bundle, receipt_path, bundle_version, policy_name, training_run, evaluation_report, dataset_manifest,
                submitter, registry_url, project_dir, as_json):
    """Register BUNDLE (a bundle directory or a hash in the out dir) with its PASS gate receipt."""
    provenance = {"training_run_id": training_run, "evaluation_report_ref": evaluation_report,
                  "dataset_manifest_refs": list(dataset_manifest)}

    def op(reg, config):
        return reg.publish(bundle, _read_receipt(receipt_path), provenance=provenance, submitted_by=submitter,
                           bundle_version=bundle_version, policy_name=policy_name)

    def text(r):
        check = r["record"]["receipt_check"]
        signer = f" by key {check['keyid'][:16]}" if check.get("keyid") else ""
        click.echo(f"{r['status']}  {r['bundle_id']}  version {r['bundle_version']}  policy "
                   f"{r['record']['ref']['policy_name']}")
        click.echo(f"  gate {check['gate']}: {check['verdict']}, signature {check['signature']}{signer}")
    _exit(_run(as_json, project_dir, registry_url, op, text))


@registry.command("transition")
@click.argument("bundle")
@click.option("--to", "to_state", required=True, type=click.Choice(STATES), help="The target rollout state.")
@_scoped()
@_acting
@_common
def transition_cmd(bundle, to_state, environment, tenant, policy_name, actor, role, reason, registry_url, project_dir,
                   as_json):
    """Move BUNDLE to another rollout state in a scope (repeating a done transition changes nothing)."""
    def op(reg, config):
        return reg.transition(reg.bundle_id_of(bundle), _scope(config, environment, tenant, policy_name), to_state,
                              actor=actor, role=role, reason=reason)

    def text(r):
        where = _scope_text(r["scope"])
        if not r["changed"]:
            click.echo(f"{_short(r['bundle_id'])} is already {r['to_state']} in {where} (no change)")
        else:
            seqs = ", ".join(str(e["seq"]) for e in r["events"])
            click.echo(f"{_short(r['bundle_id'])} in {where}: {r['from_state']} -> {r['to_state']} "
                       f"({r['registry_state']}); event {seqs}")
        for w in r.get("warnings", []):
            click.echo(f"warning: {w}", err=True)
    _exit(_run(as_json, project_dir, registry_url, op, text))


@registry.command("promote")
@click.argument("bundle")
@click.option("--expect-active", metavar="HASH|none", help="Refuse unless this is the scope's promoted bundle now.")
@_scoped()
@_acting
@_common
def promote_cmd(bundle, expect_active, environment, tenant, policy_name, actor, role, reason, registry_url,
                project_dir, as_json):
    """Make BUNDLE the promoted bundle of a scope; the previous one goes to shadow."""
    from ..registry import UNSET

    def op(reg, config):
        expected = UNSET if expect_active is None else (None if expect_active.lower() == "none"
                                                        else reg.bundle_id_of(expect_active))
        return reg.promote(reg.bundle_id_of(bundle), _scope(config, environment, tenant, policy_name),
                           actor=actor, role=role, reason=reason, expect_active=expected)

    def text(r):
        where = _scope_text(r["scope"])
        if not r["changed"]:
            click.echo(f"{_short(r['bundle_id'])} is already promoted in {where} (no change)")
        else:
            click.echo(f"promoted {_short(r['bundle_id'])} in {where} (previous: {_short(r['previous_active'])}); "
                       f"event {r['events'][-1]['seq']}")
        for w in r.get("warnings", []):
            click.echo(f"warning: {w}", err=True)
    _exit(_run(as_json, project_dir, registry_url, op, text))


@registry.command("rollback")
@_scoped()
@_acting
@_common
def rollback_cmd(environment, tenant, policy_name, actor, role, reason, registry_url, project_dir, as_json):
    """Mark the scope's promoted bundle rolled_back and re-promote the previous one (event-log order)."""
    if not reason:
        raise click.UsageError("rollback needs --reason (it is kept in the audit log)")

    def op(reg, config):
        return reg.rollback(_scope(config, environment, tenant, policy_name), actor=actor, role=role, reason=reason)

    def text(r):
        click.echo(f"rolled back {_short(r['rolled_back'])} in {_scope_text(r['scope'])}; restored "
                   f"{_short(r['restored'])}; events {', '.join(str(e['seq']) for e in r['events'])}")
    _exit(_run(as_json, project_dir, registry_url, op, text))


def _resolve_text(r):
    ref, event = r["active_bundle_ref"], r["event"]
    how = (f"by event {event['seq']} ({event['event_type']}, {event['actor']['name']}, {event['observed_at_utc']})"
           if event else "")
    click.echo(ref["bundle_id"])
    click.echo(f"  version {ref['bundle_version']}  {r['selection']}  state {r['rollout_state']}  {how}".rstrip())


@registry.command("resolve")
@click.option("--pin", metavar="HASH", help="Select this bundle instead (a session pin; nothing is written).")
@_scoped()
@_common
def resolve_cmd(pin, environment, tenant, policy_name, registry_url, project_dir, as_json):
    """Print the scope's promoted bundle: its hash, version and the event that made it so."""
    def op(reg, config):
        scope = _scope(config, environment, tenant, policy_name)
        return reg.pin(pin, scope) if pin else reg.resolve(scope)
    _exit(_run(as_json, project_dir, registry_url, op, _resolve_text))


@registry.command("pin")
@click.argument("bundle")
@click.option("--out", "out_file", metavar="FILE", type=click.Path(dir_okay=False), help="Also write the pin to FILE.")
@_scoped()
@_common
def pin_cmd(bundle, out_file, environment, tenant, policy_name, registry_url, project_dir, as_json):
    """Select BUNDLE explicitly for a session; the registry itself is not changed."""
    def op(reg, config):
        response = reg.pin(bundle, _scope(config, environment, tenant, policy_name))
        if out_file:
            from ..fsutil import atomic_write_text

            atomic_write_text(out_file, json.dumps(response, indent=2) + "\n")
        return response
    _exit(_run(as_json, project_dir, registry_url, op, _resolve_text))


@registry.command("history")
@click.option("--bundle", metavar="HASH", help="Only this bundle's events.")
@_scoped(required=False)
@_common
def history_cmd(bundle, environment, tenant, policy_name, registry_url, project_dir, as_json):
    """List audit events in log order (all, or one scope with --env, or one bundle)."""
    def op(reg, config):
        scope = _scope(config, environment, tenant, policy_name) if environment else None
        return reg.history(scope, bundle_id=reg.bundle_id_of(bundle) if bundle else None)
    _exit(_run(as_json, project_dir, registry_url, op, lambda r: _print_events(r["events"])))


@registry.command("verify")
@_common
def verify_cmd(registry_url, project_dir, as_json):
    """Recompute the audit chain; exit 4 on any edited, deleted or inserted row."""
    def op(reg, config):
        return reg.verify()

    def text(r):
        if r["ok"]:
            click.echo(f"ok: {r['events_checked']} events, chain intact, head {r['head_seq']} {r['head_hash'][:16]}")
            return
        for p in r["problems"]:
            click.echo(f"error[{p['code']}]: {p['message']}", err=True)
        click.echo(f"audit log verification FAILED: {len(r['problems'])} problems in {r['events_checked']} events",
                   err=True)

    _exit(_run(as_json, project_dir, registry_url, op, text,
               exit_of=lambda r: 0 if r["ok"] else int(ExitCode.INTEGRITY)))


@registry.command("list")
@_common
def list_cmd(registry_url, project_dir, as_json):
    """List registered bundles and their state in every scope."""
    def text(r):
        for b in r["bundles"]:
            ref = b["ref"]
            states = ", ".join(f"{_scope_text(s['scope'])}={s['state']}" for s in b["states"]) or "candidate everywhere"
            click.echo(f"{_short(ref['bundle_id'])}  {ref['bundle_version']:<14} {ref['policy_name']:<16} "
                       f"{b['submitted_at_utc']}  {states}")
    _exit(_run(as_json, project_dir, registry_url, lambda reg, config: reg.list(), text))


@registry.command("show")
@click.argument("bundle")
@_common
def show_cmd(bundle, registry_url, project_dir, as_json):
    """Show a bundle's record: digest, receipt check, provenance and states."""
    def text(r):
        rec = r["record"]
        ref, check = rec["ref"], rec["receipt_check"]
        click.echo(f"bundle     {ref['bundle_id']}\nversion    {ref['bundle_version']}\npolicy     {ref['policy_name']}")
        click.echo(f"uri        {ref['uri']}\nsubmitted  {rec['submitted_at_utc']} by {rec['submitted_by']}")
        click.echo(f"gate       {check['gate']} {check['verdict']} (signature {check['signature']})")
        click.echo(f"provenance {json.dumps(rec['provenance'], sort_keys=True)}")
        for s in r["states"]:
            click.echo(f"state      {_scope_text(s['scope'])}: {s['state']} ({s['registry_state']})")
    _exit(_run(as_json, project_dir, registry_url, lambda reg, config: reg.show(bundle), text))


@registry.command("keygen")
@click.option("--out", "prefix", required=True, metavar="PREFIX", help="Writes PREFIX.key (0600) and PREFIX.pub.")
def keygen_cmd(prefix):
    """Make an Ed25519 key pair for signing gate receipts (list PREFIX.pub in [registry] trusted_keys)."""
    from ..registry.receipts import generate_keypair, keyid, load_public_key

    private, public = generate_keypair(Path(prefix))
    click.echo(f"wrote {private} (keep secret) and {public} (keyid {keyid(load_public_key(public))[:16]})")


# --- polc gate run: the receipt side of promotion gates -----------------------------------------

MAX_METRICS_BYTES = 16 * 1024 * 1024


@click.group("gate")
def gate():
    """Evaluate promotion gates and write signed gate receipts."""


@gate.command("run")
@click.argument("gate_name", metavar="GATE")
@click.option("--bundle", required=True, metavar="B", help="Bundle directory, head pointer (policy.json) or bundle id.")
@click.option("--metrics", "metrics_path", required=True, metavar="FILE", help="Observed metrics (JSON or YAML mapping).")
@click.option("--key", "key_path", metavar="FILE", help="Ed25519 private key (PEM); else $POLC_GATE_KEY or "
              "$POLC_GATE_KEY_FILE.")
@click.option("--unsigned", is_flag=True, help="Write an unsigned receipt (refused where trusted_keys are configured).")
@click.option("--out", "out_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write the receipt here (default: print it).")
@click.option("--project", "project_dir", metavar="DIR", help="Where bundle ids are looked up (default: the current project).")
def gate_run_cmd(gate_name, bundle, metrics_path, key_path, unsigned, out_file, project_dir):
    """Evaluate GATE of a bundle against metrics and write its GateReceipt (an in-toto Statement,
    DSSE-signed with Ed25519). Exit 0 on PASS, 1 on FAIL (the receipt is written either way)."""
    from ..registry.canon import sha256_hex, utc_now
    from ..registry.receipts import load_private_key, sign, statement
    from ..runtime import load_snapshot
    from ..version import __version__

    key = None if unsigned else load_private_key(key_path)
    if key is None and not unsigned:
        raise click.UsageError("no signing key: pass --key FILE, set POLC_GATE_KEY_FILE or POLC_GATE_KEY, "
                               "or --unsigned (polc registry keygen makes a key pair)")
    raw, metrics = _read_metrics(metrics_path)
    snap = load_snapshot(bundle, root=_out_dir(project_dir))
    result = snap.gate(gate_name).evaluate(metrics)
    verdict = "PASS" if result.passed else "FAIL"
    st = statement(gate_name, verdict, snap.policy_bundle_id, evaluated_at=utc_now(), metrics_sha256=sha256_hex(raw),
                   failing=[f.message for f in result.failures], evaluator={"name": "polc", "version": __version__})
    receipt = sign(st, key) if key is not None else st
    text = json.dumps(receipt, indent=2) + "\n"
    if out_file:
        from ..fsutil import atomic_write_text

        atomic_write_text(out_file, text)
    else:
        click.echo(text, nl=False)
    signer = f"signed, keyid {receipt['signatures'][0]['keyid'][:16]}" if key is not None else "unsigned"
    click.echo(f"gate {gate_name} on {snap.policy_bundle_id[:12]}: {verdict} ({result.conditions} conditions, "
               f"{signer}){' -> ' + out_file if out_file else ''}", err=True)
    for failure in result.failures:
        click.echo(f"  failed: {failure.span}: {failure.message}", err=True)
    _exit(0 if result.passed else int(ExitCode.FINDINGS))


def _out_dir(project_dir):
    from ..project import load_project

    try:
        return load_project(project_dir).out_dir
    except PolcError:
        return None  # no project: bundle ids cannot be looked up, paths still work


def _read_metrics(path: str) -> tuple[bytes, dict]:
    from ..registry.errors import invalid

    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_METRICS_BYTES + 1)
    except OSError as exc:
        raise invalid("POLC650", f"cannot read the metrics file {path}: {exc.strerror}", unreadable=True) from None
    if len(raw) > MAX_METRICS_BYTES:
        raise invalid("POLC650", f"{path} is larger than {MAX_METRICS_BYTES:,} bytes", unreadable=True)
    try:
        text = raw.decode("utf-8")
        if path.endswith((".yaml", ".yml")):
            import yaml

            value = yaml.safe_load(text)
        else:
            value = json.loads(text)
    except Exception as exc:  # UnicodeDecodeError, JSONDecodeError, yaml.YAMLError
        raise invalid("POLC650", f"{path} is not valid {'YAML' if path.endswith(('.yaml', '.yml')) else 'JSON'}: "
                      f"{exc}", unreadable=True) from None
    if not isinstance(value, dict):
        raise invalid("POLC650", f"{path} must hold a mapping of metric names to values", unreadable=True)
    return raw, value

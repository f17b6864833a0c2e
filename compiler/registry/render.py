"""Text renderings of registry responses for the command line (``--json`` prints the responses).

>>> short("ab" * 32), scope_text({"environment": "prod", "policy_name": "router"})
('abababababab', 'prod/-/router')
"""

from __future__ import annotations

import json
from typing import Callable

Echo = Callable[..., None]


def short(bundle_id: str | None) -> str:
    return bundle_id[:12] if bundle_id else "none"


def scope_text(scope: dict) -> str:
    return f"{scope['environment']}/{scope.get('tenant') or '-'}/{scope['policy_name']}"


#: A receipt's signature status in words.
SIGNATURE_WORDS = {
    "verified": "signature verified by trusted key {keyid}",
    "unsigned": "signature not checked: the receipt is unsigned and no trusted keys are configured",
    "signed_not_checked": "signature not checked: no trusted keys configured",
}


def signature_words(check: dict) -> str:
    return SIGNATURE_WORDS.get(check["signature"], check["signature"]).format(keyid=(check.get("keyid") or "")[:16])


def publish(r: dict, echo: Echo) -> None:
    record = r["record"]
    echo(f"{r['status']}  {r['bundle_id']}  version {r['bundle_version']}  policy {record['ref']['policy_name']}")
    for check in (record["receipt_check"], *(m["receipt_check"] for m in record.get("more_receipts", []))):
        echo(f"  gate {check['gate']}: {check['verdict']}, {signature_words(check)}")


def checkpoint(r: dict, echo: Echo) -> None:
    echo(f"checkpoint {r['origin']}  event {r['seq']}  head {r['head_hash']}")
    echo(f"  signed {r['signed_at_utc']} by key {r['keyid'][:16]}")


def transition(r: dict, echo: Echo) -> None:
    where = scope_text(r["scope"])
    if not r["changed"]:
        echo(f"{short(r['bundle_id'])} is already {r['to_state']} in {where} (no change)")
    else:
        seqs = ", ".join(str(e["seq"]) for e in r["events"])
        echo(f"{short(r['bundle_id'])} in {where}: {r['from_state']} -> {r['to_state']} ({r['registry_state']}); "
             f"event {seqs}")
    _warnings(r, echo)


def promote(r: dict, echo: Echo) -> None:
    where = scope_text(r["scope"])
    if not r["changed"]:
        echo(f"{short(r['bundle_id'])} is already promoted in {where} (no change)")
    else:
        echo(f"promoted {short(r['bundle_id'])} in {where} (previous: {short(r['previous_active'])}); "
             f"event {r['events'][-1]['seq']}")
    _warnings(r, echo)


def rollback(r: dict, echo: Echo) -> None:
    echo(f"rolled back {short(r['rolled_back'])} in {scope_text(r['scope'])}; restored {short(r['restored'])}; "
         f"events {', '.join(str(e['seq']) for e in r['events'])}")


def resolve(r: dict, echo: Echo) -> None:
    """The hash alone on the first line, for scripts; then how it was selected."""
    ref, event = r["active_bundle_ref"], r["event"]
    how = (f"by event {event['seq']} ({event['event_type']}, {event['actor']['name']}, {event['observed_at_utc']})"
           if event else "")
    echo(ref["bundle_id"])
    echo(f"  version {ref['bundle_version']}  {r['selection']}  state {r['rollout_state']}  {how}".rstrip())


def events(r: dict, echo: Echo) -> None:
    for e in r["events"]:
        scope = scope_text(e["scope"]) if e["scope"] else "(all scopes)"
        move = f"{e['from_state'] or '-'} -> {e['to_state'] or '-'}"
        reason = f"  \"{e['reason']}\"" if e["reason"] else ""
        echo(f"{e['seq']:>6}  {e['observed_at_utc']}  {e['event_type']:<18} {short(e['bundle_id'])}  "
             f"{scope:<24} {move:<26} {e['actor']['name']} ({e['actor']['role']}){reason}")


def verify(r: dict, echo: Echo) -> None:
    if r["ok"]:
        echo(f"ok: {r['events_checked']} events, chain intact, head {r['head_seq']} {r['head_hash'][:16]}")
        return
    for p in r["problems"]:
        echo(f"error[{p['code']}]: {p['message']}", err=True)
    echo(f"audit log verification FAILED: {len(r['problems'])} problems in {r['events_checked']} events", err=True)


def listing(r: dict, echo: Echo) -> None:
    for b in r["bundles"]:
        ref = b["ref"]
        states = ", ".join(f"{scope_text(s['scope'])}={s['state']}" for s in b["states"]) or "candidate everywhere"
        echo(f"{short(ref['bundle_id'])}  {ref['bundle_version']:<14} {ref['policy_name']:<16} "
             f"{b['submitted_at_utc']}  {states}")


def show(r: dict, echo: Echo) -> None:
    rec = r["record"]
    ref, check = rec["ref"], rec["receipt_check"]
    echo(f"bundle     {ref['bundle_id']}\nversion    {ref['bundle_version']}\npolicy     {ref['policy_name']}")
    echo(f"uri        {ref['uri']}\nsubmitted  {rec['submitted_at_utc']} by {rec['submitted_by']}")
    echo(f"gate       {check['gate']} {check['verdict']} ({signature_words(check)})")
    for more in rec.get("more_receipts", []):
        echo(f"gate       {more['receipt_check']['gate']} {more['receipt_check']['verdict']} "
             f"({signature_words(more['receipt_check'])})")
    echo(f"provenance {json.dumps(rec['provenance'], sort_keys=True)}")
    for s in r["states"]:
        echo(f"state      {scope_text(s['scope'])}: {s['state']} ({s['registry_state']})")


def _warnings(r: dict, echo: Echo) -> None:
    for w in r.get("warnings", []):
        echo(f"warning: {w}", err=True)

"""The audit log: hash-chained RegistryEvents, and the check that recomputes the chain.

Each event's ``hash`` is the sha256 of the canonical JSON of the event without ``hash``;
its body holds ``seq`` and ``prev_hash`` (the previous event's hash, zeros for the first),
so an edited row fails its own hash, a deleted or inserted row breaks the sequence or the
links, and a deleted tail disagrees with the head record kept beside the log.

>>> first = seal({"seq": 1, "prev_hash": GENESIS, "reason": "x"})
>>> problems = verify_chain([first], head=(1, first["hash"]))
>>> problems
[]
>>> verify_chain([{**first, "reason": "edited"}], head=(1, first["hash"]))[0]["code"]
'POLC641'
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from .canon import json_hash

GENESIS = "0" * 64
#: Columns copied out of the body for queries; verify checks they still agree with it.
INDEXED = ("event_id", "bundle_id", "event_type", "to_state")


def seal(body: dict) -> dict:
    """The event with its hash."""
    return {**body, "hash": json_hash(body)}


def problem(code: str, message: str, seq: int | None = None) -> dict:
    return {"code": code, "message": message, "seq": seq}


def verify_chain(events: Iterable[dict], head: tuple[int, str] | None) -> list[dict]:
    """Problems with the chain of ``events`` (in seq order) and the head record."""
    problems: list[dict] = []
    expected_seq, prev = 1, GENESIS
    for event in events:
        seq = event.get("seq")
        if seq != expected_seq:
            problems.append(problem("POLC640", f"sequence gap: expected event {expected_seq}, found {seq}", seq))
        body = {k: v for k, v in event.items() if k != "hash"}
        if json_hash(body) != event.get("hash"):
            problems.append(problem("POLC641", f"event {seq} does not match its hash: the row was edited", seq))
        if event.get("prev_hash") != prev:
            problems.append(problem("POLC642", f"event {seq} does not link to the event before it: "
                                               "a row was deleted, inserted or reordered", seq))
        expected_seq, prev = (seq if isinstance(seq, int) else expected_seq) + 1, event.get("hash")
    head_seq, head_hash = head or (0, GENESIS)
    if (expected_seq - 1, prev) != (head_seq, head_hash):
        problems.append(problem("POLC643", f"the log ends at event {expected_seq - 1}, but the head record says "
                                           f"{head_seq}: events were deleted or appended behind the registry's back"))
    return problems


def decode_row(row: tuple) -> tuple[dict, list[dict]]:
    """An event from a stored row (columns of ``EVENT_COLUMNS``), and problems if the columns disagree."""
    seq, event_id, bundle_id, environment, tenant, policy_name, event_type, to_state, body, prev_hash, digest = row
    try:
        event: dict[str, Any] = json.loads(body)
    except ValueError:
        return {"seq": seq, "hash": None}, [problem("POLC641", f"event {seq}: the stored body is not JSON", seq)]
    event["hash"] = digest
    columns = {"event_id": event_id, "bundle_id": bundle_id, "event_type": event_type, "to_state": to_state}
    scope = event.get("scope") or {}
    scope_columns = (scope.get("environment"), scope.get("tenant") or "", scope.get("policy_name")) if scope else (None, None, None)
    mismatched = [k for k in INDEXED if columns[k] != event.get(k)]
    if seq != event.get("seq") or prev_hash != event.get("prev_hash") or scope_columns != (environment, tenant, policy_name):
        mismatched.append("seq/prev_hash/scope")
    if mismatched:
        return event, [problem("POLC646", f"event {seq}: columns {', '.join(mismatched)} disagree with the hashed body", seq)]
    return event, []


def replay_states(events: Iterable[dict]) -> dict[tuple, str]:
    """(environment, tenant, policy_name, bundle_id) -> state, as the event log says it is now."""
    states: dict[tuple, str] = {}
    for e in events:
        scope = e.get("scope")
        if scope and e.get("to_state"):
            states[(scope["environment"], scope.get("tenant") or "", scope["policy_name"], e["bundle_id"])] = e["to_state"]
    return states

"""What each console page shows, as plain data: pure functions from the JSON API's answers
(``ListBundlesResponse``, ``ShowBundleResponse``, ``HistoryResponse``, ``polc_diff_report@v1``) to
the values the templates print. No query, no HTML here: the templates escape everything.

>>> listing = {"bundles": [{"ref": {"bundle_id": "ab" * 32, "bundle_version": "1.0", "policy_name": "router"},
...             "submitted_at_utc": "t", "states": [{"scope": {"environment": "prod", "policy_name": "router"},
...             "state": "promoted", "registry_state": "ACTIVE", "seq": 4}]}]}
>>> rows = scope_rows(listing, {})
>>> rows[0].text, rows[0].promoted.version
('prod/-/router', '1.0')
>>> [r.text for r in filter_rows(rows, "PROD")], filter_rows(rows, "staging")
(['prod/-/router'], [])
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ...diff.model import BLOCKS
from ...diff.prompt_review import prompt_diffs
from ...registry.audit import GENESIS
from ...registry.canon import json_hash

#: Bundles listed per state in one row of the scopes page; the rest are counted.
LISTED_PER_STATE = 6
#: Rows of the scopes page, events of a history page.
SCOPES_PER_PAGE = 100
EVENTS_PER_PAGE = 200
MAX_VALUE_CHARS = 300
SEVERITIES = ("BLOCK", "WARN", "INFO")


def short(bundle_id: str | None) -> str:
    return bundle_id[:12] if bundle_id else "none"


def scope_text(scope: Mapping[str, Any]) -> str:
    return f"{scope['environment']}/{scope.get('tenant') or '-'}/{scope['policy_name']}"


def scope_path(scope: Mapping[str, Any]) -> str:
    """The scope as the path segments the routes take (``-``: no tenant); names are URL-safe by schema."""
    return f"{scope['environment']}/{scope.get('tenant') or '-'}/{scope['policy_name']}"


# --- the scopes page ---------------------------------------------------------------------------

@dataclass
class BundleCell:
    bundle_id: str
    version: str
    since: str | None = None       # when it entered its state (the event's time)
    actor: str | None = None
    role: str | None = None
    seq: int | None = None


@dataclass
class ScopeRow:
    scope: dict
    text: str
    path: str
    promoted: BundleCell | None = None
    shadow: list[BundleCell] = field(default_factory=list)
    staged: list[BundleCell] = field(default_factory=list)
    others: dict[str, int] = field(default_factory=dict)    # state -> count (candidate, rolled_back, retired)

    @property
    def filter_text(self) -> str:
        """Everything the filter box matches, lower case."""
        cells = ([self.promoted] if self.promoted else []) + self.shadow + self.staged
        return " ".join([self.text, *(f"{c.bundle_id} {c.version}" for c in cells)]).lower()


def scope_rows(listing: Mapping[str, Any], events: Mapping[int, dict]) -> list[ScopeRow]:
    """One row per scope any bundle ever moved in, sorted by name; ``events`` by seq (the promotions')."""
    rows: dict[str, ScopeRow] = {}
    for bundle in listing["bundles"]:
        ref = bundle["ref"]
        for state in bundle["states"]:
            text = scope_text(state["scope"])
            row = rows.get(text) or rows.setdefault(text, ScopeRow(state["scope"], text, scope_path(state["scope"])))
            event = events.get(state["seq"]) or {}
            cell = BundleCell(ref["bundle_id"], ref["bundle_version"], event.get("observed_at_utc"),
                              (event.get("actor") or {}).get("name"), (event.get("actor") or {}).get("role"),
                              state["seq"])
            if state["state"] == "promoted":
                row.promoted = cell
            elif state["state"] in ("shadow", "staged"):
                getattr(row, state["state"]).append(cell)
            else:
                row.others[state["state"]] = row.others.get(state["state"], 0) + 1
    for row in rows.values():  # newest first: the bundles a reviewer is about to act on
        row.shadow.sort(key=lambda c: -(c.seq or 0))
        row.staged.sort(key=lambda c: -(c.seq or 0))
    return [rows[k] for k in sorted(rows)]


def promoted_seqs(listing: Mapping[str, Any]) -> list[int]:
    """The events that made each scope's promoted bundle so (their time and actor are shown)."""
    return [s["seq"] for b in listing["bundles"] for s in b["states"] if s["state"] == "promoted"]


def filter_rows(rows: Iterable[ScopeRow], query: str) -> list[ScopeRow]:
    """Rows whose scope, bundle ids or versions contain every word of ``query`` (any case)."""
    words = query.lower().split()
    return [r for r in rows if all(w in r.filter_text for w in words)]


@dataclass(frozen=True)
class Page:
    number: int
    count: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count


def paginate(items: list, number: int, size: int) -> tuple[list, Page]:
    count = max(1, -(-len(items) // size))
    number = min(max(1, number), count)
    return items[(number - 1) * size:number * size], Page(number, count, len(items))


# --- the bundle page ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    gate: str
    verdict: str
    signature: str
    keyid: str | None
    subject_matches: bool
    evaluated_at: str | None


def receipts(record: Mapping[str, Any]) -> list[Receipt]:
    pairs = [(record["gate_receipt"], record["receipt_check"]),
             *((m["gate_receipt"], m["receipt_check"]) for m in record.get("more_receipts", []))]
    return [Receipt(check["gate"], check["verdict"], check["signature"], check.get("keyid"), check["subject_matches"],
                    _evaluated_at(receipt)) for receipt, check in pairs]


def _evaluated_at(receipt: Mapping[str, Any]) -> str | None:
    """The receipt's evaluation time, from its in-toto statement (signed: inside the DSSE payload)."""
    from ...registry.receipts import unwrap
    from ...registry.errors import RegistryError

    try:
        statement = unwrap(receipt)[0]
    except RegistryError:
        return None
    return (statement.get("predicate") or {}).get("evaluated_at_utc")


@dataclass(frozen=True)
class FileRow:
    name: str
    size: int
    sha256: str


def files(bundle) -> list[FileRow]:
    """Every file of a verified bundle (compiler/bundle.Bundle), the manifest included."""
    import hashlib

    return [FileRow(name, len(data), hashlib.sha256(data).hexdigest()) for name, data in sorted(bundle.files.items())]


def cli_commands(bundle_id: str, version: str, states: list[dict], promoted_now: Mapping[str, str | None]) -> list[dict]:
    """Per scope the bundle is known in: the ``polc registry`` commands that pin it, and that make it
    the promoted bundle again (a roll back to it) with a compare-and-set on what is promoted now."""
    out = []
    for state in states:
        scope = state["scope"]
        where = f"--env {scope['environment']}" + (f" --tenant {scope['tenant']}" if scope.get("tenant") else "") \
            + f" --policy {scope['policy_name']}"
        current = promoted_now.get(scope_text(scope))
        commands = [("pin", f"polc registry pin {bundle_id} {where}")]
        if state["state"] == "promoted":
            commands.append(("roll back from it", f"polc registry rollback {where} --expect-active {bundle_id} "
                                                  f"--reason \"...\""))
        elif state["state"] not in ("retired",):
            expect = current or "none"
            commands.append(("roll back to it", f"polc registry promote {bundle_id} {where} --expect-active {expect} "
                                                f"--reason \"back to {version}\""))
        out.append({"scope": scope_text(scope), "state": state["state"], "commands": commands})
    return out


# --- the history page --------------------------------------------------------------------------

@dataclass
class EventRow:
    event: dict
    intact: bool
    compare: tuple[str, str] | None = None     # (old, new) bundle ids to diff


@dataclass
class Operation:
    operation_id: str
    events: list[EventRow]


def timeline(events: list[dict]) -> list[Operation]:
    """Events newest first, the events of one operation (a promotion demotes the previous bundle in the
    same operation) grouped; each checked against its own hash, and promotions linked to a diff."""
    groups: list[Operation] = []
    for event in reversed(events):
        row = EventRow(event, _intact(event), _comparison(event))
        if groups and groups[-1].operation_id == event.get("operation_id"):
            groups[-1].events.append(row)
        else:
            groups.append(Operation(event.get("operation_id") or "", [row]))
    return groups


def _intact(event: dict) -> bool:
    return json_hash({k: v for k, v in event.items() if k != "hash"}) == event.get("hash")


def _comparison(event: dict) -> tuple[str, str] | None:
    details = event.get("details") or {}
    if event.get("event_type") == "bundle_promoted" and details.get("previous_active"):
        return details["previous_active"], event["bundle_id"]
    if event.get("event_type") == "bundle_restored" and details.get("rolled_back"):
        return details["rolled_back"], event["bundle_id"]
    return None


def chain_status(events: list[dict], head: tuple[int, str], checkpoint: Mapping[str, Any] | None) -> dict:
    """What a history page can say about the chain without replaying all of it: whether the events it
    shows match their hashes, and how far the newest signed checkpoint reaches."""
    broken = [e["seq"] for e in events if not _intact(e)]
    covered = checkpoint is not None and checkpoint["seq"] >= head[0]
    return {"shown": len(events), "broken": broken, "head_seq": head[0], "head_hash": head[1] if head[0] else GENESIS,
            "checkpoint_covers_head": covered}


# --- the diff page -----------------------------------------------------------------------------

def value_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + f"… ({len(text):,} characters)"


def findings_by_severity(report: Mapping[str, Any]) -> list[tuple[str, list[dict]]]:
    """(severity, findings) for BLOCK, WARN, INFO, then the accepted ones; empty groups left out."""
    groups = [(s, [f for f in report["findings"] if f["severity"] == s and not f["accepted"]]) for s in SEVERITIES]
    groups.append(("accepted", [f for f in report["findings"] if f["accepted"]]))
    return [(name, found) for name, found in groups if found]


def changes_by_block(report: Mapping[str, Any]) -> list[tuple[str, list[dict]]]:
    """Structural changes grouped by block, in the order ``polc diff`` shows them; prompts' template
    text is shown as a diff below, so its changes here are only named."""
    by_block: dict[str, list[dict]] = {}
    for change in report["changes"]:
        by_block.setdefault(change["block"], []).append(change)
    return [(block, by_block[block]) for block in BLOCKS if block in by_block]


@dataclass(frozen=True)
class SplitRow:
    kind: str                 # equal | delete | insert | replace | skip
    old_no: int | None
    old: str | None
    new_no: int | None
    new: str | None


def split_rows(old: str, new: str, context: int = 3) -> list[SplitRow]:
    """A side-by-side diff of two texts, line by line, with ``context`` unchanged lines around changes.

    >>> [(r.kind, r.old, r.new) for r in split_rows("a\\nb\\n", "a\\nc\\n")]
    [('equal', 'a', 'a'), ('replace', 'b', 'c')]
    """
    a, b = old.splitlines(), new.splitlines()
    rows: list[SplitRow] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        if rows:
            rows.append(SplitRow("skip", None, None, None, None))
        for tag, i1, i2, j1, j2 in group:
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + k, j1 + k
                left = (i + 1, a[i]) if i < i2 else (None, None)
                right = (j + 1, b[j]) if j < j2 else (None, None)
                kind = tag if tag != "replace" or (left[0] and right[0]) else ("delete" if left[0] else "insert")
                rows.append(SplitRow(kind, left[0], left[1], right[0], right[1]))
    return rows


def unified_rows(unified: str) -> list[tuple[str, str]]:
    """(kind, line) of a unified diff: hunk, add, del, context."""
    out = []
    for line in unified.splitlines():
        kind = ("file" if line.startswith(("---", "+++")) else "hunk" if line.startswith("@@") else
                "add" if line.startswith("+") else "del" if line.startswith("-") else "context")
        out.append((kind, line))
    return out


def prompt_changes(report: Mapping[str, Any]) -> list[dict]:
    return [{"signature": d.signature, "kind": d.kind, "file": d.file, "split": split_rows(d.old, d.new),
             "unified": unified_rows(d.unified)} for d in prompt_diffs(report["changes"])]

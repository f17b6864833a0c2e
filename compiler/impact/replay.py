"""Blast radius: re-evaluate recorded decisions under a new policy (``polc diff --replay``).

Each decision a run recorded under OLD (compiler/runtime/records.py) is asked again, with the
same inputs, of OLD and of NEW through the runtime itself:

* a ``RouteDecision`` (role, key, gates recorded as passed): does NEW pick another model?
* a ``GateEvaluated`` event (gate, metrics): does the verdict flip, on which conditions?
* a run's ``BudgetCharge`` records, in order, through a fresh ``BudgetTracker`` of NEW: does
  NEW refuse a charge earlier or later than OLD did (the recorded verdicts), and what would
  the run cost? A call charged with ``run.charge_call`` is repriced at NEW's price of the model
  NEW would pick.

For routes and gates OLD must give the recorded answer again; a decision it does not
reproduce (an edited log, a mode the record does not name) is counted as unreproducible,
never as a change. Decisions recorded under another policy are skipped and counted by policy.

Runs are replayed as they are read (one run's records in memory). Routes go through plans of
the runtime's answers per (role, passed gates, mode), a key hashed once for OLD and NEW;
gate results are memoized on their inputs; charges go through the tracker one by one
(docs/impact.md#performance has the figures and where the time goes).

>>> ReplayResult("a" * 64, "b" * 64).summary()["route_change_rate"]
0.0
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, NamedTuple

from ..diagnostics import Diagnostic
from ..errors import PolcError
from .replay_inputs import Log, RunLogs, damaged, iter_runs

#: How many example run ids a report keeps per category.
EXAMPLES = 5
#: Gate results remembered by their inputs; forgotten all at once past this many.
_MEMO_LIMIT = 100_000


class RouteChange(NamedTuple):
    """A route decision NEW answers with another first model (a tuple: thousands per replay)."""

    run_id: str
    seq: int
    role: str
    old: tuple[str, ...]
    new: tuple[str, ...] | None          # None: NEW has no such role

    @property
    def old_model(self) -> str:
        return self.old[0] if self.old else "(none)"

    @property
    def new_model(self) -> str:
        return self.new[0] if self.new else "(no route)"


class GateFlip(NamedTuple):
    run_id: str
    seq: int
    gate: str
    old_passed: bool
    new_passed: bool | None              # None: NEW has no such gate
    conditions: tuple[str, ...]          # the conditions that decide the flip

    @property
    def direction(self) -> str:
        if self.new_passed is None:
            return "gate removed"
        return "PASS → FAIL" if self.old_passed else "FAIL → PASS"


class BudgetChange(NamedTuple):
    run_id: str
    old_stop: int | None                 # index of the first refused charge under OLD (None: none)
    new_stop: int | None
    cost_old: Decimal
    cost_new: Decimal

    @property
    def direction(self) -> str:
        if self.new_stop is not None and (self.old_stop is None or self.new_stop < self.old_stop):
            return "earlier"
        if self.old_stop is not None and (self.new_stop is None or self.new_stop > self.old_stop):
            return "later"
        return "same"


@dataclass
class ReplayResult:
    old_hash: str
    new_hash: str
    inputs: list[str] = field(default_factory=list)
    runs: set[str] = field(default_factory=set)
    routes: int = 0
    routes_by_role: Counter = field(default_factory=Counter)
    route_changes: list[RouteChange] = field(default_factory=list)
    fallbacks_changed: int = 0
    gates: int = 0
    gates_by_name: Counter = field(default_factory=Counter)
    gate_flips: list[GateFlip] = field(default_factory=list)
    not_replayable: int = 0              # gate evaluations recorded without their metrics
    budget_runs: int = 0
    charges: int = 0
    budget_changes: list[BudgetChange] = field(default_factory=list)
    cost_old: Decimal = Decimal(0)
    cost_new: Decimal = Decimal(0)
    repriced: int = 0
    skipped: Counter = field(default_factory=Counter)           # kind -> decisions under another policy
    skipped_policies: Counter = field(default_factory=Counter)  # policy hash -> decisions
    unreproducible: list[tuple[str, int, str]] = field(default_factory=list)   # (run id, seq, kind)
    shadow: dict[str, dict[str, int]] = field(default_factory=dict)            # candidate -> totals
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def decisions(self) -> int:
        return self.routes + self.gates + self.charges

    def summary(self) -> dict[str, float]:
        """The numbers drift rules read as ``impact.replay`` (schemas/drift_impact.schema.json)."""
        flips = Counter(f.direction for f in self.gate_flips)
        moves = Counter(c.direction for c in self.budget_changes)
        return {name: float(value) for name, value in {
            "runs": len(self.runs), "decisions": self.decisions, "skipped": sum(self.skipped.values()),
            "unreproducible": len(self.unreproducible), "routes": self.routes,
            "routes_changed": len(self.route_changes), "route_change_rate": _rate(len(self.route_changes), self.routes),
            "fallbacks_changed": self.fallbacks_changed, "gates": self.gates, "gate_flips": len(self.gate_flips),
            "gate_flip_rate": _rate(len(self.gate_flips), self.gates), "pass_to_fail": flips["PASS → FAIL"],
            "fail_to_pass": flips["FAIL → PASS"], "budget_runs": self.budget_runs,
            "budget_earlier": moves["earlier"], "budget_later": moves["later"], "cost_old": self.cost_old,
            "cost_new": self.cost_new, "cost_delta": self.cost_new - self.cost_old}.items()}


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def replay(old, new, paths: Iterable[str], cwd=None) -> ReplayResult:
    """Replay every decision the PATHs recorded under ``old`` (a runtime Snapshot) under ``new``."""
    paths = list(paths)
    result = ReplayResult(old.hash, new.hash, paths)
    session = _Session(old, new, result)
    for run in iter_runs(paths, cwd):
        session.replay_run(run)
    return result


class _Session:
    def __init__(self, old, new, result: ReplayResult):
        self.old, self.new, self.result = old, new, result
        self._variants: dict = {}
        self._plans: dict = {}   # (role, passed gates, shadow mode) -> (OLD's, NEW's _RoutePlan)
        self._gate_memo: dict = {}
        self._prices: dict = {}  # model -> NEW's exact prices per Mtok, or None
        self._same_role: dict[str, bool] = {}

    def variant(self, snap, shadow_mode: bool):
        """The snapshot as the run saw it: in shadow mode when the record says so."""
        if not shadow_mode:
            return snap
        key = id(snap)
        if key not in self._variants:
            self._variants[key] = snap.with_modes(shadow=True)
        return self._variants[key]

    def replay_run(self, run: RunLogs) -> None:
        run_id = run.run_id
        picks: dict[int, tuple[str, str | None]] = {}   # RouteDecision seq -> (old pick, new pick)
        for log in (run.replay, run.events):
            if log is not None:
                self.result.diagnostics.extend(log.diagnostics)
        if run.replay is not None:
            kinds: dict[str, list] = {"RouteDecision": [], "BudgetCharge": [], "ShadowSummary": []}
            for record, line in zip(run.replay.records, run.replay.lines):
                bucket = kinds.get(record.get("type"))
                if bucket is not None:
                    bucket.append((record, line))
            header = run.replay.records[0] if run.replay.records else {}
            self._replay_routes(run_id, run.replay.path, kinds["RouteDecision"], picks)
            self._replay_budget(run_id, run.replay.path, header, kinds["BudgetCharge"], picks)
            self._collect_shadow(kinds["ShadowSummary"])
        if run.events is not None:
            self._replay_gates(run_id, run.events)

    # -- routes ------------------------------------------------------------------------------------

    def _replay_routes(self, run_id: str, path: str, decisions: list, picks: dict) -> None:
        result, plans_memo, old_hash = self.result, self._plans, self.old.hash
        replayed: list[str] = []   # roles of the decisions replayed, counted once per run
        for record, line in decisions:
            get = record.get
            role, recorded, passed = get("role"), get("candidates"), get("passed_gates")
            # The candidates are checked by comparing them with OLD's answer (a list of names).
            if type(role) is not str or type(recorded) is not list or (passed is not None and not _strings(passed)):
                result.diagnostics.append(damaged(path, line, "is a RouteDecision without a role, "
                                                  "candidates or passed gates of the right types"))
                continue
            if get("policy_hash") != old_hash:
                self._skip("route", get("policy_hash"), 1)
                continue
            inputs = (role, tuple(passed) if passed else None, get("shadow_mode") is True)
            old_plan, new_plan = plans_memo.get(inputs) or self._plans_for(inputs)
            seq = get("seq", line)
            key = get("key")
            if key is None:
                unit = None
            else:
                try:
                    unit = _unit(key, old_plan, new_plan)
                except (TypeError, ValueError):  # a key that is not str, bytes or int (or not hex)
                    result.unreproducible.append((run_id, seq, "route"))
                    continue
            old_models = None if old_plan is None else old_plan.models(unit)
            if old_models != recorded:
                result.unreproducible.append((run_id, seq, "route"))
                continue
            if new_plan is old_plan:
                new_models = old_models  # nothing NEW's route of this role reads has changed
            else:
                new_models = None if new_plan is None else new_plan.models(unit)   # None: NEW has no such role
            replayed.append(role)
            old_pick = recorded[0] if recorded else None
            new_pick = new_models[0] if new_models else None
            picks[seq] = (old_pick, new_pick)
            if new_pick != old_pick:
                result.route_changes.append(RouteChange(run_id, seq, role, tuple(recorded),
                                                        None if new_models is None else tuple(new_models)))
            elif new_models != recorded:
                result.fallbacks_changed += 1
        if replayed:
            result.routes += len(replayed)
            result.routes_by_role.update(replayed)
            result.runs.add(run_id)

    def _plans_for(self, inputs: tuple) -> tuple:
        """OLD's and NEW's ``_RoutePlan`` for a route's (role, passed gates, shadow mode); None: no
        such role. A route is a function of those and the key (Snapshot.route reads nothing
        else), so the plans are shared by every decision with the same three. Where nothing a
        route of the role reads has changed, NEW's plan is OLD's (and so is every answer)."""
        if len(self._plans) > _MEMO_LIMIT:
            self._plans.clear()
        role, passed, shadow_mode = inputs
        context = {"passed_gates": list(passed)} if passed else None
        old = _RoutePlan.of(self.variant(self.old, shadow_mode), role, context)
        new = old if self._unchanged(role) else _RoutePlan.of(self.variant(self.new, shadow_mode), role, context)
        plans = self._plans[inputs] = (old, new)
        return plans

    def _unchanged(self, role: str) -> bool:
        """Whether everything a route of ``role`` reads is the same in OLD and NEW (then so is the route)."""
        known = self._same_role.get(role)
        if known is None:
            known = self._same_role[role] = _route_inputs(self.old, role) == _route_inputs(self.new, role)
        return known

    # -- gates -------------------------------------------------------------------------------------

    def _replay_gates(self, run_id: str, log: Log) -> None:
        result = self.result
        for record, line in zip(log.records, log.lines):
            if record.get("type") != "GateEvaluated":
                continue
            name, passed = record.get("gate"), record.get("passed")
            if not isinstance(name, str) or not isinstance(passed, bool):
                result.diagnostics.append(damaged(log.path, line, "is a GateEvaluated event without a gate "
                                                                  "name or verdict"))
                continue
            if not self._ours(record, "gate"):
                continue
            if ("metrics" not in record and "inputs" not in record) or record.get("unrecorded"):
                result.not_replayable += 1
                continue
            metrics, inputs = record.get("metrics"), record.get("inputs") or {}
            if not isinstance(inputs, dict):
                result.diagnostics.append(damaged(log.path, line, "has `inputs` that are not a JSON object"))
                continue
            seq = record.get("seq", line)
            old, new = self._verdicts(name, metrics, inputs)
            if old is None or old.passed != passed:
                result.unreproducible.append((run_id, seq, "gate"))
                continue
            result.gates += 1
            result.gates_by_name[name] += 1
            result.runs.add(run_id)
            if new is not None and new.passed == passed:
                continue
            # What decides the flip: NEW's failing conditions (PASS → FAIL), or OLD's that now hold.
            explaining = () if new is None else new.failures if passed else old.failures
            conditions = tuple(f.condition for f in explaining)
            result.gate_flips.append(GateFlip(run_id, seq, name, passed, None if new is None else new.passed,
                                              conditions))

    def _verdicts(self, name: str, metrics, inputs: dict) -> tuple:
        """OLD's and NEW's results on these inputs; a scorecard evaluated in every run is evaluated once.

        The memo key is the inputs' ``repr``: for values JSON decodes to (dicts, lists, str, int,
        float, bool, None) equal reprs mean equal values, types included (``1``, ``1.0`` and
        ``True`` differ, as do ``0.0`` and ``-0.0``); the same inputs with their keys in another
        order only miss the memo.
        """
        memo_key = (name, repr(metrics), repr(inputs))
        known = self._gate_memo.get(memo_key)
        if known is None:
            if len(self._gate_memo) > _MEMO_LIMIT:
                self._gate_memo.clear()
            known = self._gate_memo[memo_key] = (_evaluate(self.old, name, metrics, inputs),
                                                 _evaluate(self.new, name, metrics, inputs))
        return known

    # -- budgets -----------------------------------------------------------------------------------

    def _replay_budget(self, run_id: str, path: str, header: dict, charges: list, picks: dict) -> None:
        if not charges:
            return
        started_under = header.get("policy_bundle_id") if header.get("type") == "ReplayHeader" else \
            charges[0][0].get("policy_hash")
        if started_under != self.old.hash:
            self._skip("charge", started_under, len(charges))
            return
        # The recorded verdicts are OLD's answers (the tracker is deterministic on its inputs, which
        # the records hold whole); NEW's tracker re-decides every charge, at NEW's prices.
        tracker = self.new.budget_tracker()
        try_charge, adjust, repriced = tracker.try_charge, tracker._adjust, self._repriced
        stops: list[int | None] = [None, None]
        spent_old = Decimal(0)
        replayed = 0
        for index, (record, line) in enumerate(charges):
            parsed = _charge(record)
            if parsed is None:
                self.result.diagnostics.append(damaged(path, line, "is a BudgetCharge with a bad stage, "
                                                                       "tokens, cost or verdict"))
                return
            kind, stage, tokens, cost = parsed
            if kind == "settle":
                spent_old += cost
                adjust(stage, tokens, cost)
                continue
            if record["accepted"]:
                spent_old += cost
            elif stops[0] is None:
                stops[0] = index
            try:
                accepted = try_charge(stage, tokens=tokens, cost=repriced(record, cost, picks))
            except PolcError:   # a stage NEW does not know, which stops the run as surely as a limit
                accepted = False
            if not accepted and stops[1] is None:
                stops[1] = index
            replayed += 1
        result = self.result
        result.budget_runs += 1
        result.charges += replayed
        result.runs.add(run_id)
        result.cost_old += spent_old
        result.cost_new += tracker.spent
        change = BudgetChange(run_id, stops[0], stops[1], spent_old, tracker.spent)
        if change.direction != "same":
            result.budget_changes.append(change)

    def _repriced(self, record: dict, cost: Decimal, picks: dict) -> Decimal:
        """The call's cost under NEW: NEW's price of the model NEW would have picked for it."""
        model, tokens_in, tokens_out = record.get("model"), record.get("input_tokens"), record.get("output_tokens")
        if not isinstance(model, str) or type(tokens_in) is not int or type(tokens_out) is not int:
            return cost
        old_pick, new_pick = picks.get(record.get("route_seq"), (None, None))
        if old_pick == model and new_pick is not None:
            model = new_pick
        prices = self._prices.get(model, _UNSET)
        if prices is _UNSET:
            prices = self._prices[model] = _exact_prices(self.new, model)
        if prices is None:
            return cost
        self.result.repriced += 1
        return (tokens_in * prices[0] + tokens_out * prices[1]) / 1_000_000

    # -- shadow summaries, policy filter -------------------------------------------------------------

    def _collect_shadow(self, summaries: list) -> None:
        for record, _ in summaries:
            candidate = record.get("candidate_policy_hash")
            decisions, disagreements = record.get("decisions"), record.get("disagreements")
            if isinstance(candidate, str) and type(decisions) is int and type(disagreements) is int:
                totals = self.result.shadow.setdefault(candidate, {"decisions": 0, "disagreements": 0})
                totals["decisions"] += decisions
                totals["disagreements"] += disagreements

    def _ours(self, record: dict, kind: str) -> bool:
        policy = record.get("policy_hash")
        if policy == self.old.hash:
            return True
        self._skip(kind, policy, 1)
        return False

    def _skip(self, kind: str, policy: Any, count: int) -> None:
        self.result.skipped[kind] += count
        self.result.skipped_policies[policy if isinstance(policy, str) else "(none)"] += count


class _RoutePlan:
    """One snapshot's routes of one role under given passed gates and mode, as model names: the
    route without a key, and, per interval of the role's weighted split, the route of a key
    that falls in it (built on first use). ``models(unit)`` gives the names of
    ``snap.route(role, context, key=key)`` for the key's ``_unit``.
    """

    __slots__ = ("candidates", "names", "split", "_at")

    @classmethod
    def of(cls, snap, role: str, context) -> "_RoutePlan | None":
        try:
            return cls(snap.route(role, context), snap.split(role))
        except LookupError:   # the policy has no such role
            return None

    def __init__(self, candidates: tuple, split):
        self.candidates, self.split = candidates, split
        self.names = [c.model for c in candidates]
        self._at = None if split is None else [None] * len(split.bounds)

    def models(self, unit: float | None) -> list[str]:
        split = self.split
        if unit is None or split is None:
            return self.names
        i = split.index_at(unit)
        names = self._at[i]
        if names is None:
            names = self._at[i] = [c.model for c in split.route_at(self.candidates, i)]
        return names


def _unit(recorded_key, old_plan: _RoutePlan | None, new_plan: _RoutePlan | None) -> float | None:
    """The recorded key's point on the role's split, hashed once for OLD and NEW (it depends on
    the role and the key only); None when neither policy splits the role."""
    split = (old_plan and old_plan.split) or (new_plan and new_plan.split)
    return None if split is None else split.unit(decode_key(recorded_key))


def _route_inputs(snap, role: str) -> tuple:
    """What ``snap.route(role, ...)`` depends on (compiler/runtime/routing.py, split.py)."""
    routing = snap.data["routing"]
    reflex = routing.get("reflex") or {}
    return (tuple((routing.get("cloud") or {}).get(role, ())), tuple((routing.get("fallback") or {}).get(role, ())),
            reflex.get("enabled"), reflex.get("model"), reflex.get("gate"),
            reflex.get("roles") is None or role in reflex.get("roles"),
            dict((snap.data.get("weights") or {}).get(role) or {}), snap.modes)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def decode_key(value: Any):
    """A recorded routing key (the inverse of compiler/runtime/records.py ``encode_key``; the
    impact package reads logs without importing the runtime's modules)."""
    if type(value) is dict and isinstance(value.get("hex"), str):   # JSON gives plain dicts
        return bytes.fromhex(value["hex"])
    return value


def _evaluate(snap, name: str, metrics, inputs: dict):
    """The gate's result, or None when the policy has no such gate (or it cannot be built)."""
    try:
        gate = snap.gate(name)
    except (LookupError, PolcError):
        return None
    return gate.evaluate(metrics, **inputs)


def _charge(record: dict) -> tuple[str, str | None, int, Decimal] | None:
    get = record.get
    kind, stage, tokens, cost = get("kind", "charge"), get("stage"), get("tokens"), get("cost")
    if type(cost) is not str or type(tokens) is not int or not (stage is None or isinstance(stage, str)):
        return None
    try:
        amount = Decimal(cost)
    except InvalidOperation:
        return None
    if kind == "charge":
        if tokens < 0 or not amount.is_finite() or amount < 0 or type(get("accepted")) is not bool:
            return None
    elif kind != "settle" or not amount.is_finite():
        return None
    return kind, stage, tokens, amount


_UNSET = object()


def _exact_prices(snap, model: str) -> tuple[Decimal, Decimal] | None:
    """The model's (input, output) prices per Mtok as the author wrote them; None without both."""
    try:
        config = snap.model(model)
    except LookupError:
        return None
    if config.input_price_per_mtok is None or config.output_price_per_mtok is None:
        return None
    return Decimal(repr(config.input_price_per_mtok)), Decimal(repr(config.output_price_per_mtok))


def skipped_note(result: ReplayResult) -> Diagnostic | None:
    """POLC453: how many decisions were recorded under another policy, and under which."""
    total = sum(result.skipped.values())
    if not total:
        return None
    kinds = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(result.skipped.items()))
    policies = ", ".join(f"{h[:12]} ({n})" for h, n in result.skipped_policies.most_common(5))
    return Diagnostic.info("POLC453", f"{total} recorded decision(s) were made under another policy than OLD and "
                                      f"were skipped: {kinds}; policies {policies}",
                           hint=f"replay runs recorded under OLD ({result.old_hash[:12]}), or diff against the "
                                "policy they ran under")


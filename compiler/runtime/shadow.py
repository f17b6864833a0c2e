"""Shadow evaluation: a candidate policy answers every question beside the live one, silently.

``router = snap.with_shadow(candidate)`` is used exactly like ``snap``: ``route``, ``gate(...)
.evaluate``, ``budget_tracker``, ``start_run``. Every answer comes from the live snapshot;
the candidate is asked the same question with the same inputs, and when its answer differs a
``ShadowDisagreement`` (both answers and the inputs) goes to the sink — the run's REPLAY.jsonl
inside a run. Nothing the candidate does (an answer, an unknown name, an exception) reaches
the caller. This is rollout state ``shadow`` (docs/registry.md) with evidence:
``router.shadow_metrics()`` gives the disagreement rate over the last ``window`` decisions, the
input of the stdlib gate ``shadow_promotion`` (stdlib/promotion.rules).

What counts as a disagreement: a route whose ordered models differ; a gate whose verdict
differs; a budget charge the candidate's limits would decide otherwise (charged at the same
amount, against the spending the live run actually had).

>>> from compiler.runtime.snapshot import Snapshot
>>> def snap(models):
...     return Snapshot.from_data({"schema_version": "1.0", "hash": "0" * 64, "policy_id": "p",
...         "routing": {"cloud": {"judge": models}}, "capture": {"mode": "none", "store_embeddings": False},
...         "budgets": {"tokens": {}, "cost": None}, "gates": {}}, env={})
>>> seen = []
>>> router = snap(["a", "b"]).with_shadow(snap(["b", "a"]), sink=seen.append)
>>> [c.model for c in router.route("judge")], seen[0]["candidate"]["models"]
(['a', 'b'], ['b', 'a'])
>>> router.shadow_metrics()["disagreement_rate"]
1.0
"""

from __future__ import annotations

import collections
import itertools
import threading
from typing import Any, Callable, Mapping

from ..errors import UsageError
from .errors import input_error
from .records import encode_key, jsonable, passed_gate_names

Sink = Callable[[dict], None]
#: Pairs of route answers remembered as agreeing or not; cleared when it grows past this.
_MEMO_LIMIT = 4096


KINDS = ("route", "gate", "budget")


def _counters() -> dict[str, list]:
    """Per kind: [decisions (an itertools.count: ``next`` is one atomic step), disagreements]."""
    return {kind: [itertools.count(), 0] for kind in KINDS}


def _value(counter: itertools.count) -> int:
    return counter.__reduce__()[1][0]   # the next number the count would give, without taking it


class Window:
    """Disagreements over the last ``size`` decisions, plus totals per kind; thread-safe.

    An agreement costs two atomic counter steps and no lock (the route hot path); a
    disagreement, which is written to a log anyway, takes a lock and keeps its decision's number.
    """

    def __init__(self, size: int):
        self.size = size
        self._numbers = itertools.count(1)             # decision numbers, in the order they were counted
        self._disagreeing: collections.deque = collections.deque()   # numbers of the disagreements
        self.totals = _counters()
        self._lock = threading.Lock()

    def agree(self, kind: str, own: dict) -> None:
        next(self._numbers)
        next(self.totals[kind][0])
        next(own[kind][0])

    def disagree(self, kind: str, own: dict) -> None:
        number = next(self._numbers)
        next(self.totals[kind][0])
        next(own[kind][0])
        with self._lock:
            self._disagreeing.append(number)
            self.totals[kind][1] += 1
            own[kind][1] += 1
            while self._disagreeing and self._disagreeing[0] <= number - self.size:
                self._disagreeing.popleft()

    def rate(self) -> tuple[int, int]:
        """(decisions in the window, disagreements among them)."""
        with self._lock:
            counted = _value(self._numbers) - 1
            low = counted - self.size
            while self._disagreeing and self._disagreeing[0] <= low:
                self._disagreeing.popleft()
            return min(counted, self.size), sum(1 for n in self._disagreeing if n > low)

    def snapshot(self, counters: dict) -> dict[str, tuple[int, int]]:
        with self._lock:
            return {kind: (_value(c[0]), c[1]) for kind, c in counters.items()}


class ShadowRouter:
    """The live snapshot with a shadow candidate (see the module docstring)."""

    def __init__(self, live, candidate, *, sink: Sink | None = None, window: int = 10_000,
                 _shared: tuple | None = None):
        from .snapshot import Snapshot

        if not isinstance(live, Snapshot) or not isinstance(candidate, Snapshot):
            raise input_error("POLC765", "with_shadow needs two loaded snapshots",
                              "load the candidate with load_snapshot(...) and pass it: snap.with_shadow(candidate)",
                              UsageError)
        if type(window) is not int or window < 1:
            raise input_error("POLC766", f"the shadow window must be a positive number of decisions, got {window!r}",
                              "for example window=10_000", UsageError)
        self.live, self.candidate, self._sink = live, candidate, sink
        self._window, self._same, self._gates = _shared or (Window(window), {}, {})
        self._own = _counters()   # this router's (this run's) totals, for its summary
        self._plans: dict[str, _RoutePair] = {}   # role -> both routes without context

    def __getattr__(self, name: str) -> Any:
        return getattr(self.live, name)   # identity, data, capture rules, models, prompts: the live policy's

    def __repr__(self) -> str:
        return f"<ShadowRouter live {self.live.hash[:12]} candidate {self.candidate.hash[:12]}>"

    def bind_shadow_sink(self, sink: Sink) -> "ShadowRouter":
        """A router sharing this one's window, answering into ``sink`` (a run's replay log)."""
        return ShadowRouter(self.live, self.candidate, sink=sink, _shared=(self._window, self._same, self._gates))

    # -- decisions ---------------------------------------------------------------------------------

    def route(self, role: str, context: Mapping[str, Any] | None = None, *, key=None):
        if context is None and type(role) is str:
            plan = self._plans.get(role) or self._plan(role)
            if plan is not None:
                if key is None and plan.same:   # the unkeyed route of a role both policies order alike
                    self._window.agree("route", self._own)
                    return plan.live
                answers = plan.answers(key)
                if answers is not None:
                    return self._compare(role, context, key, *answers)
        return self._route(role, context, key)

    def _route(self, role: str, context, key):
        answer = self.live.route(role, context, key=key)
        try:
            other = self.candidate.route(role, context, key=key)
        except Exception as exc:  # the candidate never affects the live answer
            self._disagree("route", self._route_inputs(role, context, key), {"models": _models(answer)},
                           {"error": str(exc)})
            return answer
        return self._compare(role, context, key, answer, other)

    def _plan(self, role: str) -> "_RoutePair | None":
        """Both policies' routes of ``role`` without context, for ``route``'s common case; None
        (ask each snapshot) when either does not know the role, or the role is not a string."""
        try:
            plan = _RoutePair(self.live, self.candidate, role)
        except Exception:   # an unknown role: the slow path raises (live) or records (candidate)
            return None
        if len(self._plans) < _MEMO_LIMIT:
            self._plans[role] = plan
        return plan

    def _compare(self, role: str, context, key, answer, other):
        slot = (id(answer), id(other))  # route tuples are cached by the snapshots, so this memo hits
        known = self._same.get(slot)
        if known is None or known[0] is not answer or known[1] is not other:
            if len(self._same) > _MEMO_LIMIT:
                self._same.clear()
            known = self._same[slot] = (answer, other, _models(answer) == _models(other))
        if known[2]:
            self._window.agree("route", self._own)
        elif self._sink is None:
            self._window.disagree("route", self._own)   # counted; no record to build
        else:
            self._disagree("route", self._route_inputs(role, context, key), {"models": _models(answer)},
                           {"models": _models(other)})
        return answer

    def gate(self, name: str) -> "ShadowGate":
        return ShadowGate(self, name, self.live.gate(name))

    def budget_tracker(self, run_id: str | None = None, *, sink=None, observer=None):
        twin = self.candidate_tracker()
        compare = _BudgetComparison(self, twin, observer)
        return self.live.budget_tracker(run_id, sink=sink, observer=compare)

    def candidate_tracker(self):
        return self.candidate.budget_tracker()

    def start_run(self, run_id: str, workspace, **options):
        from .runs import Run

        return Run.start(self, run_id, workspace, **options)

    def with_gate_results(self, results) -> "ShadowRouter":
        live = self.live.with_gate_results(results)
        try:
            candidate = self.candidate.with_gate_results(results)
        except LookupError:  # a gate the candidate does not have: it keeps its own results
            candidate = self.candidate
        return ShadowRouter(live, candidate, sink=self._sink, _shared=(self._window, {}, {}))

    # -- evidence ----------------------------------------------------------------------------------

    def shadow_metrics(self) -> dict[str, Any]:
        """The gate input ``shadow`` of stdlib ``shadow_promotion``: the rate over the window."""
        decisions, disagreements = self._window.rate()
        return {"disagreement_rate": disagreements / decisions if decisions else 0.0, "decisions": float(decisions),
                "disagreements": float(disagreements), "window": float(self._window.size),
                "live_policy_hash": self.live.hash, "candidate_policy_hash": self.candidate.hash,
                "by_kind": {kind: {"decisions": float(n), "disagreements": float(k)}
                            for kind, (n, k) in self._window.snapshot(self._window.totals).items() if n}}

    def shadow_summary(self) -> dict[str, Any]:
        """This router's (this run's) own totals: the ``ShadowSummary`` record at the end of a run."""
        totals = {kind: {"decisions": n, "disagreements": k}
                  for kind, (n, k) in self._window.snapshot(self._own).items() if n}
        return {"live_policy_hash": self.live.hash, "candidate_policy_hash": self.candidate.hash,
                "decisions": sum(v["decisions"] for v in totals.values()),
                "disagreements": sum(v["disagreements"] for v in totals.values()), "by_kind": totals}

    def _agree(self, kind: str) -> None:
        self._window.agree(kind, self._own)

    def _disagree(self, kind: str, inputs: dict, live: Any, candidate: Any) -> None:
        self._window.disagree(kind, self._own)
        if self._sink is not None:
            self._sink({"type": "ShadowDisagreement", "kind": kind, "policy_hash": self.live.hash,
                        "candidate_policy_hash": self.candidate.hash, **inputs, "live": live, "candidate": candidate})

    def _route_inputs(self, role, context, key) -> dict:
        inputs: dict[str, Any] = {"role": role}
        if key is not None:
            inputs["key"] = encode_key(key)
        passed = passed_gate_names(self.live, context)
        if passed:
            inputs["passed_gates"] = passed
        return inputs


class _RoutePair:
    """The live and the candidate route of one role without context, and their splits: a keyed
    route hashes the key once for both (the split's unit depends on the role and the key only),
    which is what ``snapshot.route(role, key=key)`` of each gives (``SplitTable.route_at``)."""

    __slots__ = ("live", "live_split", "other", "other_split", "same")

    def __init__(self, live, candidate, role: str):
        self.live, self.live_split = live.route(role), live.split(role)
        self.other, self.other_split = candidate.route(role), candidate.split(role)
        self.same = _models(self.live) == _models(self.other)   # without a key

    def answers(self, key) -> tuple | None:
        """(live answer, candidate answer); None when the candidate cannot hash the key (the slow
        path records its error). A key the live policy cannot hash raises, as ``route`` does."""
        if key is None:
            return self.live, self.other
        split, other_split = self.live_split, self.other_split
        unit = None if split is None else split.unit(key)
        answer = self.live if split is None else split.route_at(self.live, split.index_at(unit))
        if other_split is None:
            return answer, self.other
        if unit is None:
            try:
                unit = other_split.unit(key)
            except TypeError:
                return None
        return answer, other_split.route_at(self.other, other_split.index_at(unit))


class ShadowGate:
    """``router.gate(name)``: the live gate's result; the candidate's verdict compared."""

    def __init__(self, router: ShadowRouter, name: str, live_gate):
        self._router, self.name, self._live = router, name, live_gate

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._live, attr)

    def evaluate(self, metrics: Any = None, /, **inputs: Any):
        result = self._live.evaluate(metrics, **inputs)
        router = self._router
        try:
            other = router.candidate.gate(self.name).evaluate(metrics, **inputs)
            theirs: dict[str, Any] = {"passed": other.passed, "failed": [f.condition for f in other.failures]}
        except Exception as exc:  # an unknown gate, a gate without rules: recorded, never raised
            other, theirs = None, {"error": str(exc)}
        if other is not None and other.passed == result.passed:
            router._agree("gate")
        else:
            recorded = {"gate": self.name, "metrics": jsonable(metrics)}
            if inputs:
                recorded["inputs"] = jsonable(inputs)
            router._disagree("gate", recorded, {"passed": result.passed,
                                                "failed": [f.condition for f in result.failures]}, theirs)
        return result


class _BudgetComparison:
    """The live tracker's observer: the candidate's limits judge each charge, then mirror the live spend."""

    def __init__(self, router: ShadowRouter, twin, chained):
        self._router, self._twin, self._chained = router, twin, chained

    def __call__(self, kind: str, stage, tokens: int, amount, accepted: bool) -> None:
        if kind == "charge":
            self._compare(stage, tokens, amount, accepted)
        elif kind == "settle":
            self._twin._adjust(stage, tokens, amount)
        if self._chained is not None:
            self._chained(kind, stage, tokens, amount, accepted)

    def _compare(self, stage, tokens: int, amount, accepted: bool) -> None:
        try:
            refusal = self._twin.refusal(stage, tokens=tokens, cost=amount)
            theirs: dict[str, Any] = {"accepted": refusal is None, "refused": refusal}
        except Exception as exc:  # e.g. a stage the candidate does not budget
            refusal, theirs = "error", {"error": str(exc)}
        if (refusal is None) == accepted:
            self._router._agree("budget")
        else:
            self._router._disagree("budget", {"stage": stage, "tokens": tokens, "cost": str(amount)},
                                   {"accepted": accepted}, theirs)
        if accepted:
            _mirror(self._twin, stage, tokens, amount)


def _mirror(tracker, stage, tokens: int, amount) -> None:
    """Record a charge the live run made on the candidate's tracker, unchecked (it happened)."""
    with tracker._lock:
        tracker._add(stage, tokens, amount)


def _models(candidates) -> list[str]:
    return [c.model for c in candidates]


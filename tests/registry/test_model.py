"""The lifecycle against a reference model: Hypothesis drives random sequences of transitions,
promotions and rollbacks over three bundles and two scopes (SQLite), and after every step the
registry's states, its resolution and its audit chain must agree with a few lines of plain
Python that restate docs/registry.md."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from compiler.registry import RegistryError, Scope
from compiler.registry.lifecycle import DEFAULT_TRANSITIONS, STATES

from .helpers import open_test_registry, publish

SCOPES = (Scope("prod", "router"), Scope("prod", "router", tenant="acme"))
ALLOWED = {(t.source, t.target) for t in DEFAULT_TRANSITIONS}


class Model:
    """The rules of docs/registry.md, with no database."""

    def __init__(self):
        self.state: dict = {}
        self.promoted_log: dict = {s: [] for s in SCOPES}   # bundles made promoted, in event order

    def get(self, scope, bundle):
        return self.state.get((scope, bundle), "candidate")

    def active(self, scope):
        return next((b for (s, b), st in self.state.items() if s == scope and st == "promoted"), None)

    def transition(self, bundle, scope, target) -> bool:
        current = self.get(scope, bundle)
        if current == target:
            return True
        if current == "promoted":
            return target == "rolled_back" and self.rollback(scope)
        if (current, target) not in ALLOWED:
            return False
        self.state[(scope, bundle)] = target
        return True

    def promote(self, bundle, scope) -> bool:
        current = self.get(scope, bundle)
        if current == "promoted":
            return True
        if (current, "promoted") not in ALLOWED:
            return False
        if self.active(scope):
            self.state[(scope, self.active(scope))] = "shadow"
        self.state[(scope, bundle)] = "promoted"
        self.promoted_log[scope].append(bundle)
        return True

    def rollback(self, scope) -> bool:
        active = self.active(scope)
        if active is None:
            return False
        for bundle in reversed(self.promoted_log[scope]):
            if bundle != active and self.get(scope, bundle) not in ("rolled_back", "retired"):
                self.state[(scope, active)] = "rolled_back"
                self.state[(scope, bundle)] = "promoted"
                self.promoted_log[scope].append(bundle)
                return True
        return False


@settings(max_examples=20, stateful_step_count=25, deadline=None)
class RegistryMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp())
        out = self.tmp / "out"
        out.mkdir()
        self.reg = open_test_registry(str(self.tmp / "r.db"), out)
        self.bundles = [publish(self.reg, out, n) for n in range(3)]
        self.model = Model()

    def teardown(self):
        self.reg.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def attempt(self, expected_ok: bool, call) -> None:
        try:
            call()
            ok = True
        except RegistryError:
            ok = False
        assert ok == expected_ok

    @rule(b=st.integers(0, 2), s=st.integers(0, 1), to=st.sampled_from([x for x in STATES if x != "promoted"]))
    def transition(self, b, s, to):
        bundle, scope = self.bundles[b], SCOPES[s]
        expected = self.model.transition(bundle, scope, to)
        self.attempt(expected, lambda: self.reg.transition(bundle, scope, to, actor="m", role="approver"))

    @rule(b=st.integers(0, 2), s=st.integers(0, 1))
    def promote(self, b, s):
        bundle, scope = self.bundles[b], SCOPES[s]
        expected = self.model.promote(bundle, scope)
        self.attempt(expected, lambda: self.reg.promote(bundle, scope, actor="m", role="operator"))

    @rule(s=st.integers(0, 1))
    def rollback(self, s):
        expected = self.model.rollback(SCOPES[s])
        self.attempt(expected, lambda: self.reg.rollback(SCOPES[s], actor="m", role="operator", reason="model"))

    @invariant()
    def agrees_with_the_model(self):
        for scope in SCOPES:
            for bundle in self.bundles:
                assert self.reg.state(bundle, scope) == self.model.get(scope, bundle)
            active = self.model.active(scope)
            try:
                resolved = self.reg.resolve(scope)["active_bundle_ref"]["bundle_id"]
            except RegistryError:
                resolved = None
            assert resolved == active
        assert self.reg.verify()["ok"]


TestRegistryModel = RegistryMachine.TestCase

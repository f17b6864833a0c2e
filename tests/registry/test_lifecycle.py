"""Spec 003's acceptance scenario and the lifecycle rules, on both backends, through the Python API."""

from __future__ import annotations

import pytest

from compiler.registry import RegistryError, Scope
from compiler.registry.contracts import contract_errors

from .helpers import PROD, PROV, drop_guards, publish, receipt, walk_to, write_bundle


def test_acceptance_scenario(registry, out_dir):
    # publish is idempotent
    a = write_bundle(out_dir, {"n": 1}, version="1.0.0")
    first = registry.publish(str(out_dir / a), receipt(a), submitted_by="ci", provenance=PROV)
    again = registry.publish(a, receipt(a), submitted_by="someone-else", provenance=PROV)  # by hash, found in the out dir
    assert (first["status"], again["status"]) == ("ACCEPTED", "DUPLICATE")
    assert again["record"] == first["record"] and again["event"] == first["event"]
    assert registry.verify()["events_checked"] == 1
    # promotion is gated by PASS
    b = write_bundle(out_dir, {"n": 2}, version="1.0.1")
    with pytest.raises(RegistryError) as failed:
        registry.publish(b, receipt(b, "FAIL"), submitted_by="ci", provenance=PROV)
    assert (failed.value.category, failed.value.code, int(failed.value.exit_code)) == ("GATE_NOT_PASS", "POLC621", 1)
    with pytest.raises(RegistryError) as unknown:
        registry.promote(b, PROD, actor="op", role="operator")
    assert unknown.value.category == "UNKNOWN_BUNDLE"
    # deterministic resolution
    walk_to(registry, a, "promoted")
    answers = [registry.resolve(PROD) for _ in range(3)]
    assert {r["active_bundle_ref"]["bundle_id"] for r in answers} == {a}
    assert answers[0]["event"]["event_type"] == "bundle_promoted" and answers[0]["selection"] == "promoted"
    # rollback is recorded
    registry.publish(b, receipt(b), submitted_by="ci", provenance=PROV)
    walk_to(registry, b, "promoted")
    assert registry.resolve(PROD)["active_bundle_ref"]["bundle_id"] == b
    back = registry.rollback(PROD, actor="op", role="operator", reason="p95 regression")
    assert (back["rolled_back"], back["restored"]) == (b, a)
    assert registry.resolve(PROD)["active_bundle_ref"]["bundle_id"] == a
    types = [e["event_type"] for e in registry.history(PROD)["events"]]
    assert types[-2:] == ["bundle_rolled_back", "bundle_restored"]
    assert registry.verify()["ok"]


def test_every_response_matches_the_contracts(registry, out_dir):
    a = publish(registry, out_dir, 1)
    b = publish(registry, out_dir, 2)
    responses = {"TransitionResponse": registry.transition(a, PROD, "staged", actor="x", role="submitter")}
    walk_to(registry, b, "promoted")
    registry.transition(a, PROD, "shadow", actor="x", role="approver")
    responses["PromoteResponse"] = registry.promote(a, PROD, actor="x", role="operator", expect_active=b)
    responses["RollbackResponse"] = registry.rollback(PROD, actor="x", role="operator", reason="r")
    responses["ResolveActiveResponse"] = registry.resolve(PROD)
    responses["HistoryResponse"] = registry.history()
    responses["VerifyResponse"] = registry.verify()
    responses["ListBundlesResponse"] = registry.list()
    responses["ShowBundleResponse"] = registry.show(a[:10])
    for name, response in responses.items():
        assert contract_errors(response, name) == [], name
    with pytest.raises(RegistryError) as err:
        registry.resolve(Scope("dev", "router"))
    assert contract_errors(err.value.to_json(), "ErrorResponse") == []


def test_same_version_with_another_digest_is_a_conflict(registry, out_dir):
    publish(registry, out_dir, 1)
    other = write_bundle(out_dir, {"n": "other"}, version="1.0.1")
    with pytest.raises(RegistryError) as err:
        registry.publish(other, receipt(other), submitted_by="ci", provenance=PROV)
    assert (err.value.category, err.value.code) == ("CONFLICT", "POLC613")


def test_receipt_for_another_bundle_is_refused(registry, out_dir):
    a = write_bundle(out_dir, {"n": 1})
    with pytest.raises(RegistryError) as err:
        registry.publish(a, receipt("f" * 64), submitted_by="ci", provenance=PROV)
    assert err.value.code == "POLC622"


def test_edited_bundle_is_an_integrity_failure(registry, out_dir):
    a = write_bundle(out_dir, {"n": 1})
    path = out_dir / a / "snapshot.json"
    path.write_bytes(path.read_bytes().replace(b'"n":1', b'"n":2'))
    with pytest.raises(RegistryError) as err:
        registry.publish(a, receipt(a), submitted_by="ci", provenance=PROV)
    assert (err.value.category, int(err.value.exit_code)) == ("INTEGRITY", 4)
    assert registry.verify()["events_checked"] == 0


def test_illegal_transition_lists_the_allowed_ones_and_repeats_are_no_ops(registry, out_dir):
    a = publish(registry, out_dir, 1)
    with pytest.raises(RegistryError) as err:
        registry.transition(a, PROD, "shadow", actor="x", role="approver")
    assert err.value.code == "POLC630" and "`retired`, `staged`" in err.value.message
    assert err.value.details["allowed"] == ["retired", "staged"]
    done = registry.transition(a, PROD, "staged", actor="x", role="approver")
    repeat = registry.transition(a, PROD, "staged", actor="x", role="approver")
    assert done["changed"] and not repeat["changed"] and repeat["events"] == []
    assert registry.verify()["events_checked"] == 2


def test_roles_are_checked(registry_url, out_dir):
    from .helpers import open_test_registry

    with open_test_registry(registry_url, out_dir, actors={"alice": ("approver",), "ci": ("submitter",)}) as reg:
        a = publish(reg, out_dir, 1)
        with pytest.raises(RegistryError) as wrong_role:
            reg.transition(a, PROD, "staged", actor="alice", role="operator")
        assert wrong_role.value.category == "FORBIDDEN"
        reg.transition(a, PROD, "staged", actor="alice", role="approver")
        with pytest.raises(RegistryError) as not_allowed:
            reg.transition(a, PROD, "shadow", actor="ci", role="submitter")
        assert "allowed roles: approver, operator" in not_allowed.value.message


def test_compare_and_set(registry, out_dir):
    a, b = publish(registry, out_dir, 1), publish(registry, out_dir, 2)
    walk_to(registry, a, "shadow")
    walk_to(registry, b, "shadow")
    with pytest.raises(RegistryError) as err:
        registry.promote(a, PROD, actor="x", role="operator", expect_active=b)
    assert (err.value.category, err.value.retryable) == ("CONFLICT", True)
    registry.promote(a, PROD, actor="x", role="operator", expect_active=None)
    with pytest.raises(RegistryError):
        registry.promote(b, PROD, actor="y", role="operator", expect_active=None)  # y's view is stale
    response = registry.promote(b, PROD, actor="y", role="operator", expect_active=a)
    assert response["previous_active"] == a and [e["event_type"] for e in response["events"]] == [
        "bundle_superseded", "bundle_promoted"]
    again = registry.promote(b, PROD, actor="y", role="operator", expect_active=a)
    assert not again["changed"]


def test_rollback_follows_the_event_log_and_skips_rolled_back_bundles(registry, out_dir):
    a, b, c = (publish(registry, out_dir, n) for n in (1, 2, 3))
    for bundle in (a, b, c):
        walk_to(registry, bundle, "promoted")
    assert registry.rollback(PROD, actor="x", role="operator", reason="c bad")["restored"] == b
    assert registry.rollback(PROD, actor="x", role="operator", reason="b bad")["restored"] == a
    with pytest.raises(RegistryError) as err:
        registry.rollback(PROD, actor="x", role="operator", reason="a bad")
    assert err.value.code == "POLC634"
    assert registry.resolve(PROD)["active_bundle_ref"]["bundle_id"] == a


def test_scopes_are_independent_and_tenant_is_not_a_wildcard(registry, out_dir):
    a, b = publish(registry, out_dir, 1), publish(registry, out_dir, 2)
    acme = Scope("prod", "router", tenant="acme")
    walk_to(registry, a, "promoted", PROD)
    walk_to(registry, b, "promoted", acme)
    assert registry.resolve(PROD)["active_bundle_ref"]["bundle_id"] == a
    assert registry.resolve(acme)["active_bundle_ref"]["bundle_id"] == b
    with pytest.raises(RegistryError):
        registry.resolve(Scope("prod", "router", tenant="other"))
    with pytest.raises(RegistryError) as err:
        registry.resolve({"environment": "prod", "policy_name": "router", "tenant": ""})
    assert err.value.category == "INVALID_PAYLOAD"


def test_pin_selects_without_changing_the_registry(registry, out_dir):
    a, b = publish(registry, out_dir, 1), publish(registry, out_dir, 2)
    walk_to(registry, a, "promoted")
    before = (registry.verify()["head_hash"], registry.list())
    pinned = registry.pin(b[:12], PROD)
    assert pinned["selection"] == "pinned" and pinned["active_bundle_ref"]["bundle_id"] == b
    assert pinned["rollout_state"] == "candidate"
    assert (registry.verify()["head_hash"], registry.list()) == before
    with pytest.raises(RegistryError):
        registry.pin("0123456789ab", PROD)


def test_bundle_of_another_policy_cannot_enter_the_scope(registry, out_dir):
    a = publish(registry, out_dir, 1)
    with pytest.raises(RegistryError) as err:
        registry.transition(a, Scope("prod", "ranker"), "staged", actor="x", role="approver")
    assert err.value.code == "POLC614"


def test_compatibility_fails_closed_unless_the_scope_is_warn_only(registry_url, out_dir):
    from compiler.registry.config import ScopeFeatures

    from .helpers import open_test_registry

    scopes = (ScopeFeatures("prod", None, None, {"atoms": "1"}, False),
              ScopeFeatures("dev", None, None, {}, True))
    with open_test_registry(registry_url, out_dir, scopes=scopes) as reg:
        needy = write_bundle(out_dir, {"n": 1}, compatibility={"required_features": ["atoms"],
                                                              "feature_groups": {"depth": ">=2"}})
        reg.publish(needy, receipt(needy), submitted_by="ci", provenance=PROV)
        walk_to(reg, needy, "shadow")
        with pytest.raises(RegistryError) as err:
            reg.promote(needy, PROD, actor="x", role="operator")
        assert err.value.category == "INCOMPATIBLE" and "depth" in err.value.message
        dev = Scope("dev", "router")
        walk_to(reg, needy, "shadow", dev)
        response = reg.promote(needy, dev, actor="x", role="operator")
        assert "atoms" in response["warnings"][0]


def test_the_database_itself_allows_one_promoted_bundle_per_scope(registry, out_dir):
    a, b = publish(registry, out_dir, 1), publish(registry, out_dir, 2)
    walk_to(registry, a, "promoted")
    store = registry.store
    with pytest.raises(RegistryError) as guarded:
        with store.write() as s:
            s.set_state(PROD.key, b, "promoted", 99, False)  # bypasses every check in the code
    assert (guarded.value.category, guarded.value.code) == ("INTEGRITY", "POLC617")
    drop_guards(store)  # and with the guard triggers gone, the unique index still holds
    with pytest.raises(RegistryError) as err:
        with store.write() as s:
            s.set_state(PROD.key, b, "promoted", 99, False)
    assert err.value.category == "CONFLICT"
    assert registry.resolve(PROD)["active_bundle_ref"]["bundle_id"] == a


def test_missing_rollout_state_reads_as_candidate(registry, out_dir):
    a = publish(registry, out_dir, 1)
    drop_guards(registry.store)
    with registry.store.write() as s:  # an older record without a state
        s._q("INSERT INTO polc_rollout (environment, tenant, policy_name, bundle_id, state, seq) "
             "VALUES (?, ?, ?, ?, NULL, 1)", (*PROD.key, a))
    assert registry.show(a)["states"][0]["state"] == "candidate"
    assert registry.transition(a, PROD, "staged", actor="x", role="approver")["from_state"] == "candidate"
    assert registry.verify()["ok"]


def test_rolling_back_a_bundle_by_transition_checks_it_is_still_the_promoted_one(registry, out_dir):
    a, b = publish(registry, out_dir, 1), publish(registry, out_dir, 2)
    walk_to(registry, a, "promoted")
    walk_to(registry, b, "promoted")
    with pytest.raises(RegistryError) as err:
        registry.rollback(PROD, actor="x", role="operator", reason="r", expect_active=a)
    assert err.value.code == "POLC632"
    response = registry.transition(b, PROD, "rolled_back", actor="x", role="operator", reason="bad")
    assert response["changed"] and response["from_state"] == "promoted"
    assert registry.resolve(PROD)["active_bundle_ref"]["bundle_id"] == a
    with pytest.raises(RegistryError) as err:
        registry.transition(a, PROD, "retired", actor="x", role="operator")
    assert err.value.code == "POLC630" and "leaves `promoted` only" in err.value.message


def test_requests_that_break_the_contracts_are_refused(registry, out_dir):
    a = write_bundle(out_dir, {"n": 1})
    good = receipt(a)
    bad_requests = [
        lambda: registry.publish(a, {**good, "predicateType": "something/else"}, submitted_by="ci", provenance=PROV),
        lambda: registry.publish(a, good, submitted_by="ci", provenance={"training_run": "typo"}),
        lambda: registry.publish(a, good, submitted_by=""),
        lambda: registry.publish(a, good, submitted_by="ci", provenance={}),
        lambda: registry.publish(a, good, submitted_by="ci", bundle_version="has space"),
        lambda: registry.transition(a, PROD, "live", actor="x", role="approver"),
        lambda: registry.transition(a, PROD, "staged", actor="x", role="admin"),
        lambda: registry.promote("not-a-hash", PROD, actor="x", role="operator"),
        lambda: registry.resolve({"environment": "prod", "policy_name": "router", "region": "eu"}),
    ]
    for call in bad_requests:
        with pytest.raises(RegistryError) as err:
            call()
        assert (err.value.category, err.value.code, int(err.value.exit_code)) == ("INVALID_PAYLOAD", "POLC600", 2)
    assert registry.verify()["events_checked"] == 0


def test_promotion_into_a_scope_whose_runner_is_outside_the_bundles_bounds_is_refused(registry_url, out_dir):
    from compiler.registry.config import ScopeFeatures

    from .helpers import open_test_registry

    scopes = (ScopeFeatures("prod", None, None, {}, False, runner_version="0.0.9"),
              ScopeFeatures("dev", None, None, {}, False, runner_version="0.3.0"))
    with open_test_registry(registry_url, out_dir, scopes=scopes) as reg:
        bounded = write_bundle(out_dir, {"n": 1}, compatibility={"min_runner_version": "0.1.0",
                                                                "max_runner_version": "0.2.0"})
        reg.publish(bounded, receipt(bounded), submitted_by="ci",
                    provenance={"training_run_id": "run-b", "evaluation_report_ref": "reports/eval-b.json"})
        for scope, bound in ((PROD, ">= 0.1.0, not 0.0.9"), (Scope("dev", "router"), "<= 0.2.0, not 0.3.0")):
            walk_to(reg, bounded, "shadow", scope)
            with pytest.raises(RegistryError) as err:
                reg.promote(bounded, scope, actor="x", role="operator")
            assert err.value.category == "INCOMPATIBLE" and bound in err.value.message
        inside = ScopeFeatures("prod", None, None, {}, False, runner_version="0.1.5")
    with open_test_registry(registry_url, out_dir, scopes=(inside,)) as reg:
        assert reg.promote(bounded, PROD, actor="x", role="operator")["changed"]

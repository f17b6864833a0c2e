"""Bundles, receipts and registries for the registry tests."""

from __future__ import annotations

from pathlib import Path

from compiler.registry import RegistryConfig, Scope, open_registry
from compiler.bundle import make_bundle, write_bundle as store_bundle
from compiler.registry.canon import utc_now
from compiler.registry.receipts import sign, statement

PROD = Scope("prod", "router")
#: The provenance every publish must carry (the contracts schema requires the evaluation report).
PROV = {"evaluation_report_ref": "reports/eval.json"}


def write_bundle(out_dir: Path, content: dict, *, version: str = "1.0.0", compatibility: dict | None = None) -> str:
    """A bundle directory ``out_dir/<hash>/`` made by the bundle package, as ``polc build`` makes one."""
    bundle = make_bundle({"schema_version": "1.0", "model_config": content}, created_at="2026-01-01T00:00:00Z",
                         project={"version": version, **(compatibility or {})})
    return store_bundle(out_dir, bundle).name


def receipt(bundle_id: str, verdict: str = "PASS", key=None, gate: str = "reflex_promotion") -> dict:
    st = statement(gate, verdict, bundle_id, evaluated_at=utc_now(),
                   failing=() if verdict == "PASS" else ("latency_p95 <= 800",))
    return sign(st, key) if key is not None else st


def publish(reg, out_dir: Path, n: int, **kw) -> str:
    """Write and publish bundle number ``n``; its id."""
    bundle_id = write_bundle(out_dir, {"n": n}, version=f"1.0.{n}")
    response = reg.publish(str(out_dir / bundle_id), receipt(bundle_id), submitted_by="ci",
                           provenance={"training_run_id": f"run-{n}", "evaluation_report_ref": f"reports/eval-{n}.json"}, **kw)
    assert response["status"] == "ACCEPTED", response
    return bundle_id


def walk_to(reg, bundle_id: str, target: str, scope: Scope = PROD, *, actor: str = "op") -> None:
    """Move a candidate bundle along the default path to ``target``."""
    path = ["staged", "shadow", "promoted"]
    for state in path[: path.index(target) + 1]:
        reg.transition(bundle_id, scope, state, actor=actor, role="approver", reason=f"to {state}")


def open_test_registry(url: str, out_dir: Path | None = None, **config) -> "Registry":  # noqa: F821
    return open_registry(url, config=RegistryConfig(out_dir=out_dir, default_policy="router", **config))


GUARDED_TABLES = ("polc_events", "polc_head", "polc_rollout", "polc_bundles")


def drop_guards(store) -> None:
    """Disable every trigger that guards the registry's tables, as whoever owns the database could
    (SQLite: drop them; PostgreSQL: disable them as the superuser would)."""
    with store.write() as s:
        if s.placeholder == "%s":
            for table in GUARDED_TABLES:
                s._execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            for (name,) in s.all("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
                s._execute(f"DROP TRIGGER {name}")

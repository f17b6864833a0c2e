"""`polc gc`: removes only the bundles that are neither the head, in the ledger's last N rows,
archived, pinned by a run receipt, nor registered; never while a writer holds the storage lock;
crash-safe; and the ledger and parity checks still pass afterwards."""

from __future__ import annotations

import fcntl
import json
import os

import numpy as np
import pytest

from compiler.bundle import LOCK_FILE, bundle_dirs
from compiler.runtime import load_snapshot

from ..conftest import example_project, run_polc
from .helpers import save

CAPSULE = '\n[storage]\ncapsule = "artifacts/capsule.sqlite"\n'


@pytest.fixture
def history(tmp_path):
    """The example project built, then five deltas: bundles h0 (build) .. h5 (the head)."""
    root = example_project(tmp_path / "example", extra=CAPSULE, weights=np.linspace(-1, 1, 8))
    assert run_polc("build", cwd=root).returncode == 0
    out = root / "artifacts" / "policy"
    hashes = [json.loads((out / "policy.json").read_text())["active"]]
    save(tmp_path / "delta.npy", np.full(8, 0.01))
    for cycle in range(5):
        done = run_polc("delta", "apply", str(out / "policy.json"), str(tmp_path / "delta.npy"), "--lr", "0.05",
                        "--cycle", str(cycle), "--slice", "goal", cwd=root)
        assert done.returncode == 0, done.stderr
        hashes.append(json.loads((out / "policy.json").read_text())["active"])
    return root, out, hashes


def names(out) -> set[str]:
    return {p.name for p in bundle_dirs(out)}


def test_gc_keeps_every_referenced_bundle_and_removes_the_rest(history, monkeypatch):
    root, out, h = history
    assert run_polc("archive", h[1], cwd=root).returncode == 0                      # archived
    monkeypatch.chdir(root)
    load_snapshot(out / h[2]).start_run("r1", root / ".polc").finish()                # pinned by a receipt
    from compiler.registry import RegistryConfig, open_registry
    from compiler.project import load_project
    from tests.registry.helpers import receipt

    with open_registry(config=RegistryConfig.from_project(load_project(root))) as reg:  # registered
        reg.publish(str(out / h[3]), receipt(h[3]), submitted_by="ci",
                    provenance={"training_run_id": "run-1", "evaluation_report_ref": "reports/eval.json"})
    before = names(out)

    dry = run_polc("gc", "--dry-run", "--keep", "1", "--format", "json", cwd=root)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["remove"] == sorted([h[0], h[4]]) and plan["dry_run"] is True
    assert names(out) == before  # a dry run removes nothing
    assert plan["kept"][h[5]][:2] == ["head", "last delta"]
    assert plan["kept"][h[1]] == ["archived"] and plan["kept"][h[2]] == ["pinned by a run receipt"]
    assert plan["kept"][h[3]] == ["registered"]

    text = run_polc("gc", "--keep", "1", cwd=root)
    assert text.returncode == 0, text.stderr
    assert f"removed {h[0]}" in text.stdout and f"removed {h[4]}" in text.stdout
    assert names(out) == before - {h[0], h[4]}
    assert not [p for p in out.iterdir() if p.name.startswith(".polc-gc-trash.")]
    assert load_snapshot(out / "policy.json").hash == h[5]
    for check in (("ledger", "verify"), ("verify", "--parity")):  # the ledger's gc row explains the gap
        result = run_polc(*check, cwd=root)
        assert result.returncode == 0, (check, result.stdout, result.stderr)
    again = run_polc("gc", "--keep", "1", "--format", "json", cwd=root)
    assert json.loads(again.stdout)["remove"] == []


def test_keep_n_protects_the_ledgers_last_rows(history):
    root, out, h = history
    result = run_polc("gc", "--dry-run", "--keep", "3", "--format", "json", cwd=root)
    assert json.loads(result.stdout)["remove"] == sorted(h[:3])
    assert run_polc("gc", "--keep", "-1", cwd=root).returncode == 2


def test_gc_never_removes_while_another_writer_holds_the_storage_lock(history):
    root, out, _ = history
    before = names(out)
    fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a writer (another process's build or delta) is busy
        busy = run_polc("gc", "--keep", "0", cwd=root)
    finally:
        os.close(fd)
    assert busy.returncode == 1 and "POLC382" in busy.stderr and "removed nothing" in busy.stderr
    assert names(out) == before
    assert run_polc("gc", "--keep", "0", cwd=root).returncode == 0
    assert len(names(out)) == 1


def test_leftover_trash_of_a_crashed_gc_is_invisible_and_cleared(history):
    root, out, h = history
    os.rename(out / h[0], out / f".polc-gc-trash.{h[0]}")  # a gc killed between rename and delete
    assert h[0] not in names(out)
    listed = run_polc("list", cwd=root)
    assert listed.returncode == 0 and h[0][:12] not in listed.stdout
    assert run_polc("gc", "--dry-run", cwd=root).returncode == 0
    assert not (out / f".polc-gc-trash.{h[0]}").exists()


def test_a_damaged_bundle_is_kept_and_reported(history):
    root, out, h = history
    (out / h[0] / "snapshot.json").write_bytes(b"{}")
    result = run_polc("gc", "--keep", "0", "--format", "json", cwd=root)
    assert result.returncode == 0 and "POLC383" in result.stderr
    assert json.loads(result.stdout)["kept"][h[0]] == ["damaged"] and (out / h[0]).is_dir()


def test_gc_refuses_to_guess_when_a_receipt_cannot_be_read(history):
    root, out, _ = history
    (root / ".polc" / "runs" / "broken").mkdir(parents=True)
    (root / ".polc" / "runs" / "broken" / "RECEIPT.json").write_text("{not json")
    before = names(out)
    refused = run_polc("gc", "--keep", "0", cwd=root)
    assert refused.returncode == 3 and "POLC384" in refused.stderr and names(out) == before


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_registered_bundles_are_read_from_either_registry_backend(tmp_path, backend):
    import uuid

    from compiler.registry import RegistryConfig, open_registry
    from compiler.storage.gc import _registered
    from tests.registry.conftest import postgres_base_url
    from tests.registry.helpers import receipt, write_bundle

    out = tmp_path / "out"
    out.mkdir()
    bundle_id = write_bundle(out, {"n": 1})
    schema = f"g_{uuid.uuid4().hex[:16]}"
    url = str(tmp_path / "registry.db") if backend == "sqlite" else \
        postgres_base_url() + ("&" if "?" in postgres_base_url() else "?") + f"schema={schema}"
    assert _registered(url) == []  # no registry yet: nothing registered (and nothing created)
    with open_registry(url, config=RegistryConfig(out_dir=out, default_policy="router")) as reg:
        reg.publish(str(out / bundle_id), receipt(bundle_id), submitted_by="ci",
                    provenance={"training_run_id": "run-1", "evaluation_report_ref": "reports/eval.json"})
    try:
        assert _registered(url) == [bundle_id]
    finally:
        if backend == "postgres":
            import psycopg

            with psycopg.connect(postgres_base_url(), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

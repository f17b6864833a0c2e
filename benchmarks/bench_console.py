"""Server render time of the web console's pages, against the JSON API's equivalent endpoints.

Seeds a SQLite registry with 1,000 bundles and 20,000 audit events (minimal bundles from
compiler/storage/seed.py written straight into the server's bundle store, then published and moved
through 20 scopes with the registry's own Python API inside one write transaction, so the seeding
takes seconds, not 1,000 compiles), starts a real ``polc serve``, signs in to the console, and
requests each page and its baseline in interleaved rounds. The time is the server's: the
``duration_ms`` of the request's access-log line (found by the ``X-Request-Id`` sent with it).

| page | baseline (same data, same run) |
| --- | --- |
| scopes (first page, 20 scopes) | ``GET /v1/bundles`` (the listing the page is built from) |
| bundle | ``GET /v1/bundles/{id}`` |
| history (200 events of ~1,000) | ``GET /v1/scopes/.../history?limit=200`` |
| diff (a review, cached per pair) | ``GET /v1/bundles/{id}`` twice (the two records it shows) |
| audit | ``GET /v1/checkpoints/latest`` |
| audit + verify (POST) | ``GET /v1/verify`` (the same chain recomputation) |

Then ``diff, new pair``: pairs never reviewed before, in the warm server (the review's own cost).

    .venv/bin/python benchmarks/bench_console.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_server import free_port, stop, wait_until_up  # noqa: E402

BUNDLES = 1000
ENVIRONMENTS = ("prod", "staging", "canary", "dev")
TENANTS = (None, "acme", "globex", "initech", "umbrella")
SCOPE_COUNT = len(ENVIRONMENTS) * len(TENANTS)


def seed(where: Path) -> tuple[str, list[str]]:
    """The registry (20,000 events) and the bundle store; the database path and the bundle ids."""
    import numpy as np

    from compiler.registry import RegistryConfig, Scope, open_store
    from compiler.registry.service import Registry
    from compiler.registry.canon import utc_now
    from compiler.registry.receipts import statement
    from compiler.storage.seed import seed_bundle

    bundles = where / "bundles"
    ids = [seed_bundle(bundles, np.full(4, float(n)), created_at="2026-01-01T00:00:00Z", point=False).hash
           for n in range(BUNDLES)]
    scopes = [Scope(env, "router", tenant) for env in ENVIRONMENTS for tenant in TENANTS]
    db = str(where / "registry.db")
    reg = Registry(open_store(db), RegistryConfig(default_policy="router"))
    start = time.perf_counter()
    with reg.store.write():
        for n, bundle_id in enumerate(ids):
            receipt = statement("reflex_promotion", "PASS", bundle_id, evaluated_at=utc_now())
            reg.publish(str(bundles / bundle_id), receipt, provenance={"evaluation_report_ref": f"eval-{n}"},
                        submitted_by="ci", bundle_version=f"1.0.{n}")
            for k in range(4):        # promoted in 4 scopes: staged, shadow, promoted (+ the superseded one)
                scope = scopes[(n + 5 * k) % SCOPE_COUNT]
                reg.transition(bundle_id, scope, "staged", actor="ci", role="submitter", reason="candidate")
                reg.transition(bundle_id, scope, "shadow", actor="alice", role="approver", reason="looks good")
                reg.promote(bundle_id, scope, actor="alice", role="approver", reason=f"release 1.0.{n}")
            for extra in (scopes[(n + 2) % SCOPE_COUNT], scopes[(n + 3) % SCOPE_COUNT]):
                if reg.state(bundle_id, extra) == "candidate":
                    reg.transition(bundle_id, extra, "staged", actor="ci", role="submitter", reason="try here too")
                    reg.transition(bundle_id, extra, "retired", actor="alice", role="approver", reason="not needed")
    with reg.store.read() as s:
        events = s.event_count()
    reg.close()
    print(f"seeded {BUNDLES} bundles, {events:,} events in {SCOPE_COUNT} scopes in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    return db, ids


def server_times(log: Path, ids: dict[str, str]) -> dict[str, list[float]]:
    """duration_ms of the access-log lines, per label, by request id."""
    found: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        label = ids.get(entry.get("request_id"))
        if label is not None:
            if entry["status"] >= 400:
                raise SystemExit(f"{label} answered {entry['status']}")
            found.setdefault(label, []).append(entry["duration_ms"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    from compiler.registry import open_store
    from compiler.server.auth import create_token

    with tempfile.TemporaryDirectory(prefix="polc-bench-console-") as tmp_name:
        tmp = Path(tmp_name)
        db, bundle_ids = seed(tmp)
        (tmp / "polc-server.toml").write_text(
            f'[server]\nstore = "{db}"\nbundle_dir = "bundles"\ncheckpoint_key = "checkpoint.key"\n'
            'allow_unsigned_receipts = true\ndefault_policy = "router"\n'
            '[[server.grants]]\nprincipal = "bench"\nroles = ["viewer", "approver"]\n')
        store = open_store(db)
        token = create_token(store, "bench", expires="1d")[0]
        store.close()
        port = free_port()
        log = tmp / "server.log"
        with open(log, "wb") as fh:
            process = subprocess.Popen([sys.executable, "-m", "compiler", "serve", "--config", "polc-server.toml",
                                        "--port", str(port)], cwd=tmp, stdout=fh, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base + "/healthz", process, "polc serve")
            return measure(base, token, bundle_ids, log, args.rounds)
        finally:
            stop(process)


def measure(base: str, token: str, bundle_ids: list[str], log: Path, rounds: int) -> int:
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    web = httpx.Client(base_url=base, timeout=120)
    form = web.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
    signed = web.post("/console/login", data={"token": token, "csrf": csrf})
    assert signed.status_code == 303, signed.text
    page_csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/console/audit").text)[1]
    old, new = bundle_ids[10], bundle_ids[11]
    history = "/scopes/prod/acme/router/history"
    pairs = {  # page: (console request, baseline requests)
        "scopes": (("GET", "/console/scopes"), [("GET", "/v1/bundles")]),
        "bundle": (("GET", f"/console/bundles/{new}"), [("GET", f"/v1/bundles/{new}")]),
        "history": (("GET", "/console" + history), [("GET", "/v1" + history + "?limit=200")]),
        "diff": (("GET", f"/console/diff?old={old}&new={new}"), [("GET", f"/v1/bundles/{old}"),
                                                                 ("GET", f"/v1/bundles/{new}")]),
        "audit": (("GET", "/console/audit"), [("GET", "/v1/checkpoints/latest")]),
        "audit + verify": (("POST", "/console/audit"), [("GET", "/v1/verify")]),
    }
    labels: dict[str, str] = {}

    def send(client, label, method, path):
        rid = uuid.uuid4().hex
        labels[rid] = label
        data = {"csrf": page_csrf} if method == "POST" else None
        response = client.request(method, path, headers={"X-Request-Id": rid}, data=data)
        if response.status_code != 200:
            raise SystemExit(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")

    cold = {}
    for name, (page, _) in pairs.items():  # the first request of each page: templates compile, reviews run
        start = time.perf_counter()
        send(web, f"first {name}", *page)
        cold[name] = (time.perf_counter() - start) * 1000
    for _ in range(rounds):
        for name, (page, baseline) in pairs.items():
            send(web, name, *page)
            for method, path in baseline:
                send(api, f"{name} baseline", method, path)
    for i in range(rounds):  # a pair never reviewed before, in a warm server: the review's own cost
        send(web, "diff, new pair", "GET", f"/console/diff?old={bundle_ids[100 + 2 * i]}&new={bundle_ids[101 + 2 * i]}")
    time.sleep(0.5)  # the access log is written as the response ends
    times = server_times(log, labels)
    print(f"\nmedian server time over {rounds} rounds (access-log duration_ms); baseline: the JSON API's "
          "equivalent request(s) for the same data, measured interleaved in the same run")
    print(f"  {'page':<16} {'console':>10} {'baseline':>10} {'ratio':>7}   {'first request':>13}")
    results = {}
    for name in pairs:
        page_ms = statistics.median(times[name])
        per_round = len(pairs[name][1])
        base_samples = times[f"{name} baseline"]
        base_ms = statistics.median([sum(base_samples[i:i + per_round])
                                     for i in range(0, len(base_samples), per_round)])
        first = times[f"first {name}"][0]
        results[name] = {"console_ms": page_ms, "baseline_ms": base_ms, "ratio": page_ms / base_ms, "first_ms": first}
        print(f"  {name:<16} {page_ms:8.2f} ms {base_ms:8.2f} ms {page_ms / base_ms:6.2f}x   {first:10.2f} ms")
    fresh = statistics.median(times["diff, new pair"])
    results["diff, new pair"] = {"console_ms": fresh}
    print(f"  {'diff, new pair':<16} {fresh:8.2f} ms   (a pair not reviewed before: the drift review runs, then is cached)")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

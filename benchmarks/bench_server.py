"""Load test of ``polc serve`` on loopback, side by side with MLflow's model registry server.

N concurrent clients (asyncio + httpx, one process) resolve for a fixed time; each target is
measured the same way in the same run:

* ``polc serve`` on SQLite, one server process;
* ``polc serve`` on PostgreSQL (POLC_BENCH_POSTGRES_URL, else POLC_TEST_POSTGRES_URL), one and
  two server processes (``--workers 2``, sharing the database);
* ``mlflow server`` (its SQLite backend store, one worker): a registered model version by alias,
  ``GET /api/2.0/mlflow/registered-models/alias`` — the baseline a registry user knows.

A polc resolve authenticates the bearer token (a database lookup), reads the scope's promoted
row, checks it against the audit log's last event for that scope, and answers the
ResolveActiveResponse with an ETag; MLflow's answers an unauthenticated alias lookup.

Prints p50/p99 latency and requests/s per target. Clients and servers share this machine's
cores, so the figures are for comparing targets in one run, not absolute capacity.

    .venv/bin/python benchmarks/bench_server.py [--clients 8] [--seconds 10] [--no-mlflow]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited before it was up (exit {process.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the load ----------------------------------------------------------------------------------

async def _load(url: str, headers: dict, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as http:
        async def one_client(until: float, record: bool) -> None:
            nonlocal errors
            while time.perf_counter() < until:
                start = time.perf_counter()
                response = await http.get(url)
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    errors += 1
                elif record:
                    latencies.append(elapsed)

        warm = time.perf_counter() + min(2.0, seconds / 5)
        await asyncio.gather(*(one_client(warm, False) for _ in range(clients)))
        started = time.perf_counter()
        await asyncio.gather(*(one_client(started + seconds, True) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


def load(url: str, headers: dict, clients: int, seconds: float) -> dict:
    return asyncio.run(_load(url, headers, clients, seconds))


# --- polc serve --------------------------------------------------------------------------------

def build_bundle(tmp: Path) -> tuple[Path, Path]:
    """A real bundle of the example project, and the gate key its receipt is signed with."""
    from compiler.registry.receipts import generate_keypair

    project = tmp / "project"
    project.mkdir()
    shutil.copy(ROOT / "policy.toml", project / "policy.toml")
    shutil.copytree(ROOT / "examples", project / "examples")
    out = subprocess.run([sys.executable, "-m", "compiler", "build"], cwd=project, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"polc build failed: {out.stderr}")
    generate_keypair(project / "keys" / "gate")
    return project / "artifacts" / "policy" / out.stdout.split()[0], project / "keys" / "gate"


def bench_polc(name: str, store: str, workers: int, bundle: Path, key: Path, tmp: Path, clients: int,
               seconds: float) -> dict:
    from compiler.registry import Scope, open_store
    from compiler.registry.client import RemoteRegistry
    from compiler.registry.receipts import load_private_key, sign, statement
    from compiler.registry.canon import utc_now
    from compiler.server.auth import create_token

    where = tmp / f"server-{uuid.uuid4().hex[:6]}"
    where.mkdir()
    (where / "polc-server.toml").write_text(
        f'[server]\nstore = "{store}"\nbundle_dir = "bundles"\ncheckpoint_key = "checkpoint.key"\n'
        f'trusted_keys = ["{key}.pub"]\ndefault_policy = "router"\n'
        '[[server.grants]]\nprincipal = "bench"\nroles = ["submitter", "approver", "operator"]\n')
    open_store(store).close()
    token = create_token(open_store(store), "bench", expires="1d")[0]
    port = free_port()
    log = open(where / "server.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "compiler", "serve", "--config", "polc-server.toml",
                                "--port", str(port), "--workers", str(workers)], cwd=where, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/healthz", process, name)
        scope = Scope("prod", "router")
        bundle_id = bundle.name
        receipt = sign(statement("reflex_promotion", "PASS", bundle_id, evaluated_at=utc_now()),
                       load_private_key(f"{key}.key"))
        with RemoteRegistry(url, token=token) as reg:
            reg.publish(str(bundle), receipt, provenance={"evaluation_report_ref": "bench"})
            for state in ("staged", "shadow", "promoted"):
                reg.transition(bundle_id, scope, state)
        return load(url + "/v1/scopes/prod/-/router/active", {"Authorization": f"Bearer {token}"}, clients, seconds)
    finally:
        stop(process)
        log.close()


# --- mlflow server -----------------------------------------------------------------------------

def bench_mlflow(tmp: Path, clients: int, seconds: float) -> dict:
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    port = free_port()
    where = tmp / "mlflow"
    where.mkdir()
    log = open(where / "server.log", "wb")
    process = subprocess.Popen([mlflow, "server", "--backend-store-uri", f"sqlite:///{where}/mlflow.db",
                                "--default-artifact-root", str(where / "artifacts"), "--host", "127.0.0.1",
                                "--port", str(port), "--workers", "1"], cwd=where, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/health", process, "mlflow server", timeout=180)
        api = url + "/api/2.0/mlflow"
        for path, body in (("/registered-models/create", {"name": "router"}),
                           ("/model-versions/create", {"name": "router", "source": "s3://polc-bench/router/1"}),
                           ("/registered-models/alias", {"name": "router", "alias": "champion", "version": "1"})):
            response = httpx.post(api + path, json=body, timeout=30)
            if response.status_code != 200:
                raise SystemExit(f"mlflow {path}: HTTP {response.status_code} {response.text[:300]}")
        return load(api + "/registered-models/alias?name=router&alias=champion", {}, clients, seconds)
    finally:
        stop(process)
        log.close()


def mlflow_missing() -> str | None:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return "mlflow is not installed (pip install -e '.[bench]')"
    if not (shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")):
        return "the mlflow command is not on PATH"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    pg = os.environ.get("POLC_BENCH_POSTGRES_URL") or os.environ.get("POLC_TEST_POSTGRES_URL")
    results: list[tuple[str, dict | str]] = []
    print(f"{args.clients} concurrent clients, {args.seconds:g} s per target, on loopback ({os.cpu_count()} cores "
          "shared by clients and servers)", flush=True)
    with tempfile.TemporaryDirectory(prefix="polc-bench-server-") as tmp_name:
        tmp = Path(tmp_name)
        bundle, key = build_bundle(tmp)
        targets = [("polc serve, SQLite, 1 process", str(tmp / "registry.db"), 1)]
        schemas = []
        if pg:
            for workers in (1, 2):
                schema = f"bench_{uuid.uuid4().hex[:10]}"
                schemas.append(schema)
                url = pg + ("&" if "?" in pg else "?") + f"schema={schema}"
                targets.append((f"polc serve, PostgreSQL, {workers} process{'es' if workers > 1 else ''}", url, workers))
        else:
            results.append(("polc serve, PostgreSQL", "skipped: set POLC_BENCH_POSTGRES_URL (or POLC_TEST_POSTGRES_URL)"))
        try:
            for name, store, workers in targets:
                results.append((name, bench_polc(name, store, workers, bundle, key, tmp, args.clients, args.seconds)))
                _print(*results[-1])
        finally:
            if schemas:
                import psycopg

                with psycopg.connect(pg, autocommit=True) as conn:
                    for schema in schemas:
                        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        reason = "skipped: --no-mlflow" if args.no_mlflow else mlflow_missing()
        if reason:
            results.append(("mlflow server (model version by alias)", reason))
        else:
            results.append(("mlflow server, SQLite, 1 worker (alias)", bench_mlflow(tmp, args.clients, args.seconds)))
        _print(*results[-1])
    print("\nsummary")
    for name, result in results:
        _print(name, result)
    print(json.dumps({name: result for name, result in results}, indent=None))
    return 0


def _print(name: str, result) -> None:
    if isinstance(result, str):
        print(f"  {name:<44} {result}", flush=True)
        return
    print(f"  {name:<44} p50 {result['p50_ms']:7.2f} ms   p99 {result['p99_ms']:7.2f} ms   "
          f"{result['rps']:8.0f} req/s   ({result['requests']} requests, {result['errors']} errors)", flush=True)


if __name__ == "__main__":
    sys.exit(main())

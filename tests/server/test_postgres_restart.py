"""PostgreSQL stopped and restarted under a running server: retryable 503s while it is down, then
recovery with nothing lost. The test runs its own private cluster (POLC_TEST_PG_BIN), never the
shared one; as root, the cluster runs as the ``postgres`` user, as .ci/services.sh does."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from .conftest import free_port, start_server
from .test_routers_and_checkpoints import walk
from ..conftest import missing_service

pytestmark = pytest.mark.postgres


class PrivateCluster:
    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="polc-pg-private-"))
        self.dir.chmod(0o755)
        self.runas: list[str] = []
        self.user = pwd.getpwuid(os.getuid()).pw_name
        if os.getuid() == 0:  # the server refuses to run as root
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root needs a `postgres` user for a private cluster (.ci/services.sh makes one)")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.runas, self.user = ["runuser", "-u", "postgres", "--"], "postgres"
        self.port = free_port()
        self._run("initdb", "-D", str(self.dir / "data"), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.url = f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres?schema=restart_test"

    def _run(self, tool: str, *args: str) -> None:
        out = subprocess.run([*self.runas, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, (tool, out.stdout, out.stderr)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        subprocess.run([*self.runas, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster():
    bin_dir = os.environ.get("POLC_TEST_PG_BIN")
    if not bin_dir:
        missing_service("POLC_TEST_PG_BIN is not set", "set it to PostgreSQL's bin directory")
    pg = PrivateCluster(Path(bin_dir))
    pg.start()
    yield pg
    pg.destroy()


def test_postgres_stopped_and_restarted_gives_503s_then_recovery_with_nothing_lost(cluster, built, tmp_path):
    server = start_server(tmp_path / "server", cluster.url, built)
    try:
        walk(server, built, 0)
        walk(server, built, 1)
        with server.client() as alice:
            assert alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": built.hashes[0]},
                              headers={"Idempotency-Key": "before"}).status_code == 200
            before = alice.get("/v1/verify").json()
            cluster.stop()
            down = alice.get("/v1/scopes/prod/-/router/active")
            assert down.status_code == 503 and down.json()["error"]["retryable"] is True, down.text
            assert down.headers["retry-after"] == "1"
            write = alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": built.hashes[1]},
                               headers={"Idempotency-Key": "during"})
            assert write.status_code == 503 and write.json()["error"]["category"] == "INTERNAL"
            assert httpx.get(server.url + "/readyz").status_code == 503
            assert httpx.get(server.url + "/healthz").status_code == 200  # the process itself is fine
            cluster.start()
            deadline = time.monotonic() + 30
            while (back := alice.get("/v1/scopes/prod/-/router/active")).status_code != 200:
                assert back.status_code == 503 and time.monotonic() < deadline, back.text
                time.sleep(0.2)
            assert back.json()["active_bundle_ref"]["bundle_id"] == built.hashes[0]
            after = alice.get("/v1/verify").json()
            assert after["ok"] and after["head_seq"] == before["head_seq"] and after["head_hash"] == before["head_hash"]
            # the write refused while the database was down is retried with its key and applies once
            retried = alice.post("/v1/scopes/prod/-/router/promote", json={"bundle_id": built.hashes[1]},
                                 headers={"Idempotency-Key": "during"})
            assert retried.status_code == 200 and retried.json()["changed"]
            assert alice.get("/v1/verify").json()["head_seq"] == before["head_seq"] + 2
            assert httpx.get(server.url + "/readyz").status_code == 200
    finally:
        server.stop()
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]

"""Pulling a bundle with 10 MB of weights from an OCI registry: polc against plain HTTP GETs.

Against the registry of the test services (POLC_TEST_OCI_REGISTRY, _USERNAME, _PASSWORD; start
them with `. .ci/services.sh && start_services`), it pushes one bundle (10 MiB of float64
weights, the snapshot, the manifest) and times, interleaved round by round:

* ``plain GET``: the baseline, one new HTTP session GETting the bundle's layer blobs into
  memory with Basic credentials sent up front, nothing checked;
* ``polc pull + verify``: ``pull_bundle`` with a new client (as ``polc pull`` does): the
  credentials challenge, the manifest by tag, its digest, artifact type and layers, every blob
  streamed with its size capped and its sha256 checked, then the files verified as a bundle
  (the manifest's sha256, every file's sha256 and size, the snapshot's content hash);
* ``polc pull --out``: the same, then the bundle written (staged directory, fsync, rename);
* ``oras pull``: the oras command-line tool into a directory, when it is installed.

Prints medians and the ratios to the baseline (target for pull + verify: within 1.5x).

    .venv/bin/python benchmarks/bench_oci.py [--rounds 9] [--mib 10]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import requests  # noqa: E402

from benchmarks._util import interleaved_samples  # noqa: E402
from compiler.bundle import open_bundle, write_bundle  # noqa: E402
from compiler.oci.client import RegistryClient  # noqa: E402
from compiler.oci.pull import pull_bundle  # noqa: E402
from compiler.oci.push import push_bundle  # noqa: E402
from compiler.oci.reference import parse_ref  # noqa: E402
from compiler.storage.seed import seed_bundle  # noqa: E402

ORAS_MISSING = ("the oras command-line tool is not installed: Debian does not package it and neither PyPI nor "
                "npm (the package registries this machine reaches) ships its binary")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--mib", type=int, default=10, help="Size of the weights in MiB.")
    args = parser.parse_args()
    host = os.environ.get("POLC_TEST_OCI_REGISTRY")
    if not host:
        print("no OCI registry: set POLC_TEST_OCI_REGISTRY, _USERNAME and _PASSWORD "
              "(`. .ci/services.sh && start_services` starts one); nothing measured")
        return 0
    user, password = os.environ["POLC_TEST_OCI_USERNAME"], os.environ["POLC_TEST_OCI_PASSWORD"]
    with tempfile.TemporaryDirectory(prefix="polc-bench-oci-") as tmp:
        tmp = Path(tmp)
        os.environ["DOCKER_CONFIG"] = str(docker_config(tmp / "docker", host, user, password))
        ref = parse_ref(f"oci://{host}/polc-bench/{uuid.uuid4().hex[:12]}:v1")
        bundle = open_bundle(seed_bundle(tmp / "src", np.random.default_rng(7).random(args.mib * 131072),
                                         created_at="2026-01-01T00:00:00Z").path)
        pushed = push_bundle(bundle, ref, RegistryClient(ref, plain_http=True, push=True))
        layers = json.loads(requests.get(f"http://{host}/v2/{ref.repository}/manifests/v1", auth=(user, password),
                                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
                                         timeout=60).content)["layers"]
        total = sum(layer["size"] for layer in layers)
        print(f"bundle {bundle.hash[:12]}: {len(layers)} layers, {total / 2**20:.1f} MiB, at {pushed.ref}")
        candidates = {
            "plain GET (baseline)": lambda: plain_get(host, ref.repository, layers, user, password),
            "polc pull + verify": lambda: pull_bundle(ref, RegistryClient(ref, plain_http=True)),
            "polc pull --out": lambda: pull_and_write(ref, tmp),
        }
        oras = shutil.which("oras")
        if oras:
            candidates["oras pull"] = lambda: subprocess.run(
                [oras, "pull", "--plain-http", "--registry-config", os.environ["DOCKER_CONFIG"] + "/config.json",
                 "-o", tempfile.mkdtemp(dir=tmp), f"{host}/{ref.repository}:v1"], check=True, capture_output=True)
        samples = interleaved_samples(candidates, rounds=args.rounds)
    report(samples, total)
    if not oras:
        print(f"oras pull: not measured: {ORAS_MISSING}")
    return 0


def docker_config(directory: Path, host: str, user: str, password: str) -> Path:
    directory.mkdir(parents=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return directory


def plain_get(host: str, repository: str, layers: list[dict], user: str, password: str) -> int:
    with requests.Session() as session:
        session.auth = (user, password)
        return sum(len(session.get(f"http://{host}/v2/{repository}/blobs/{layer['digest']}", timeout=60).content)
                   for layer in layers)


def pull_and_write(ref, scratch: Path) -> Path:
    pulled = pull_bundle(ref, RegistryClient(ref, plain_http=True))
    out = Path(tempfile.mkdtemp(dir=scratch))  # a new out dir each round: the bundle is really written
    try:
        return write_bundle(out, pulled.bundle)
    finally:
        shutil.rmtree(out)


def report(samples: dict[str, list[float]], total: int) -> None:
    base = statistics.median(samples["plain GET (baseline)"])
    print(f"{'candidate':<24}{'median ms':>12}{'MiB/s':>10}{'x baseline':>12}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<24}{median * 1000:>12.1f}{total / 2**20 / median:>10.0f}{median / base:>12.2f}")
    ratio = statistics.median(samples["polc pull + verify"]) / base
    print(f"pull + verify / plain GET = {ratio:.2f}x (target <= 1.5x): {'met' if ratio <= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())

"""Bundles uploaded to the registry server: verified from their bytes, never trusting the client,
and stored content-addressed in the server's own bundle store (``<bundle_dir>/<hash>/``).

``store_uploaded_bundle`` is the one place that does it, so moving to the shared bundle package
changes this module only.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Mapping

from .errors import RegistryError, invalid

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def store_uploaded_bundle(files: Mapping[str, bytes], store_dir: Path) -> str:
    """Verify ``files`` (every file of a bundle directory, the manifest included) exactly as the
    runtime verifies a bundle it loads, and store them as ``store_dir/<hash>/``; the content hash.
    Storing a bundle that is already there changes nothing."""
    import json

    from ..errors import PolcError
    from ..runtime import load_snapshot
    from ..runtime.identity import MANIFEST_FILE, SNAPSHOT_FILE

    for name in files:
        if not FILE_NAME.match(name):
            raise invalid("POLC808", f"`{name}` is not a plain file name of a bundle")
    if SNAPSHOT_FILE not in files or MANIFEST_FILE not in files:
        raise invalid("POLC808", f"a bundle upload needs {SNAPSHOT_FILE} and {MANIFEST_FILE}",
                      hint="upload every file of the bundle directory")
    try:
        digest = json.loads(files[SNAPSHOT_FILE]).get("hash")
    except (ValueError, AttributeError):
        digest = None
    if not isinstance(digest, str) or not HEX64.match(digest):
        raise _refused(f"{SNAPSHOT_FILE} is not a PolicySnapshot with a content hash")
    final = store_dir / digest
    if final.is_dir():
        return digest
    store_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=store_dir))
    try:
        staged = staging / digest
        staged.mkdir()
        for name, data in files.items():
            with open(staged / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        try:
            load_snapshot(staged)  # every hash: content, policy_id, manifest, each listed file, no extra file
        except PolcError as exc:
            raise _refused(exc.message) from None
        try:
            os.rename(staged, final)
        except OSError:
            if not final.is_dir():  # another request stored the same bundle first: same bytes, fine
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return digest


def _refused(message: str) -> RegistryError:
    return RegistryError("INTEGRITY", "POLC808", f"the uploaded bundle does not verify: {message}",
                         hint="upload the files of a bundle exactly as `polc build` wrote them")

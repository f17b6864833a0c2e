"""Step ``policy_manifest@v1`` → ``policy_manifest@v2``.

A v1 policy is the legacy single-file ``policy.json`` beside its weights::

    {"schema_version": "policy_manifest@v1",      # optional in the oldest files
     "policy_hash": "<sha256 of the weights file>",
     "version": "2025.09.14", "model_type": "reranker",
     "serialization": "npy" | "pickle@3.11",
     "weights_file": "policy.weights.npy",         # relative to policy.json
     "created_at": "2025-09-14T10:00:00Z"}

``up`` returns the v2 manifest draft (everything but the bundle identity, which the caller
derives from the snapshot) and the raw little-endian weights file it wrote; ``down``
returns a v1 ``policy.json`` dict and an ``.npy`` weights file (pickle is never written).

>>> FROM, TO
('policy_manifest@v1', 'policy_manifest@v2')
"""

from __future__ import annotations

import hashlib
from pathlib import Path

FROM, TO = "policy_manifest@v1", "policy_manifest@v2"
#: Classes a legacy pickle may name; anything else is refused even with --allow-pickle.
PICKLE_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                  ("numpy._core.multiarray", "scalar")}


class MigrationError(ValueError):
    """The source cannot be migrated; the message says why."""


def read_legacy_weights(manifest: dict, weights_path: Path, *, allow_pickle: bool):
    import numpy as np

    serialization = str(manifest.get("serialization", "npy"))
    if serialization.startswith("pickle"):
        if not allow_pickle:
            raise PermissionError(serialization)
        return np.asarray(_restricted_unpickle(weights_path.read_bytes()), dtype=np.float64)
    with open(weights_path, "rb") as fh:
        return np.load(fh, allow_pickle=False)


def _restricted_unpickle(data: bytes):
    import io
    import pickle

    class Restricted(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) not in PICKLE_ALLOWED:
                raise MigrationError(f"the pickle names {module}.{name}; only numpy arrays are migrated")
            return super().find_class(module, name)

    try:
        return Restricted(io.BytesIO(data)).load()
    except MigrationError:
        raise
    except Exception as exc:  # a damaged pickle can raise almost anything
        raise MigrationError(f"the pickle cannot be read: {type(exc).__name__}: {exc}") from None


def up(manifest: dict, weights_path: Path, *, allow_pickle: bool = False) -> tuple[dict, Path]:
    """(v2 manifest draft, path of policy.weights.bin written beside ``weights_path``'s copy)."""
    from ..weights import WEIGHTS_FILE, check_array, encode

    array = read_legacy_weights(manifest, weights_path, allow_pickle=allow_pickle)
    problems = check_array(array, str(weights_path))
    if problems:
        raise MigrationError(problems[0].message)
    data, meta = encode(array)
    out = weights_path.parent / WEIGHTS_FILE
    out.write_bytes(data)
    draft = {
        "schema_version": TO,
        "policy": {"version": str(manifest.get("version", "0.0.0")), "model_type": str(manifest.get("model_type", "router")),
                   "serialization": meta["format"], "byte_size": meta["byte_size"],
                   "created_at": manifest.get("created_at")},
        "weights": meta,
        "legacy": {"schema_version": FROM, "policy_hash": manifest.get("policy_hash"),
                   "serialization": manifest.get("serialization", "npy"), "version": manifest.get("version"),
                   "model_type": manifest.get("model_type"), "created_at": manifest.get("created_at")},
    }
    return draft, out


def down(manifest: dict, weights_path: Path) -> tuple[dict, Path]:
    """Back to v1: a legacy policy.json dict and a ``.npy`` weights file (rollback of a failed step)."""
    import numpy as np

    from ..weights import decode

    array = decode(weights_path.read_bytes(), manifest["weights"], str(weights_path))
    out = weights_path.parent / "policy.weights.npy"
    with open(out, "wb") as fh:
        np.save(fh, array, allow_pickle=False)
    legacy = manifest.get("legacy", {})
    v1 = {"schema_version": FROM, "policy_hash": hashlib.sha256(out.read_bytes()).hexdigest(),
          "version": manifest["policy"]["version"], "model_type": manifest["policy"]["model_type"],
          "serialization": "npy", "weights_file": out.name, "created_at": manifest["policy"].get("created_at"),
          "migrated_back_from": legacy.get("policy_hash")}
    return v1, out

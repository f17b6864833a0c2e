"""The storage stages of the pipeline: weights in, and the records a build leaves behind.

* ``parse_weights`` reads ``[sources].weights`` (a ``.npy``, never pickle), ``check_weights``
  refuses dtypes other than float32/float64, empty arrays and NaN/infinity;
* ``lower_weights`` adds the snapshot block ``policy_weights``, the bundle file
  ``policy.weights.bin`` and the manifest section ``weights``;
* ``emit_records`` (after ``emit_bundle``) appends a ``build`` row to the hash ledger when
  the head moved, a ``surface_change`` row to ``delta_log.jsonl`` when the surface differs
  from the previous head's, and with ``[storage].capsule`` configured (or
  ``build(..., capsule=True)``) stores the snapshot bytes in the capsule (docs/storage.md "Capsule").
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..compilation import Compilation, StageOutput, stage
from ..diagnostics import has_errors
from ..sources import Source, relative_name, resolve_in_project
from . import weights as wfmt


@stage(writes=("weights_array", "sources"))
def parse_weights(c: Compilation) -> StageOutput:
    name = c.project.source_path("weights")
    if name is None:
        return StageOutput()
    span = c.project.span("sources", "weights")
    path = resolve_in_project(c.project.root, name, span)
    rel = relative_name(c.project.root, path)
    array, data = wfmt.read_npy(path, rel, span)
    source = Source(rel, path, "", hashlib.sha256(data).hexdigest(), len(data))
    return StageOutput({"weights_array": array, "sources": (source,)})


@stage(reads=("weights_array",), writes=("weights_checked",))
def check_weights(c: Compilation) -> StageOutput:
    array = c.get("weights_array")
    if array is None:
        return StageOutput()
    found = wfmt.check_array(array, c.project.source_path("weights"), c.project.span("sources", "weights"))
    return StageOutput({} if has_errors(found) else {"weights_checked": array}, tuple(found))


@stage(reads=("weights_checked",), writes=("snapshot_blocks", "bundle_files", "manifest_extra"))
def lower_weights(c: Compilation) -> StageOutput:
    array = c.get("weights_checked")
    if array is None:
        return StageOutput()
    data, meta = wfmt.encode(array)
    return StageOutput({"snapshot_blocks": {"policy_weights": meta}, "bundle_files": {wfmt.WEIGHTS_FILE: data},
                        "manifest_extra": {"weights": meta}})


@stage(reads=("bundle", "bundle_dir", "previous_head"))
def emit_records(c: Compilation) -> StageOutput:
    from . import ledger
    from .surface_log import log_surface_change

    bundle = c["bundle"]  # what is on disk (an existing bundle keeps its own manifest)
    bundle_dir: Path = c["bundle_dir"]
    out_dir = bundle_dir.parent
    previous = c.get("previous_head")
    if previous != bundle.hash:
        ledger.record(out_dir, "build", bundle, previous=previous)
        log_surface_change(out_dir, previous, bundle)
    from .capsule import capsule_configured, store_bundle

    if c.options.get("capsule") or capsule_configured(c.project):  # dual storage (docs/storage.md)
        store_bundle(c.project, bundle)
    return StageOutput()

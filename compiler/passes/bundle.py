"""Emission: the bundle directory ``<out>/<hash>/`` and the head pointer ``<out>/policy.json``.

The bundle package (``compiler.bundle``) owns the bytes: this stage hands it the snapshot, the
extra files and manifest sections earlier stages produced, and the project's settings; it
writes the bundle (verified, staged, renamed into place; a complete bundle is never rewritten)
and moves the head under the storage lock, only when it changes. Building unchanged sources
twice therefore changes nothing on disk.
"""

from __future__ import annotations

from pathlib import Path

from ..bundle import make_bundle, open_bundle, point_head, read_head, storage_lock, write_bundle
from ..compilation import Compilation, StageOutput, stage


def project_settings(c: Compilation) -> dict:
    """The manifest's view of policy.toml: ``[project]`` (name, version, model_type) and ``[build]``."""
    return {**c.project.section("project"), **c.project.section("build")}


@stage(reads=("snapshot", "bundle_files", "sources", "manifest_extra"),
       writes=("bundle_dir", "bundle", "manifest", "previous_head"))
def emit_bundle(c: Compilation) -> StageOutput:
    out_dir = Path(c.options["out_dir"]).resolve() if c.options.get("out_dir") else c.project.out_dir
    _refuse_non_directory(out_dir)
    bundle = make_bundle(c["snapshot"], c.get("bundle_files", {}), sources=c.get("sources", ()),
                         project=project_settings(c), manifest_extra=dict(c.get("manifest_extra", {})))
    with storage_lock(out_dir):
        head = read_head(out_dir) if (out_dir / "policy.json").exists() else None
        bundle_dir = write_bundle(out_dir, bundle)
        stored = open_bundle(bundle_dir)  # an existing bundle keeps its own manifest (created_at)
        point_head(out_dir, stored)
    return StageOutput({"bundle_dir": bundle_dir, "bundle": stored, "manifest": stored.manifest,
                        "previous_head": head.active if head else None})


def _refuse_non_directory(out_dir: Path) -> None:
    """``--out /dev/full``: say what stands there, not the OS's "File exists" from mkdir."""
    import os

    from ..diagnostics import Diagnostic
    from ..errors import InputError
    from ..fsutil import file_kind

    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        kind = file_kind(os.stat(out_dir).st_mode)
        raise InputError(f"{out_dir} is not a directory", [Diagnostic.error(
            "POLC020", f"the output directory `{out_dir}` is {kind}, not a directory",
            hint="choose another directory with --out or [build].out_dir")])

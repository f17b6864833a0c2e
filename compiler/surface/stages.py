"""The surface's pipeline stages: ``parse_surface`` → ``check_surface`` → ``lower_surface``.

All three do nothing when policy.toml names no ``[sources].surface``.

* ``parse_surface`` reads the YAML safely (units ``surface_doc``, ``sources``);
* ``check_surface`` runs the schema, then the semantic rules, then the version rule
  against the previous build (unit ``surface``: the normalized surface);
* ``lower_surface`` adds the snapshot block ``surface`` and the bundle file
  ``policy.surface.yaml``.
"""

from __future__ import annotations

from ..diagnostics import has_errors
from ..pipeline import Compilation, StageOutput
from ..sources import read_source
from . import checks
from .normalize import SURFACE_FILE, normalize, to_yaml
from .version import check_version
from .yaml_front import parse_yaml


def parse_surface(c: Compilation) -> StageOutput:
    name = c.project.source_path("surface")
    if name is None:
        return StageOutput()
    source = read_source(c.project.root, name, c.project.span("sources", "surface"))
    return StageOutput({"surface_doc": parse_yaml(source), "sources": c.get("sources", ()) + (source,)})


def check_surface(c: Compilation) -> StageOutput:
    doc = c.get("surface_doc")
    if doc is None:
        return StageOutput()
    found = checks.check_schema(doc)
    if has_errors(found):
        return StageOutput({}, tuple(found))
    found += checks.check_semantics(doc)
    if has_errors(found):
        return StageOutput({}, tuple(found))
    surface = normalize(doc.data)
    found += check_version(surface, _out_dir(c), lambda: doc.index.value(("surface_version",)))
    return StageOutput({"surface": surface}, tuple(found))


def lower_surface(c: Compilation) -> StageOutput:
    surface = c.get("surface")
    if surface is None:
        return StageOutput()
    return StageOutput({
        "snapshot_blocks": {**c.get("snapshot_blocks", {}), "surface": surface},
        "bundle_files": {**c.get("bundle_files", {}), SURFACE_FILE: to_yaml(surface)},
    })


def _out_dir(c: Compilation):
    from pathlib import Path

    return Path(c.options["out_dir"]).resolve() if c.options.get("out_dir") else c.project.out_dir

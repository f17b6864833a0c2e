"""The surface's pipeline stages: ``parse_surface`` → ``check_surface`` → ``lower_surface``.

All three do nothing when policy.toml names no ``[sources].surface``.

* ``parse_surface`` reads the YAML safely (units ``surface_doc``, ``sources``);
* ``check_surface`` runs the schema, then the semantic rules, then the version rule
  against the previous build, when the run was given one (option ``previous_bundle``; unit
  ``surface``: the normalized surface);
* ``lower_surface`` adds the snapshot block ``surface`` (the bundle package writes the bundle
  file ``policy.surface.yaml`` from it).
"""

from __future__ import annotations

from ..diagnostics import has_errors
from ..compilation import Compilation, StageOutput, stage
from ..sources import read_source
from . import checks
from .normalize import normalize
from .version import check_version
from .yaml_front import parse_yaml


@stage(writes=("surface_doc", "sources"))
def parse_surface(c: Compilation) -> StageOutput:
    name = c.project.source_path("surface")
    if name is None:
        return StageOutput()
    source = read_source(c.project.root, name, c.project.span("sources", "surface"))
    return StageOutput({"surface_doc": parse_yaml(source), "sources": (source,)})


@stage(reads=("surface_doc",), writes=("surface",))
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
    found += check_version(surface, c.options.get("previous_bundle"), lambda: doc.index.value(("surface_version",)))
    return StageOutput({"surface": surface}, tuple(found))


@stage(reads=("surface",), writes=("snapshot_blocks",))
def lower_surface(c: Compilation) -> StageOutput:
    surface = c.get("surface")
    if surface is None:
        return StageOutput()
    return StageOutput({"snapshot_blocks": {"surface": surface}})

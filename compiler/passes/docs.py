"""The doc contract (docs/reference/policy-toml.md, ``required_docs``): documentation files the project requires.

``policy.toml``::

    [check]
    required_docs = ["docs/MODEL-POLICY.md"]

A missing file is ``POLC012`` at the line of policy.toml that requires it.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..errors import PolcError
from ..compilation import Compilation, StageOutput, stage
from ..sources import read_source, resolve_in_project


@stage(writes=("sources",))
def parse_doc_sources(c: Compilation) -> StageOutput:
    """Read ``[sources].docs``: the rationale documents recorded as provenance in source_files."""
    project = c.project
    read, found = [], []
    for i, name in enumerate(project.section("sources").get("docs", [])):
        try:
            read.append(read_source(project.root, name, project.span("sources", "docs", i), allow_empty=True))
        except PolcError as exc:
            found.extend(exc.diagnostics)
    return StageOutput({"sources": tuple(read)}, tuple(found))


@stage()
def check_required_docs(c: Compilation) -> StageOutput:
    project = c.project
    found = []
    for i, name in enumerate(project.section("check").get("required_docs", [])):
        span = project.span("check", "required_docs", i)
        try:
            path = resolve_in_project(project.root, name, span)
        except PolcError as exc:
            found.extend(exc.diagnostics)
            continue
        kind = _kind_of(path)
        if kind is None:
            found.append(Diagnostic.error(
                "POLC012", f"required documentation file `{name}` is missing", span,
                hint="write it (the human-readable rationale of the policy), or remove it from "
                     "[check].required_docs"))
        elif kind != "a regular file":
            found.append(Diagnostic.error(
                "POLC012", f"required documentation file `{name}` is {kind}, not a file", span,
                hint="replace it with the document itself, or remove it from [check].required_docs"))
    return StageOutput({}, tuple(found))


def _kind_of(path) -> str | None:
    """What stands at ``path`` (``a regular file``, ``a directory``, ...), or None if nothing does."""
    from ..fsutil import file_kind

    try:
        return file_kind(path.stat().st_mode)
    except (OSError, RuntimeError):  # missing, a dangling link or a symlink loop
        return None

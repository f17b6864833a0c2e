"""Resolving OLD and NEW: a snapshot.json, a bundle dir, a head pointer, a project, a git revision.

An existing path wins over a revision of the same name; ``git:NAME`` forces a revision.
Sources are compiled on the fly up to ``lower_snapshot`` (nothing is written). A source
side keeps the text of what it compiled, so changes can point at lines of NEW.

>>> Side(SideInfo("a.json", "snapshot"), {"hash": "x"}).compiled
True
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..diagnostics import Diagnostic
from ..errors import InputError
from . import artifacts, gitrev
from .model import SideInfo


@dataclass(frozen=True)
class Side:
    info: SideInfo
    snapshot: dict | None                   # None: the sources did not compile
    diagnostics: tuple[Diagnostic, ...] = ()   # the compiler's, when they did not
    sources: Mapping[str, str] = field(default_factory=dict)   # project-relative name → text
    roles: Mapping[str, Any] = field(default_factory=dict)     # [sources] of policy.toml
    config: Mapping[str, Any] = field(default_factory=dict)    # policy.toml, for [drift]
    project_text: str | None = None         # policy.toml text, for spans of [drift] entries
    prefix: str = ""                        # project root relative to the current directory
    toml_index: Any = None                  # positions in model_policy.toml, from the compile

    @property
    def compiled(self) -> bool:
        return self.snapshot is not None


def resolve_side(arg: str, cwd: Path) -> Side:
    """One side of the diff from what the user typed."""
    if arg.startswith("git:"):
        return from_revision(arg[4:], cwd)
    path = cwd / arg
    if os.path.lexists(path):
        return from_path(path, arg, cwd)
    return from_revision(arg, cwd, path_like=gitrev.looks_like_path(arg))


def working_tree(cwd: Path) -> Side:
    """The project containing ``cwd``, as it is on disk (uncommitted edits included)."""
    return compile_project(cwd, SideInfo("working tree", "worktree"), cwd)


def from_path(path: Path, label: str, cwd: Path) -> Side:
    if path.is_dir():
        if (path / artifacts.SNAPSHOT_FILE).exists() or (path / artifacts.MANIFEST_FILE).exists():
            return _artifact_side(label, "bundle", artifacts.load_bundle(path))
        if (path / artifacts.HEAD_FILE).exists():
            return _artifact_side(label, "head", artifacts.load_head(path))
        return compile_project(path, SideInfo(label, "source"), cwd)
    if path.name == "policy.toml" or path.suffix == ".toml":
        return compile_project(path if path.name == "policy.toml" else path.parent, SideInfo(label, "source"), cwd)
    kind, snapshot = artifacts.load_file(path)
    return _artifact_side(label, kind, snapshot)


def _artifact_side(label: str, kind: str, snapshot: dict) -> Side:
    return Side(SideInfo(label, kind, snapshot.get("hash"), snapshot.get("policy_id")), snapshot)


def compile_project(start: Path, info: SideInfo, cwd: Path, display_root: Path | None = None) -> Side:
    """Compile the project at/above ``start`` to its snapshot, writing nothing.

    A project that cannot be found is an InputError; one whose sources do not compile is
    a Side without snapshot, carrying the diagnostics (a NEW like that is a BLOCK finding).
    """
    from ..pipeline import compile_snapshot

    result = compile_snapshot(start)
    if result.compilation is None:  # no policy.toml, or it is unreadable
        raise InputError(f"{info.label}: no policy project", result.diagnostics)
    c = result.compilation
    prefix = display_prefix(display_root or c.project.root, cwd)
    sources = {s.rel: s.text for s in c.get("sources", ())}
    document = c.get("model_policy")  # the runner's own view: every unit
    side = Side(info, None, _rebase(result.diagnostics, prefix), MappingProxyType(sources),
                MappingProxyType(dict(c.project.section("sources"))), MappingProxyType(dict(c.project.config)),
                c.project.document.source.text, prefix, getattr(document, "index", None))
    snapshot = c.get("snapshot") if result.ok else None
    if snapshot is None:
        return side
    info = SideInfo(info.label, info.kind, snapshot["hash"], snapshot["policy_id"], info.revision)
    return replace(side, info=info, snapshot=snapshot)


def from_revision(rev: str, cwd: Path, *, path_like: bool = False) -> Side:
    commit = gitrev.resolve_commit(rev, cwd, path_like=path_like)
    top = gitrev.repo_top(cwd)
    project_root = _project_root_or(cwd, top)
    prefix = project_root.relative_to(top).as_posix() if project_root != top else ""
    with tempfile.TemporaryDirectory(prefix="polc-diff-") as tmp:
        gitrev.export_revision(commit, cwd, prefix, Path(tmp), rev)
        root = Path(tmp) / prefix
        if not (root / "policy.toml").is_file():
            raise InputError(f"{rev}: no policy.toml", [Diagnostic.error(
                "POLC414", f"revision `{rev}` has no `{(Path(prefix) / 'policy.toml').as_posix()}`",
                hint="compare with a revision that has the project, or with a snapshot file")])
        return compile_project(root / "policy.toml", SideInfo(rev, "git", revision=commit), cwd,
                               display_root=project_root)


def _project_root_or(cwd: Path, top: Path) -> Path:
    """The project the current directory is in (same place at the revision), else the repo root."""
    from ..project import find_project_file

    try:
        root = find_project_file(cwd).parent.resolve()
    except InputError:
        return top.resolve()
    try:
        root.relative_to(top.resolve())
    except ValueError:
        return top.resolve()
    return root


def display_prefix(root: Path, cwd: Path) -> str:
    """How the project root is named from the current directory ('' when they are the same)."""
    try:
        rel = os.path.relpath(root.resolve(), cwd.resolve())
    except ValueError:  # another drive (Windows)
        return ""
    return "" if rel == "." else Path(rel).as_posix()


def _rebase(diagnostics, prefix: str) -> tuple[Diagnostic, ...]:
    from .spans import rebase

    return tuple(rebase(d, prefix) for d in diagnostics)

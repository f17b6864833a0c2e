"""A project's capsule: where it is (``[storage].capsule``, default ``<out_dir>/capsule.sqlite``),
its workspace name, and dual storage of every bundle that becomes a head (docs/storage.md).

The store itself, its URIs and the workspace name are ``compiler.capsule``'s.
"""

from __future__ import annotations

from pathlib import Path

from ..capsule import DEFAULT_FILE, open_capsule, policy_uri, workspace_name


def capsule_settings(project) -> tuple[Path | str, str]:
    """(capsule file or URL, workspace) of a project: ``[storage].capsule`` (default
    ``<out_dir>/capsule.sqlite``) and the workspace name (``compiler.capsule.uri.workspace_name``)."""
    from ..sources import resolve_in_project

    name = project.section("storage").get("capsule")
    if name and name.startswith(("postgresql://", "postgres://")):
        path: Path | str = name
    else:
        path = (resolve_in_project(project.root, name, project.span("storage", "capsule")) if name
                else project.out_dir / DEFAULT_FILE)
    return path, workspace_name(project.config, project.root)


def capsule_configured(project) -> bool:
    """Whether policy.toml names a capsule (``[storage].capsule``): dual storage is on."""
    return project is not None and bool(project.section("storage").get("capsule"))


def store_bundle(project, bundle) -> str:
    """Store the (verified) bundle's snapshot.json bytes in the project's capsule; returns the URI."""
    path, workspace = capsule_settings(project)
    data = bundle.snapshot_bytes
    uri = policy_uri(workspace, bundle.policy_id)
    store = open_capsule(path)
    try:
        store.put(uri, data)
    finally:
        store.close()
    return uri


def mirror_bundle(project, bundle) -> str | None:
    """Dual storage for every head: with ``[storage].capsule`` configured, store ``bundle`` in the
    capsule too (build, delta apply, restore, migrate and backfill all call this); the URI, or None."""
    return store_bundle(project, bundle) if capsule_configured(project) else None



"""Where pins are resolved (the out dir a ``policy_bundle_id`` is looked up in), and the
project settings the runtime reads without the compiler: the workspace name of ``mv2://`` URIs
and the capsule a run writes to.

A pin only selects a bundle (``load_snapshot("ab12")``); the lookup itself — full hash, unique
prefix of 4+ characters, or policy_id — is the bundle package's ``find_bundle``. The out dir is
``root`` (an out dir, or a project directory), else ``POLC_OUT_DIR``, else the ``[build].out_dir``
of the ``policy.toml`` found by walking up from the current directory, else ``artifacts/policy``.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> out_dir_for(out) == out
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..bundle import HEAD_FILE
from ..capsule.uri import workspace_name

DEFAULT_OUT_DIR = "artifacts/policy"


def out_dir_for(root: str | os.PathLike | None) -> Path:
    """The out dir: ``root`` itself, the out dir of the project at ``root``, or the default."""
    if root is None:
        env = os.environ.get("POLC_OUT_DIR")
        if env:
            return Path(env)
        project = _find_project(Path.cwd())
        return _project_out_dir(project) if project else Path(DEFAULT_OUT_DIR)
    root = Path(root)
    if (root / "policy.toml").is_file() and not (root / HEAD_FILE).exists():
        return _project_out_dir(root / "policy.toml")
    return root


def _find_project(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / "policy.toml").is_file():
            return directory / "policy.toml"
    return None


def _project_out_dir(policy_toml: Path) -> Path:
    build = _section(_read_toml(policy_toml), "build")
    return policy_toml.parent / str(build.get("out_dir", DEFAULT_OUT_DIR))


def _read_toml(policy_toml: Path) -> dict:
    import tomllib  # stdlib; only paid when project settings are needed

    try:
        with open(policy_toml, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, ValueError):
        return {}  # an unreadable policy.toml is `polc check`'s to report; the runtime uses defaults


def _section(config: Mapping, name: str) -> Mapping:
    value = config.get(name)
    return value if isinstance(value, Mapping) else {}


# --- the workspace name and the capsule of a project ----------------------------------------------

@dataclass(frozen=True)
class ProjectSettings:
    """What the runtime reads of a ``policy.toml`` (with tomllib; ``polc check`` validates it)."""

    root: Path
    config: Mapping[str, Any]

    @property
    def workspace(self) -> str:
        return workspace_name(self.config, self.root)

    @property
    def out_dir(self) -> Path:
        return self.root / str(_section(self.config, "build").get("out_dir", DEFAULT_OUT_DIR))

    @property
    def capsule(self) -> Path | str | None:
        """``[storage].capsule`` (a path inside the project, or a postgresql:// URL); None if unset."""
        name = _section(self.config, "storage").get("capsule")
        if not isinstance(name, str) or not name:
            return None
        if name.startswith(("postgresql://", "postgres://")):
            return name
        from ..sources import resolve_in_project

        return resolve_in_project(self.root, name)


def project_settings_near(*starts: str | os.PathLike | None) -> ProjectSettings | None:
    """The settings of the first project found by walking up from each of ``starts`` in turn."""
    for start in starts:
        if start is None:
            continue
        path = Path(start).resolve()
        policy_toml = _find_project(path if path.is_dir() else path.parent)
        if policy_toml is not None:
            return ProjectSettings(policy_toml.parent, _read_toml(policy_toml))
    return None


def default_capsule_path(start: Path | None = None) -> Path | str:
    """``POLC_CAPSULE``, else the capsule of the project found by walking up from ``start``
    (read with the runtime's stdlib reader: a router resolving ``mv2://`` does not load the compiler)."""
    if os.environ.get("POLC_CAPSULE"):
        value = os.environ["POLC_CAPSULE"]
        return value if value.startswith(("postgresql://", "postgres://")) else Path(value)
    settings = project_settings_near(start or Path.cwd())
    if settings is None:
        from .errors import input_error

        raise input_error("POLC360", f"no policy.toml found in `{Path(start or Path.cwd()).resolve()}` or above, "
                                     "so there is no capsule to read",
                          "set POLC_CAPSULE to the capsule file or URL, or run inside the project")
    from ..capsule import DEFAULT_FILE

    return settings.capsule or settings.out_dir / DEFAULT_FILE

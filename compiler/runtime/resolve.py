"""Where pins are resolved: the out dir a ``policy_bundle_id`` is looked up in.

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
from pathlib import Path

from ..bundle import HEAD_FILE

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
    import tomllib  # stdlib; only paid when an id is resolved without an explicit root

    try:
        with open(policy_toml, "rb") as fh:
            out = tomllib.load(fh).get("build", {}).get("out_dir", DEFAULT_OUT_DIR)
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        out = DEFAULT_OUT_DIR
    return policy_toml.parent / str(out)

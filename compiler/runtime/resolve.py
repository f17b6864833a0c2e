"""Pins: resolve a ``policy_bundle_id`` (full hash, unique prefix or policy_id) to its bundle dir.

Spec 002: "the runtime MUST allow selecting an explicit policy_bundle_id for a session";
pinning only selects, it never writes. The id is looked up among the bundle directories of the
out dir ``root`` (default: ``POLC_OUT_DIR``, else the ``[build].out_dir`` of the ``policy.toml``
found by walking up from the current directory, else ``artifacts/policy``).

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("ab12" + "0" * 60, "ab13" + "0" * 60): (out / name).mkdir()
>>> resolve_pin("ab12", out).name[:6]
'ab1200'
>>> resolve_pin("ab1", out)
Traceback (most recent call last):
  ...
compiler.errors.UsageError: a policy_bundle_id prefix needs at least 4 hex digits, got `ab1`
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError, UsageError
from .errors import input_error
from .identity import HEAD_FILE, is_full_hash, policy_id_for

MIN_PREFIX = 4
DEFAULT_OUT_DIR = "artifacts/policy"


def resolve_pin(bundle_id: str, root: str | os.PathLike | None = None) -> Path:
    """The bundle directory that ``bundle_id`` names under ``root``; errors say what matched."""
    out_dir = out_dir_for(root)
    text = bundle_id.strip().lower()
    bundles = list_bundles(out_dir)
    if _is_uuid(text):
        matches = [b for b in bundles if policy_id_for(b.name) == text]
    else:
        if len(text) < MIN_PREFIX:
            raise input_error("POLC707", f"a policy_bundle_id prefix needs at least {MIN_PREFIX} hex digits, "
                                         f"got `{bundle_id}`", "give more digits of the hash", UsageError)
        matches = [b for b in bundles if b.name.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(b.name[:12] for b in bundles[:10]) or "(none)"
        raise input_error("POLC707", f"no bundle `{bundle_id}` in `{out_dir}` (a dangling pin); "
                                     f"bundles there: {known}",
                          "build the policy, pull the bundle from the registry, or pin an existing id",
                          InputError)
    names = ", ".join(b.name[:16] for b in matches)
    raise input_error("POLC708", f"policy_bundle_id prefix `{bundle_id}` is ambiguous: it matches {names}",
                      "give more digits of the hash", UsageError)


def list_bundles(out_dir: Path) -> list[Path]:
    """The complete bundle directories of ``out_dir`` (named by a content hash), sorted by name."""
    try:
        entries = sorted(os.scandir(out_dir), key=lambda e: e.name)
    except OSError as exc:
        raise input_error("POLC707", f"the out dir `{out_dir}` cannot be read: {exc.strerror or exc}",
                          "pass root= (the out dir or the project dir), or set POLC_OUT_DIR") from None
    return [Path(e.path) for e in entries if is_full_hash(e.name) and e.is_dir()]


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


def _is_uuid(text: str) -> bool:
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(is_hex(p) for p in parts)


def is_hex(text: str) -> bool:
    return bool(text) and all(ch in "0123456789abcdef" for ch in text)

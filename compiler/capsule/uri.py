"""Capsule addresses: ``mv2://<workspace>/policy/<policy_id>`` for a snapshot and
``mv2://<workspace>/runs/<run_id>`` for a run's event stream, and the one derivation of a
project's workspace name. Every reader and writer of these URIs parses them here.

>>> parse_uri("mv2://team-a/policy/3f1c")
('team-a', '3f1c')
>>> policy_uri("team-a", "3f1c")
'mv2://team-a/policy/3f1c'
>>> workspace_name({"project": {"name": "polc example"}}, Path("/x/proj"))
'polc-example'
>>> workspace_name({}, Path("/x/proj"))
'proj'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from ..diagnostics import Diagnostic
from ..errors import InputError

SCHEME = "mv2://"
_NAME = r"[A-Za-z0-9._-]+"
_URI = re.compile(rf"^mv2://({_NAME})/policy/({_NAME})$")
_STREAM = re.compile(rf"^mv2://({_NAME})/runs/([A-Za-z0-9][A-Za-z0-9._-]{{0,127}})$")


def parse_uri(uri: str) -> tuple[str, str]:
    """(workspace, policy_id) of a snapshot URI; POLC363 (exit 3) for anything else."""
    match = _URI.match(uri) if isinstance(uri, str) else None
    if not match:
        raise InputError(f"bad URI {uri}", [Diagnostic.error(
            "POLC363", f"`{uri}` is not a capsule URI", hint="expected mv2://<workspace>/policy/<policy_id>")])
    return match.group(1), match.group(2)


def policy_uri(workspace: str, policy_id: str) -> str:
    return f"{SCHEME}{workspace}/policy/{policy_id}"


def run_stream(workspace: str, run_id: str) -> str:
    """The event stream of a run: ``mv2://<workspace>/runs/<run_id>``."""
    stream = f"{SCHEME}{workspace}/runs/{run_id}"
    check_stream(stream)
    return stream


def check_stream(stream: str) -> tuple[str, str]:
    match = _STREAM.match(stream) if isinstance(stream, str) else None
    if not match:
        raise InputError(f"bad stream {stream}", [Diagnostic.error(
            "POLC363", f"`{stream}` is not a capsule event stream", hint="expected mv2://<workspace>/runs/<run_id>")])
    return match.group(1), match.group(2)


def safe_name(raw: str) -> str:
    """``raw`` as a URI host: characters other than ``A-Za-z0-9._-`` become ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", str(raw))


def workspace_name(config: Mapping[str, Any], root: Path) -> str:
    """The ``<workspace>`` of the project at ``root`` whose policy.toml is ``config``:
    ``[storage].workspace``, else ``[project].name``, else the project directory's name.

    The one place this name is derived: builds, the capsule, parity checks and runs all use it,
    so a run's ``policy_uri`` names the object ``polc build --capsule`` stored.
    """
    def section(name: str) -> Mapping:
        value = config.get(name)
        return value if isinstance(value, Mapping) else {}

    raw = section("storage").get("workspace") or section("project").get("name") or Path(root).resolve().name
    return safe_name(raw or "workspace")

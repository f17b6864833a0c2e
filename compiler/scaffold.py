"""``polc init [DIR]``: a minimal project that builds at once, written without overwriting anything.

The files come from ``compiler/templates/init.*``::

    policy.toml               the project file ([project] name from the directory's name)
    model_policy.toml         routing, capture, budgets and gates, with commented examples
    docs/MODEL-POLICY.md      the rationale the doc contract requires
    .pre-commit-config.yaml   a pre-commit hook running `polc check`

Each file is created only if its name is free (``fsutil.atomic_create_bytes``: written whole
under a temp name, then linked into place, so even a file that appears meanwhile is kept);
existing files are reported as kept.

>>> project_name("/tmp/My Policies")
'My-Policies'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic
from .errors import InputError, UsageError

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Target name -> template file in compiler/templates/.
FILES = {
    "policy.toml": "init.policy.toml",
    "model_policy.toml": "init.model_policy.toml",
    "docs/MODEL-POLICY.md": "init.MODEL-POLICY.md",
    ".pre-commit-config.yaml": "init.pre-commit-config.yaml",
}


@dataclass
class InitResult:
    root: Path
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"ok": True, "root": str(self.root), "created": self.created, "kept": self.kept}


def project_name(directory: str | Path) -> str:
    """A [project] name from a directory name: characters other than ``A-Za-z0-9._-`` become ``-``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(directory).resolve().name).strip("-.")
    return name or "policy"


def init_project(directory: str | Path, name: str | None = None) -> InitResult:
    """Write the missing files of a minimal project into ``directory`` (created if needed)."""
    from .fsutil import atomic_create_bytes

    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise UsageError("not a directory", [Diagnostic.error(
            "POLC032", f"`{root}` exists and is not a directory", hint="pass a new or existing directory")])
    result = InitResult(root.resolve())
    values = {"name": json.dumps(name or project_name(root))}  # a JSON string is a valid TOML basic string
    for target, template in FILES.items():
        path = root / target
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        if target == "policy.toml":
            text = text.replace("{name}", values["name"])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            created = atomic_create_bytes(path, text.encode("utf-8"))
        except OSError as exc:
            raise InputError("cannot write", [Diagnostic.error(
                "POLC033", f"`{path}` cannot be written: {exc.strerror or exc}",
                hint="choose a directory you can write to; nothing that existed was changed")]) from None
        (result.created if created else result.kept).append(target)
    return result

"""The project file, ``policy.toml``: found by walking up from a directory, as git does.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "policy.toml").write_text('[sources]\\nmodel_policy = "model_policy.toml"\\n')
>>> (root / "sub").mkdir()
>>> find_project_file(root / "sub") == root / "policy.toml"
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, Span
from .errors import InputError
from .frontend.toml import TomlDocument, parse_toml
from .sources import read_source, resolve_in_project

PROJECT_FILE = "policy.toml"
DEFAULT_OUT_DIR = "artifacts/policy"

_CODES = {"type": "POLC011", "unknown": "POLC010", "required": "POLC011", "enum": "POLC011", "other": "POLC011"}


@dataclass(frozen=True)
class Project:
    root: Path
    document: TomlDocument
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def config(self) -> dict[str, Any]:
        return self.document.data

    @property
    def file(self) -> str:
        return self.document.source.rel

    def section(self, name: str) -> dict[str, Any]:
        value = self.config.get(name)
        return value if isinstance(value, dict) else {}

    def span(self, *path) -> Span:
        return self.document.index.value(tuple(path))

    def source_path(self, key: str) -> str | None:
        value = self.section("sources").get(key)
        return value if isinstance(value, str) else None

    @property
    def out_dir(self) -> Path:
        name = self.section("build").get("out_dir", DEFAULT_OUT_DIR)
        return resolve_in_project(self.root, name, self.span("build", "out_dir"))


def find_project_file(start: Path | str | None = None) -> Path:
    """The nearest ``policy.toml`` at or above ``start`` (a directory or a policy.toml)."""
    here = Path(start or Path.cwd()).resolve()
    if here.is_file():
        return here
    if not here.exists():
        raise InputError(f"{start} does not exist", [Diagnostic.error(
            "POLC001", f"`{start}` does not exist", hint="pass a directory inside a polc project or its policy.toml")])
    for directory in (here, *here.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
    raise InputError("no policy.toml found", [Diagnostic.error(
        "POLC001", f"no {PROJECT_FILE} found in `{here}` or any parent directory",
        hint="run polc inside a policy project, pass its directory, or create policy.toml (see docs/getting-started.md)")])


def load_project(start: Path | str | None = None) -> Project:
    """Read and validate policy.toml; raises InputError when it cannot be read or parsed."""
    path = find_project_file(start)
    root = path.parent
    document = parse_toml(read_source(root, path.name))
    from .frontend.schema_check import validate

    def locate(p: tuple, key: bool) -> Span:
        return document.index.key(p) if key else document.index.value(p)

    diagnostics = validate(document.data, "policy_project.schema.json", locate, _CODES)
    return Project(root, document, tuple(diagnostics))

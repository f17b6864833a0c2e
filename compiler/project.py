"""The project file, ``policy.toml``: found by walking up from a directory, as git does.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "policy.toml").write_text('[sources]\\nmodel_policy = "model_policy.toml"\\n')
>>> (root / "sub").mkdir()
>>> find_project_file(root / "sub") == root / "policy.toml"
True
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, Span
from .errors import InputError
from .frontend.toml import TomlDocument, parse_toml
from .fsutil import file_kind
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
    """The nearest ``policy.toml`` at or above ``start`` (a directory or a policy.toml).

    A ``policy.toml`` that exists but is not a regular file (a directory, a FIFO) is an error
    where it stands: skipping it would silently compile the parent directory's project.
    """
    given = Path(start or Path.cwd())
    try:
        here = given.resolve()
        mode = here.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{start} does not exist", [Diagnostic.error(
            "POLC001", f"`{start}` does not exist",
            hint="pass a directory inside a polc project or its policy.toml")]) from None
    except (OSError, RuntimeError) as exc:  # a symlink loop, a permission problem
        raise InputError(f"{start} cannot be used", [Diagnostic.error(
            "POLC001", f"`{start}` cannot be used: {_os_reason(exc)}",
            hint="pass a directory inside a polc project or its policy.toml")]) from None
    if stat.S_ISREG(mode):
        return here
    if not stat.S_ISDIR(mode):
        raise _not_a_project_file(here, mode)
    for directory in (here, *here.parents):
        candidate = directory / PROJECT_FILE
        try:
            mode = candidate.stat().st_mode
        except FileNotFoundError:
            continue
        except (OSError, RuntimeError) as exc:
            if not os.path.lexists(candidate):
                continue
            raise InputError(f"{candidate} cannot be used", [Diagnostic.error(
                "POLC002", f"`{candidate}` cannot be read: {_os_reason(exc)}",
                hint="make policy.toml a readable regular file")]) from None
        if stat.S_ISREG(mode):
            return candidate
        raise _not_a_project_file(candidate, mode)
    raise InputError("no policy.toml found", [Diagnostic.error(
        "POLC001", f"no {PROJECT_FILE} found in `{here}` or any parent directory",
        hint="run polc inside a policy project, pass its directory, or create policy.toml (see docs/getting-started.md)")])


def _not_a_project_file(path: Path, mode: int) -> InputError:
    kind = file_kind(mode)
    return InputError(f"{path} is {kind}", [Diagnostic.error(
        "POLC002", f"`{path}` is {kind}, not a project file",
        hint=f"{PROJECT_FILE} must be a regular file; remove or rename what stands there "
             "(polc does not fall back to a parent directory's project)")])


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
        return "a symbolic link that leads back to itself (a symlink loop)"
    return getattr(exc, "strerror", None) or str(exc)


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

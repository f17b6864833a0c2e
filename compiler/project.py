"""The project file, ``policy.toml``: found by walking up from a directory, as git does.

Zero-config: given a lone policy file (``polc check model_policy.toml``, no ``policy.toml`` in
its directory or above), polc compiles it as a project of default settings rooted at the
file's directory (``ZERO_CONFIG_FILE``: sources = that file, out dir
``<its directory>/artifacts/policy``). Inside a project, the project's rules apply: the file
must be the project's ``[sources].model_policy`` (POLC030 otherwise).

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
from typing import Any, Iterator

from .diagnostics import Diagnostic, Span
from .errors import InputError
from .frontend.toml import TomlDocument, parse_toml
from .fsutil import file_kind
from .sources import read_source, resolve_in_project

PROJECT_FILE = "policy.toml"
DEFAULT_OUT_DIR = "artifacts/policy"
#: The name diagnostics give the settings of a zero-config project (there is no file).
ZERO_CONFIG_FILE = "<zero-config policy.toml>"

_CODES = {"type": "POLC011", "unknown": "POLC010", "required": "POLC011", "enum": "POLC011", "other": "POLC011"}


@dataclass(frozen=True)
class Project:
    root: Path
    document: TomlDocument
    diagnostics: tuple[Diagnostic, ...] = ()
    zero_config: bool = False  # a lone policy file compiled with default settings (no policy.toml)

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
        hint="run polc inside a policy project or pass its directory; pass a lone policy file to compile it with "
             "default settings (`polc check model_policy.toml`); or create a project with `polc init`")])


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
    """Read and validate policy.toml; raises InputError when it cannot be read or parsed.

    ``start`` may also be a lone policy file (zero-config; see the module docstring).
    """
    if start is not None and _is_policy_file(Path(start)):
        return _project_of_policy_file(Path(start))
    path = find_project_file(start)
    root = path.parent
    document = parse_toml(read_source(root, path.name))
    from .frontend.schema_check import validate

    def locate(p: tuple, key: bool) -> Span:
        return document.index.key(p) if key else document.index.value(p)

    diagnostics = validate(document.data, "policy_project.schema.json", locate, _CODES)
    if not diagnostics:
        diagnostics = list(_check_runner_bounds(document))
    return Project(root, document, tuple(diagnostics))


def _is_policy_file(path: Path) -> bool:
    """A file given on the command line that is not a project file: a policy to compile alone."""
    if path.name == PROJECT_FILE or not path.is_file():
        return False
    import tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, ValueError):
        return True  # the model_policy stage reports its syntax errors with positions
    return not isinstance(data.get("sources"), dict)  # a project file under another name stays one


def _project_of_policy_file(path: Path) -> Project:
    """The project a lone policy file belongs to, or a zero-config one for it."""
    path = path.resolve()
    try:
        project_file = find_project_file(path.parent)
    except InputError:  # no policy.toml above: zero-config
        return zero_config_project(path)
    project = load_project(project_file)
    named = project.source_path("model_policy")
    if named is not None and (project.root / named).resolve() == path:
        return project
    message = (f"`{path}` is inside the project of `{project_file}`, whose model_policy is "
               f"`{named or '(none)'}`, so polc does not compile it alone")
    return Project(project.root, project.document, (Diagnostic.error(
        "POLC030", message, Span.whole_file(str(path)),
        hint=f"run polc on the project (`polc check {project_file.parent}`), name this file in its "
             "[sources].model_policy, or move it out of the project to check it with default settings"),))


def zero_config_project(policy_file: Path) -> Project:
    """A project of default settings for a lone policy file: root its directory, sources that
    file, out dir ``artifacts/policy`` under the root; nothing is written to describe it."""
    import json

    from .sources import Source

    policy_file = policy_file.resolve()
    # JSON string escapes are valid TOML basic-string escapes for any file name.
    text = f"[sources]\nmodel_policy = {json.dumps(policy_file.name)}\n"
    document = parse_toml(Source(ZERO_CONFIG_FILE, None, text, "", len(text.encode())))
    return Project(policy_file.parent, document, (), zero_config=True)


def _check_runner_bounds(document: TomlDocument) -> Iterator[Diagnostic]:
    """``[build]`` runner versions must be comparable versions, with min <= max."""
    from .bundle.compat import is_version, version_key

    build = document.data.get("build") or {}
    for key in ("min_runner_version", "max_runner_version"):
        if key in build and not is_version(build[key]):
            yield Diagnostic.error("POLC031", f"[build].{key} `{build[key]}` is not a version (expected dotted "
                                              "numbers such as 0.1.0 or 2025.11.20)",
                                   document.index.value(("build", key)), hint="write it as dotted numbers")
            return
    low, high = build.get("min_runner_version"), build.get("max_runner_version")
    if low and high and version_key(low) > version_key(high):
        yield Diagnostic.error("POLC031", f"[build].min_runner_version {low} is above max_runner_version {high}",
                               document.index.value(("build", "max_runner_version")),
                               hint="no runner could load the bundle; swap or widen the bounds")

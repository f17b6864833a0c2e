"""Reading policy sources safely: inside the project, bounded in size, valid UTF-8.

Every failure is a diagnostic (an ``InputError``), never an exception from the OS.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "a.toml").write_text("x = 1\\n")
>>> read_source(root, "a.toml").text
'x = 1\\n'
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .diagnostics import Diagnostic, Span
from .errors import InputError

#: Policy sources are small; a file above this is refused rather than read into memory.
MAX_SOURCE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Source:
    """One source file as read: its project-relative name, text and content hash."""

    rel: str          # posix path relative to the project root; the name diagnostics use
    path: Path        # absolute path
    text: str
    sha256: str
    byte_size: int

    def line(self, number: int) -> str:
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


def relative_name(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` in posix form, or raise InputError if it escapes."""
    resolved = path.resolve()
    try:
        return PurePosixPath(resolved.relative_to(root.resolve()).as_posix()).as_posix()
    except ValueError:
        raise InputError(f"{path} is outside the project tree {root}", [Diagnostic.error(
            "POLC005", f"`{path}` points outside the project tree `{root}`",
            hint="policy sources must live inside the directory that holds policy.toml; "
                 "copy or move the file into the project")]) from None


def resolve_in_project(root: Path, name: str, referenced_from: Span | None = None) -> Path:
    """The absolute path of a project-relative ``name``; refuses paths that escape the root."""
    candidate = Path(name)
    full = candidate if candidate.is_absolute() else root / candidate
    try:
        full.resolve().relative_to(root.resolve())
    except ValueError:
        raise InputError(f"{name} escapes the project", [Diagnostic.error(
            "POLC005", f"`{name}` points outside the project tree", referenced_from,
            hint="use a path relative to the directory of policy.toml that stays inside it")]) from None
    return full


def read_source(root: Path, name: str | os.PathLike, referenced_from: Span | None = None,
                *, allow_empty: bool = False) -> Source:
    """Read a project file as UTF-8 text, with a diagnostic for every way that can fail."""
    path = resolve_in_project(root, str(name), referenced_from)
    rel = relative_name(root, path)
    data = _read_bytes(path, rel, referenced_from)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(f"{rel} is not UTF-8", [Diagnostic.error(
            "POLC003", f"`{rel}` is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            Span(rel, line, column), hint="save the file as UTF-8")]) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not allow_empty and not text.strip():
        raise InputError(f"{rel} is empty", [Diagnostic.error(
            "POLC007", f"`{rel}` is empty", Span.whole_file(rel),
            hint="a policy source needs at least one table; see docs/model-policy.md")])
    return Source(rel, path, text, hashlib.sha256(data).hexdigest(), len(data))


def _read_bytes(path: Path, rel: str, referenced_from: Span | None) -> bytes:
    def fail(message: str, hint: str, code: str = "POLC002") -> InputError:
        return InputError(message, [Diagnostic.error(code, message, referenced_from, hint=hint)])

    if not path.exists():
        raise fail(f"`{rel}` does not exist", "check the path in policy.toml (paths are relative to it)")
    if path.is_dir():
        raise fail(f"`{rel}` is a directory, expected a file", "name a file, not a directory")
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise fail(f"`{rel}` is {size:,} bytes, above the {MAX_SOURCE_BYTES:,}-byte limit for a policy source",
                       "split the policy or check that the right file is named", "POLC004")
        with open(path, "rb") as fh:
            data = fh.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise fail(f"`{rel}` cannot be read: {exc.strerror}", "check the file's permissions") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise fail(f"`{rel}` is above the {MAX_SOURCE_BYTES:,}-byte limit for a policy source",
                   "split the policy or check that the right file is named", "POLC004")
    return data

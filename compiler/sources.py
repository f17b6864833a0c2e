"""Reading policy sources safely: inside the project, bounded in size, valid UTF-8.

Every failure is a diagnostic (an ``InputError``), never an exception from the OS.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "a.toml").write_text("x = 1\\n")
>>> read_source(root, "a.toml").text
'x = 1\\n'
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .diagnostics import Diagnostic, Span
from .errors import InputError
from .fsutil import FileTooLarge, NotARegularFile, read_regular_file

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
    resolved = _resolve(path, str(path), None)
    try:
        return PurePosixPath(resolved.relative_to(_resolve(root, str(root), None)).as_posix()).as_posix()
    except ValueError:
        raise InputError(f"{path} is outside the project tree {root}", [Diagnostic.error(
            "POLC005", f"`{path}` points outside the project tree `{root}`",
            hint="policy sources must live inside the directory that holds policy.toml; "
                 "copy or move the file into the project")]) from None


def resolve_in_project(root: Path, name: str, referenced_from: Span | None = None) -> Path:
    """The absolute path of a project-relative ``name``; refuses paths that escape the root."""
    if not str(name).strip():
        raise InputError("an empty path", [Diagnostic.error(
            "POLC002", "the path is empty: it names no file", referenced_from,
            hint="write the file's path relative to policy.toml, for example \"model_policy.toml\"")])
    candidate = Path(name)
    full = candidate if candidate.is_absolute() else root / candidate
    try:
        _resolve(full, name, referenced_from).relative_to(_resolve(root, str(root), None))
    except ValueError:
        raise InputError(f"{name} escapes the project", [Diagnostic.error(
            "POLC005", f"`{name}` points outside the project tree", referenced_from,
            hint="use a path relative to the directory of policy.toml that stays inside it")]) from None
    return full


def _resolve(path: Path, name: str, referenced_from: Span | None) -> Path:
    """``path.resolve()``, with a symlink loop reported as a diagnostic instead of an exception."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # RuntimeError before Python 3.13, OSError(ELOOP) after
        raise InputError(f"{name} is a symlink loop", [Diagnostic.error(
            "POLC002", f"`{name}` is a symbolic link that leads back to itself (a symlink loop)", referenced_from,
            hint="point the link at a real file, or name the file itself")]) from None


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

    try:
        return read_regular_file(path, MAX_SOURCE_BYTES)
    except FileNotFoundError:
        raise fail(f"`{rel}` does not exist", "check the path (paths are relative to the directory of policy.toml)") from None
    except NotARegularFile as exc:
        raise fail(f"`{rel}` is {exc.kind}, expected a regular file",
                   "name a file; polc reads only regular files, never directories, pipes or devices") from None
    except FileTooLarge as exc:
        raise fail(f"`{rel}` is {exc.size:,} bytes, above the {MAX_SOURCE_BYTES:,}-byte limit for a policy source",
                   "split the policy or check that the right file is named", "POLC004") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise fail(f"`{rel}` is a symbolic link that leads back to itself (a symlink loop)",
                       "point the link at a real file, or name the file itself") from None
        raise fail(f"`{rel}` cannot be read: {exc.strerror or exc}", "check the file's permissions") from None

"""Keeping a private key out of git: ``polc registry keygen`` inside a work tree.

A key written under a git work tree is one ``git add .`` away from being published. Before
``keygen`` writes ``PREFIX.key`` there, the path must be ignored by git; if it is not, polc adds
it to the work tree's top-level ``.gitignore`` and says so. With no ``git`` program to ask, a
``.git`` entry above the key is enough to add it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..diagnostics import Diagnostic
from ..errors import InputError

GITIGNORE_COMMENT = "# polc registry keygen: private signing keys are never committed"


def keep_out_of_git(private: Path) -> str | None:
    """Make sure git ignores ``private``; a sentence saying what was done, or None if nothing was."""
    existing = _nearest_existing(private.absolute().parent)
    top = _work_tree_top(existing)
    if top is None:
        return None
    try:
        rel = private.absolute().resolve().relative_to(top).as_posix()
    except ValueError:  # the key resolves outside the work tree (a symlinked directory)
        return None
    if _ignored(top, rel):
        return None
    gitignore = top / ".gitignore"
    try:
        before = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
        separator = "" if not before or before.endswith("\n") else "\n"
        comment = "" if GITIGNORE_COMMENT in before else GITIGNORE_COMMENT + "\n"
        from ..fsutil import atomic_write_text

        atomic_write_text(gitignore, f"{before}{separator}{comment}/{rel}\n")
    except (OSError, UnicodeDecodeError) as exc:
        message = f"`{rel}` would be inside the git work tree `{top}` and `{gitignore}` cannot be updated: " \
                  f"{getattr(exc, 'strerror', None) or exc}"
        raise InputError(message, [Diagnostic.error(
            "POLC624", message, hint="write the key outside the work tree (e.g. --out ~/.config/polc/gate), "
                                     "or add the path to .gitignore yourself")]) from None
    return f"added `/{rel}` to `{gitignore}`: a private key must never be committed"


def _nearest_existing(directory: Path) -> Path:
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    return directory


def _work_tree_top(directory: Path) -> Path | None:
    if shutil.which("git"):
        done = subprocess.run(["git", "-C", str(directory), "rev-parse", "--show-toplevel"],
                              capture_output=True, text=True, check=False)
        return Path(done.stdout.strip()).resolve() if done.returncode == 0 and done.stdout.strip() else None
    for candidate in (directory.resolve(), *directory.resolve().parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return None


def _ignored(top: Path, rel: str) -> bool:
    if not shutil.which("git"):
        return False  # cannot ask: add the line (a duplicate ignore rule is harmless)
    done = subprocess.run(["git", "-C", str(top), "check-ignore", "-q", "--no-index", "--", rel],
                          capture_output=True, check=False)
    return done.returncode == 0

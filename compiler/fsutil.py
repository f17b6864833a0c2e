"""Atomic file writes: a reader sees the old file or the new one, never a torn one.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.json"
>>> atomic_write_bytes(p, b"{}")
>>> p.read_bytes()
b'{}'
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path | str, data: bytes, mode: int = 0o666) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory, fsync and rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode & ~current_umask())  # mkstemp creates 0600; give the file normal permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def atomic_create_bytes(path: Path | str, data: bytes, mode: int = 0o666) -> bool:
    """Create ``path`` holding ``data`` unless it exists; never overwrites (even a file that
    appears meanwhile). The bytes are written and fsynced under a temp name, then hard-linked
    into place, so the file is whole or absent. Returns whether it was created."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if the name exists: a link never replaces
        except FileExistsError:
            return False
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    fsync_dir(path.parent)
    return True


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def publish_directory(target: Path, files: dict[str, bytes]) -> bool:
    """Create directory ``target`` holding ``files``, all at once: the files are written and
    fsynced in a temporary sibling that is renamed into place, so a reader sees no directory
    or the complete one. Returns False, writing nothing, when ``target`` already exists
    (another writer won the race); an existing directory is never touched.
    """
    target = Path(target)
    if target.exists():
        return False
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name[:24]}.", suffix=".partial", dir=target.parent))
    try:
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700; give it normal permissions
        for name, data in files.items():
            with open(staging / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        fsync_dir(staging)
        try:
            os.rename(staging, target)  # fails when target appeared meanwhile (non-empty directory)
        except OSError:
            if target.exists():
                return False
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    fsync_dir(target.parent)
    return True


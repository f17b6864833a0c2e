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



# --- reading -----------------------------------------------------------------------------------

class NotARegularFile(OSError):
    """The path names a directory, FIFO, socket or device: reading it could block or never end."""

    def __init__(self, path, kind: str):
        super().__init__(f"{path} is {kind}, not a regular file")
        self.kind = kind


class FileTooLarge(OSError):
    """The file is larger than the caller is willing to read into memory."""

    def __init__(self, path, size: int, limit: int):
        super().__init__(f"{path} is {size:,} bytes, above the limit of {limit:,}")
        self.size, self.limit = size, limit


def file_kind(mode: int) -> str:
    """What ``stat`` mode ``mode`` names, in words: ``a regular file``, ``a FIFO (named pipe)``, ..."""
    import stat

    for test, kind in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a regular file"


def read_regular_file(path: Path | str, limit: int, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes: the one
    reader of files polc did not just write (sources, bundles, head pointers, receipts).

    The file is opened with O_NONBLOCK, so opening a FIFO returns at once instead of waiting
    for a writer, and checked with ``fstat`` on the open descriptor, so what is read is what
    was checked. ``follow_symlinks=False`` refuses a symlink as the last component (a bundle
    holds plain files only). Raises FileNotFoundError, NotARegularFile, FileTooLarge or another
    OSError (ELOOP for a symlink loop, EACCES, ...).
    """
    import errno
    import stat

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks and os.path.islink(path):
            raise NotARegularFile(path, "a symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(path, file_kind(info.st_mode))
        if info.st_size > limit:
            raise FileTooLarge(path, info.st_size, limit)
        chunks, remaining = [], limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:  # the file grew after fstat
        raise FileTooLarge(path, len(data), limit)
    return data

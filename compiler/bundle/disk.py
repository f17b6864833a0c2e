"""Bundles on disk: open one (verified), list an out dir, find one by id, write one atomically.

``open_bundle`` reads only regular files (a symlink, FIFO or directory inside a bundle is
damage), each bounded in size, then hands the bytes to the one verifier. ``write_bundle``
verifies first, then stages the files in a temporary sibling directory that is renamed into
place, so a reader sees no bundle or a complete one; a complete bundle is never rewritten.

>>> import tempfile, pathlib
>>> from compiler.bundle import make_bundle
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> b = make_bundle({"schema_version": "1.0", "routing": {}}, created_at="2026-01-01T00:00:00Z")
>>> write_bundle(out, b).name == b.hash, open_bundle(out / b.hash).hash == b.hash
(True, True)
>>> find_bundle(b.hash[:6], out).name == b.hash
True
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from ..fsutil import publish_directory
from .errors import REBUILD, integrity, unreadable, usage
from .identity import is_full_hash, policy_id_for
from ..fsutil import FileTooLarge, NotARegularFile, read_regular_file
from .layout import BUNDLE_FILES, LOCK_FILE, MANIFEST_FILE, MAX_FILE_BYTES, SNAPSHOT_FILE
from .model import Bundle
from .verify import verify_bundle_files

#: A bundle id prefix must have at least this many characters (as `git` asks of short hashes).
MIN_PREFIX = 4


def open_bundle(path: str | os.PathLike, *, expected_hash: str | None = None) -> Bundle:
    """The verified bundle in directory ``path``; its name must be its hash when it is a hash.

    ``expected_hash`` names the hash for a directory not named by it (an archive ``<date>_<hash>``).
    IntegrityError (exit 4) on any damage, InputError (exit 3) when there is no bundle there.
    """
    path = Path(path)
    where = str(path)
    files = read_bundle_files(path)
    if expected_hash is None and is_full_hash(path.name):
        expected_hash = path.name
    return verify_bundle_files(files, expected_hash=expected_hash, where=where, path=path)


def read_bundle_files(path: Path, extra: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every entry of the bundle directory as bytes; anything but a plain file is refused.

    ``extra`` names files a container of a bundle may hold beside it (an archive's log).
    """
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except FileNotFoundError:
        raise unreadable("POLC700", f"`{path}` does not exist", "pass a bundle directory <out>/<hash>/, its hash, "
                                                                 "or the head pointer policy.json", str(path)) from None
    except NotADirectoryError:
        raise unreadable("POLC700", f"`{path}` is not a bundle directory", "pass a bundle directory <out>/<hash>/",
                         str(path)) from None
    except OSError as exc:
        raise unreadable("POLC700", f"`{path}` cannot be read: {exc.strerror or exc}",
                         "check the path and its permissions", str(path)) from None
    names = {e.name for e in entries}
    if SNAPSHOT_FILE not in names and MANIFEST_FILE not in names:
        raise unreadable("POLC700", f"`{path}` is not a bundle (no {SNAPSHOT_FILE} or {MANIFEST_FILE})",
                         "pass a bundle directory <out>/<hash>/, its hash, or the head pointer policy.json", str(path))
    files: dict[str, bytes] = {}
    for entry in entries:
        if entry.name not in BUNDLE_FILES and entry.name not in extra:
            raise integrity("POLC704", f"`{entry.path}` is in the bundle but not in its manifest (`{entry.name}` is "
                                       "not a bundle file)", "a bundle is immutable; remove the stray file or " + REBUILD,
                            entry.path)
        files[entry.name] = _read_member(Path(entry.path))
    return files


def _read_member(path: Path) -> bytes:
    try:
        return read_regular_file(path, MAX_FILE_BYTES, follow_symlinks=False)
    except NotARegularFile as exc:
        raise integrity("POLC704", f"`{path}` is {exc.kind}: a bundle holds plain files only", REBUILD,
                        str(path)) from None
    except FileTooLarge as exc:
        raise integrity("POLC704", f"`{path}` is {exc.size:,} bytes, above the limit of {exc.limit:,}", REBUILD,
                        str(path)) from None
    except OSError as exc:
        raise unreadable("POLC700", f"`{path}` cannot be read: {exc.strerror or exc}",
                         "check the file's permissions", str(path)) from None


# --- an out dir of bundles ------------------------------------------------------------------------

def bundle_dirs(out_dir: str | os.PathLike) -> list[Path]:
    """The bundle directories (named by a 64-hex content hash) of ``out_dir``, sorted by name.

    A missing out dir has no bundles; one that exists but cannot be listed is an InputError.
    """
    out_dir = Path(out_dir)
    try:
        entries = list(os.scandir(out_dir))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise unreadable("POLC700", f"the out dir `{out_dir}` cannot be read: {exc.strerror or exc}",
                         "pass the directory `polc build` writes bundles to (--out DIR)") from None
    return sorted((Path(e.path) for e in entries if is_full_hash(e.name) and e.is_dir(follow_symlinks=False)),
                  key=lambda p: p.name)


def find_bundle(bundle_id: str, out_dir: str | os.PathLike) -> Path:
    """The one bundle directory of ``out_dir`` whose hash starts with ``bundle_id`` (at least
    4 characters) or whose policy_id is (or starts with) it; UsageError (exit 2) otherwise."""
    out_dir = Path(out_dir)
    bundles = bundle_dirs(out_dir)
    text = bundle_id.strip().lower()
    if len(text.replace("-", "")) < MIN_PREFIX:
        raise usage("POLC707", f"`{bundle_id}` is too short: give at least {MIN_PREFIX} characters of a bundle "
                               "hash or policy_id", "`polc list` shows every bundle", _candidates(bundles))
    matches = [b for b in bundles if b.name.startswith(text) or policy_id_for(b.name).startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        where = f"`{out_dir}`" if bundles else f"`{out_dir}` (it holds no bundles)"
        raise usage("POLC707", f"no bundle in {where} has a hash or policy_id starting with `{bundle_id}`",
                    "`polc list` shows every bundle; build, pull or restore the one you mean",
                    _candidates(bundles))
    raise usage("POLC708", f"`{bundle_id}` is ambiguous: it matches {len(matches)} bundles", "give more characters",
                _candidates(matches))


def _candidates(bundles: list[Path], limit: int = 10) -> list[str]:
    notes = [f"candidate: {b.name[:16]}  policy_id {policy_id_for(b.name)}" for b in bundles[:limit]]
    if len(bundles) > limit:
        notes.append(f"... and {len(bundles) - limit} more (`polc list` shows all)")
    return notes


# --- writing --------------------------------------------------------------------------------------

def write_bundle(out_dir: str | os.PathLike, bundle: Bundle) -> Path:
    """Store ``bundle`` as ``out_dir/<hash>/`` (verified first); returns the directory.

    An existing complete bundle of the same hash is kept as it is (its manifest may differ in
    ``created_at``) after it verifies; a damaged one is an IntegrityError and is never repaired.
    """
    verified = verify_bundle_files(bundle.files, expected_hash=bundle.hash, where=bundle.hash)
    out_dir = Path(out_dir)
    ensure_writable(out_dir)
    target = out_dir / verified.hash
    with storage_lock(out_dir):
        if not target.exists() and publish_directory(target, dict(verified.files)):
            return target
    open_bundle(target)  # an existing bundle (or a concurrent writer's) must be intact
    return target


def ensure_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out_dir, prefix=".polc-probe-", delete=True)
        probe.close()
    except OSError as exc:
        raise unreadable("POLC020", f"the output directory `{out_dir}` is not writable: {exc.strerror or exc}",
                         "choose another directory with --out or [build].out_dir, or fix its permissions") from None


_held = threading.local()


@contextlib.contextmanager
def storage_lock(out_dir: str | os.PathLike, *, wait: bool = True) -> Iterator[None]:
    """The out dir's storage lock (an exclusive ``flock``), held by everything that writes a
    bundle or moves the head. Re-entrant within a thread, so a writer holding it can call
    ``write_bundle``; other threads and processes wait — or, with ``wait=False``, get
    ``BlockingIOError`` at once (``polc gc`` removes nothing while a writer is busy)."""
    key = os.path.realpath(out_dir)
    held: dict = getattr(_held, "paths", None) or {}
    _held.paths = held
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    ensure_writable(Path(out_dir))
    fd = os.open(os.path.join(key, LOCK_FILE), os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        held[key] = 1
        try:
            yield
        finally:
            held.pop(key, None)
    finally:
        os.close(fd)  # closing releases the lock


def open_ref(ref: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> Bundle:
    """The verified bundle a user named: a bundle directory, its ``snapshot.json``, a head pointer
    ``policy.json``, an out dir (its active bundle), or a hash prefix / policy_id in ``out_dir``."""
    from .head import open_head

    path = Path(ref)
    if path.is_dir():
        if (path / SNAPSHOT_FILE).exists() or (path / MANIFEST_FILE).exists():
            return open_bundle(path)
        from .layout import HEAD_FILE

        if (path / HEAD_FILE).exists():
            return open_head(path)
        raise unreadable("POLC700", f"`{path}` holds no bundle ({SNAPSHOT_FILE}) and no head pointer",
                         "pass a bundle directory <out>/<hash>/, its hash, or the head pointer policy.json", str(path))
    if path.name == SNAPSHOT_FILE and path.exists():
        return open_bundle(path.parent)
    from .layout import HEAD_FILE

    if path.name == HEAD_FILE and path.exists():
        return open_head(path)
    if not path.exists() and out_dir is not None and _looks_like_id(str(ref)):
        return open_bundle(find_bundle(str(ref), out_dir))
    raise unreadable("POLC700", f"`{ref}` is not a bundle, a head pointer or a known bundle id",
                     "pass a bundle directory <out>/<hash>/, a hash prefix (4+ characters), a policy_id, or "
                     "the head pointer policy.json", str(ref))


def _looks_like_id(text: str) -> bool:
    bare = text.replace("-", "")
    return 1 <= len(bare) <= 64 and all(ch in "0123456789abcdefABCDEF" for ch in bare) and "/" not in text

"""Hot reload: follow a head pointer and switch to a new verified snapshot between requests.

``SnapshotWatcher(head)`` loads the active snapshot; ``watcher.current`` is what a request
uses (read once per request: the reference swap is atomic, so a request never sees half of
two policies). ``watcher.poll()`` (call it between requests, or ``start(interval)`` for a
background thread) checks the head pointer and, when it changed, loads and verifies the new
snapshot; if that fails, the old one stays live (last known good) and the refusal is kept
in ``watcher.refusals`` and passed to ``on_refused``.

>>> import tempfile
>>> SnapshotWatcher(tempfile.mkdtemp() + "/policy.json")
Traceback (most recent call last):
  ...
compiler.errors.InputError: ... does not exist
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..errors import PolcError
from .loader import load_snapshot
from .snapshot import Snapshot


@dataclass(frozen=True)
class Refusal:
    """A new snapshot that failed to load; ``error`` says why (diagnostics included)."""

    source: str
    error: PolcError

    @property
    def message(self) -> str:
        return self.error.message


class Follower:
    """What every watcher shares (a head pointer, an OCI tag, a registry scope): the live snapshot,
    swapped under a lock only for a verified one with a new hash; refusals kept, reported to
    ``on_refused``, and the last known good left live; a daemon thread polling until ``stop()``.
    A watcher supplies the first snapshot and how to find the next (``_advance(find)``)."""

    _thread_name = "polc-watcher"
    _join_timeout: float | None = None

    def _follow(self, first: Snapshot, env: Mapping[str, str] | None,
                on_refused: Callable[[Refusal], None] | None,
                on_switch: Callable[[Snapshot, Snapshot], None] | None) -> None:
        self._env, self._on_refused, self._on_switch = env, on_refused, on_switch
        self._lock = threading.Lock()
        self._current = first
        self.refusals: list[Refusal] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> Snapshot:
        return self._current

    def _advance(self, find: Callable[[], Snapshot | None]) -> bool:
        """Under the lock, ``find()`` the next snapshot (None: nothing new, or refused); True when a
        snapshot with another hash went live (``on_switch`` is called outside the lock)."""
        with self._lock:
            new = find()
            if new is None or new.hash == self._current.hash:
                return False
            old, self._current = self._current, new
        if self._on_switch:
            self._on_switch(old, new)
        return True

    def _refuse(self, source: str, error: PolcError) -> None:
        refusal = Refusal(source, error)
        self.refusals.append(refusal)
        if self._on_refused:
            self._on_refused(refusal)

    def _start_thread(self, *args) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, args=args, daemon=True, name=self._thread_name)
            self._thread.start()

    def _loop(self, *args) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._join_timeout)
            self._thread = None


class SnapshotWatcher(Follower):
    _thread_name = "polc-snapshot-watcher"

    def __init__(self, head: str | os.PathLike, *, env: Mapping[str, str] | None = None,
                 on_refused: Callable[[Refusal], None] | None = None,
                 on_switch: Callable[[Snapshot, Snapshot], None] | None = None):
        self.head = Path(head)
        self._stat = _stat(self.head)
        # no last known good yet: errors propagate
        self._follow(load_snapshot(self.head, env=env), env, on_refused, on_switch)

    def poll(self) -> bool:
        """Reload if the head pointer changed; True when a new snapshot went live."""
        return self._advance(self._changed)

    def _changed(self) -> Snapshot | None:
        stat = _stat(self.head)
        if stat == self._stat:
            return None
        self._stat = stat
        try:
            return load_snapshot(self.head, env=self._env)
        except PolcError as exc:
            self._refuse(str(self.head), exc)
            return None

    def start(self, interval: float = 1.0) -> None:
        """Poll every ``interval`` seconds in a daemon thread until ``stop()``."""
        self._start_thread(interval)

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.poll()


def _stat(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)

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


class SnapshotWatcher:
    def __init__(self, head: str | os.PathLike, *, env: Mapping[str, str] | None = None,
                 on_refused: Callable[[Refusal], None] | None = None,
                 on_switch: Callable[[Snapshot, Snapshot], None] | None = None):
        self.head = Path(head)
        self._env, self._on_refused, self._on_switch = env, on_refused, on_switch
        self._lock = threading.Lock()
        self._stat = _stat(self.head)
        self._current = load_snapshot(self.head, env=env)  # no last known good yet: errors propagate
        self.refusals: list[Refusal] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> Snapshot:
        return self._current

    def poll(self) -> bool:
        """Reload if the head pointer changed; True when a new snapshot went live."""
        with self._lock:
            stat = _stat(self.head)
            if stat == self._stat:
                return False
            self._stat = stat
            try:
                new = load_snapshot(self.head, env=self._env)
            except PolcError as exc:
                refusal = Refusal(str(self.head), exc)
                self.refusals.append(refusal)
                if self._on_refused:
                    self._on_refused(refusal)
                return False
            if new.hash == self._current.hash:
                return False
            old, self._current = self._current, new
        if self._on_switch:
            self._on_switch(old, new)
        return True

    def start(self, interval: float = 1.0) -> None:
        """Poll every ``interval`` seconds in a daemon thread until ``stop()``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True,
                                            name="polc-snapshot-watcher")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.poll()


def _stat(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)

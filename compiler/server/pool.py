"""Registries for the server's worker threads: at most ``size`` open at once, each used by one
thread at a time (a store's connection is not shared), reopened after the database was lost.

A connection that failed with a database error (``INTERNAL``: unreachable, restarted) is closed
and dropped instead of going back to the pool, so the next request opens a fresh one: that is how
the server recovers when PostgreSQL comes back, with no restart.
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import Iterator

from ..registry import Registry, RegistryConfig, RegistryError, open_store


class RegistryPool:
    def __init__(self, url: str, config: RegistryConfig, size: int):
        self.url, self.config, self.size = url, config, size
        self._idle: queue.LifoQueue[Registry] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    @contextmanager
    def registry(self) -> Iterator[Registry]:
        with self._slots:
            try:
                reg = self._idle.get_nowait()
            except queue.Empty:
                reg = Registry(open_store(self.url), self.config)
            healthy = False
            try:
                yield reg
                healthy = True
            except RegistryError as exc:
                healthy = exc.category != "INTERNAL"
                raise
            finally:
                if healthy and not self._closed:
                    self._idle.put(reg)
                else:
                    _close_quietly(reg)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                _close_quietly(self._idle.get_nowait())
            except queue.Empty:
                return


def _close_quietly(reg: Registry) -> None:
    try:
        reg.close()
    except Exception:
        pass  # a connection the database already dropped

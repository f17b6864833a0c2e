"""Append-only JSONL logs (run events, replay records) and their reader.

Each record is one line of compact JSON written with a single ``write`` on a file opened with
``O_APPEND``, so lines from several threads never interleave and nothing is ever rewritten.
A crash can leave at most a torn last line (no newline); the reader reports it and ignores
it, and every complete line must be valid JSON or the log is refused as damaged.

>>> import tempfile, pathlib
>>> log = EventLog(pathlib.Path(tempfile.mkdtemp()) / "events.jsonl")
>>> log.append({"type": "RunStart"})["seq"]
1
>>> [e["type"] for e in read_jsonl(log.path).records]
['RunStart']
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..clock import now_timestamp
from .errors import input_error


def utc_now() -> str:
    """The wall clock in polc's one timestamp format (compiler/clock.py)."""
    return now_timestamp()


class EventLog:
    """An append-only JSONL file; ``append`` stamps ``seq`` (1, 2, ...) and ``ts``."""

    def __init__(self, path: Path, *, start_seq: int = 0):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seq = start_seq

    def append(self, record: dict[str, Any], *, durable: bool = False) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            stamped = {"seq": self._seq, "ts": utc_now(), **record}
            self.write_line(stamped, durable=durable)
            return stamped

    def write_line(self, record: dict[str, Any], *, durable: bool = False) -> None:
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                           allow_nan=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            written = os.write(fd, line)
            if written != len(line):  # a short write on a full disk: the reader will see a torn tail
                raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class JsonlContent:
    records: tuple[dict, ...]
    torn_tail: bool  # the last line had no newline: a write was cut off; it is ignored


def read_jsonl(path: Path) -> JsonlContent:
    """Every complete record of a JSONL log; a damaged complete line is an error naming it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise input_error("POLC750", f"`{path}` cannot be read: {exc.strerror or exc}",
                          "check the workspace path and the run id") from None
    lines = data.split(b"\n")
    torn = lines[-1] != b""
    records = []
    for number, line in enumerate(lines[:-1], 1):
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise input_error("POLC750", f"`{path}` line {number} is not valid JSON ({exc})",
                              "the log was edited or damaged; it is append-only") from None
        if not isinstance(record, dict):
            raise input_error("POLC750", f"`{path}` line {number} is not a JSON object",
                              "the log was edited or damaged; it is append-only")
        records.append(record)
    return JsonlContent(tuple(records), torn)

"""The run's logs (``events.jsonl``, ``REPLAY.jsonl``): append-only JSON Lines in polc's one log
convention (compiler/jsonlog.py): each record is canonical JSON carrying ``prev_sha256``, the
sha256 of the line before it, so an edited, deleted or reordered record is caught on read.

A run's logs have one writer (the ``Run``), so ``EventLog`` keeps the previous line's hash in
memory and appends each record with one ``write`` on a file opened with ``O_APPEND``: lines from
several threads never interleave and nothing is ever rewritten. A crash can leave at most a torn
last line (no newline); the reader reports it and ignores it.

>>> import tempfile, pathlib
>>> log = EventLog(pathlib.Path(tempfile.mkdtemp()) / "events.jsonl")
>>> log.append({"type": "RunStart"})["seq"]
1
>>> [e["type"] for e in read_jsonl(log.path).records]
['RunStart']
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..clock import now_timestamp
from ..jsonlog import encode_row, last_line_sha, line_sha, read_log, verify_chain
from .errors import input_error, integrity_error


def utc_now() -> str:
    """The wall clock in polc's one timestamp format (compiler/clock.py)."""
    return now_timestamp()


class EventLog:
    """An append-only, hash-chained JSONL file; ``append`` stamps ``seq`` (1, 2, ...) and ``ts``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seq = 0
        self._prev: str | None = None  # read from the file at the first append: the chain goes on
                                       # from whatever was written before (a run's REPLAY header)

    def append(self, record: dict[str, Any], *, durable: bool = False) -> dict[str, Any]:
        """Append ``record`` stamped with ``seq`` and ``ts``; returns the stamped record (without
        ``prev_sha256``, which belongs to the file's chain, not to the event)."""
        with self._lock:
            self._seq += 1
            stamped = {"seq": self._seq, "ts": utc_now(), **record}
            if self._prev is None:
                self._prev = last_line_sha(self.path)
            line = encode_row({**stamped, "prev_sha256": self._prev})
            self._write(line + b"\n", durable)
            self._prev = line_sha(line)
            return stamped

    def _write(self, line: bytes, durable: bool) -> None:
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
    """Every complete record of a run log, its chain verified; a damaged line is an error naming
    it. Logs written before runs were chained (no record has ``prev_sha256``) are read as they are."""
    try:
        rows, torn = read_log(Path(path), "POLC750")
    except FileNotFoundError:
        raise input_error("POLC750", f"`{path}` cannot be read: it does not exist",
                          "check the workspace path and the run id") from None
    if any("prev_sha256" in row for row, _ in rows):
        broken = verify_chain(rows)
        if broken is not None:
            raise integrity_error("POLC755", f"record {broken} of `{path}` does not chain to the record before it "
                                             "(prev_sha256): the log was edited, reordered or cut",
                                  "the run log is append-only; restore the run directory from a copy")
    return JsonlContent(tuple({k: v for k, v in row.items() if k != "prev_sha256"} for row, _ in rows), torn)

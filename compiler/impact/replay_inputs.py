"""Finding and reading recorded decisions for ``polc diff --replay PATH...``.

A PATH is a run directory (``REPLAY.jsonl`` and/or ``events.jsonl``), a workspace (its
``runs/*``), a directory of run directories, one of those two files, or a glob of any of
these. Each run's records come back in order with the run id they belong to.

Reading never stops at a bad record: a line that is not a JSON object is a POLC452
diagnostic at ``file:line`` (the line is skipped); a last line without its newline (a write
cut off by a crash) is POLC451. A PATH that does not exist, or matches nothing, is an input
error (exit 3); so is a file that is not a run log (a capsule holds snapshots, not decisions).

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "REPLAY.jsonl").write_bytes(b'{"type":"ReplayHeader","run_id":"r1"}\\nnot json\\n{"type":"Route')
>>> log = read_log(d / "REPLAY.jsonl")
>>> [r["type"] for r in log.records], [x.code for x in log.diagnostics]
(['ReplayHeader'], ['POLC452', 'POLC451'])
"""

from __future__ import annotations

import glob
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..diagnostics import Diagnostic, Span
from ..errors import InputError
from ..fsutil import file_kind

REPLAY_FILE, EVENTS_FILE = "REPLAY.jsonl", "events.jsonl"
_GLOB_CHARS = set("*?[")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_MISSING = object()


@dataclass
class Log:
    path: str
    records: list[dict] = field(default_factory=list)
    lines: Sequence[int] = field(default_factory=list)   # the line number of each record
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass
class RunLogs:
    """What was recorded about one run (either file may be missing)."""

    name: str                      # the run directory's name, or the file's path
    replay: Log | None = None
    events: Log | None = None

    @property
    def run_id(self) -> str:
        for log in (self.replay, self.events):
            for record in (log.records[:2] if log else ()):
                if isinstance(record.get("run_id"), str):
                    return record["run_id"]
        return self.name


def find_runs(paths: Iterable[str], cwd: Path | None = None) -> list[RunLogs]:
    """Every run the PATHs name, each file read once, in a stable order."""
    return list(iter_runs(paths, cwd))


def iter_runs(paths: Iterable[str], cwd: Path | None = None) -> Iterator[RunLogs]:
    """``find_runs`` one run at a time: a replay holds one run's records, not every run's."""
    cwd = Path(cwd or Path.cwd())
    seen: set[tuple[int, int]] = set()   # (device, inode) of every log read: a file named twice counts once
    for arg in paths:
        for target in _expand(arg, cwd):
            yield from _runs_at(target, arg, seen)


def _expand(arg: str, cwd: Path) -> list[str]:
    path = os.path.join(cwd, arg)
    if os.path.lexists(path):
        return [path]
    if _GLOB_CHARS & set(arg):
        matches = sorted(glob.glob(path, recursive=True))
        if not matches:
            raise _input("POLC456", f"--replay `{arg}` matches no file or directory",
                         "check the pattern; quote it so the shell does not expand it first")
        return matches
    raise _input("POLC450", f"--replay `{arg}` does not exist",
                 "give a run directory, a workspace, a REPLAY.jsonl or events.jsonl file, or a glob of them")


def _runs_at(path: str, arg: str, seen: set) -> Iterator[RunLogs]:
    if os.path.isdir(path):
        run = _run_dir(path, seen)
        if run is not None:
            if run.replay or run.events:
                yield run
            return
        parent = os.path.join(path, "runs") if os.path.isdir(os.path.join(path, "runs")) else path
        with os.scandir(parent) as entries:   # a workspace, or runs/ itself
            names = sorted(e.path for e in entries if e.is_dir())
        found = False
        for run in (_run_dir(d, seen) for d in names):
            if run is not None:
                found = True
                if run.replay or run.events:
                    yield run
        if not found:
            raise _input("POLC455", f"--replay `{arg}` holds no run: no {REPLAY_FILE} or {EVENTS_FILE} in it or in "
                                    "its run directories", "point at a workspace, a run directory or a run log")
        return
    data = _read(path, seen, arg=arg)
    if data is None:
        return
    if data.startswith(_SQLITE_MAGIC):
        raise _input("POLC455", f"--replay `{arg}` is an SQLite file (a capsule?): a capsule holds policy snapshots, "
                                "not decisions",
                     "replay the workspace whose runs it captured (<workspace>/runs/*/REPLAY.jsonl)")
    log = parse_log(path, data)
    yield (RunLogs(path, events=log) if os.path.basename(path) == EVENTS_FILE or _looks_like_events(log)
           else RunLogs(path, replay=log))


def _run_dir(path: str, seen: set) -> RunLogs | None:
    """The run in directory ``path``; None when it holds neither log."""
    replay = read_log(os.path.join(path, REPLAY_FILE), seen, missing_ok=True)
    events = read_log(os.path.join(path, EVENTS_FILE), seen, missing_ok=True)
    if replay is _MISSING and events is _MISSING:
        return None
    return RunLogs(os.path.basename(path), None if replay is _MISSING else replay,
                   None if events is _MISSING else events)


def _looks_like_events(log: Log) -> bool:
    return any(r.get("type") in ("RunStart", "PolicySnapshotRef", "GateEvaluated") for r in log.records[:3])


def read_log(path, seen: set | None = None, *, missing_ok: bool = False):
    """Every complete, well-formed record of a JSONL log; the rest as diagnostics. None when
    ``seen`` (the (device, inode) pairs already read) shows the file was read before;
    ``_MISSING`` when it does not exist (or is a directory) and ``missing_ok``."""
    data = _read(path, seen, missing_ok=missing_ok)
    return data if data is None or data is _MISSING else parse_log(path, data)


def _read(path, seen: set | None, *, missing_ok: bool = False, arg: str | None = None):
    """The bytes of the regular file ``path`` (see ``read_log``). It is opened with O_NONBLOCK,
    so a FIFO is refused at once instead of waiting for a writer, and with ``os.open``: the
    file objects ``open`` builds cost more than the read of a run log."""
    name = f"--replay `{arg}`" if arg is not None else f"`{path}`"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        if missing_ok:
            return _MISSING
        raise _input("POLC450", f"{name} does not exist", "check the path") from None
    except OSError as exc:
        raise _input("POLC450", f"{name} cannot be read: {exc.strerror or exc}",
                     "check the path and its permissions") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            if missing_ok and stat.S_ISDIR(info.st_mode):
                return _MISSING
            raise _input("POLC450", f"{name} is {file_kind(info.st_mode)}, not a run log",
                         "give a run log file or a run directory")
        if seen is not None:
            if (info.st_dev, info.st_ino) in seen:
                return None
            seen.add((info.st_dev, info.st_ino))
        chunks = []
        while chunk := os.read(fd, max(info.st_size + 1, 1 << 16)):   # to the end, should the run still append
            chunks.append(chunk)
    except OSError as exc:
        raise _input("POLC450", f"{name} cannot be read: {exc.strerror or exc}",
                     "check the path and its permissions") from None
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_log(path, data: bytes) -> Log:
    """The records of a log's bytes (see ``read_log``)."""
    log = Log(str(path))
    end = data.rfind(b"\n") + 1          # complete lines end with a newline; anything after it is torn
    count = data.count(b"\n", 0, end)
    try:  # one parse for the whole file: the common case, and several times faster than line by line
        records = json.loads(b"[" + data[:end - 1].replace(b"\n", b",") + b"]") if count else []
        # as many objects as lines: no line held two values, no value spanned two lines
        if len(records) == count and all(type(r) is dict for r in records):
            log.records, log.lines = records, range(1, count + 1)
    except (ValueError, RecursionError):   # RecursionError: a value nested too deeply (read line by line)
        pass
    complete = [] if log.records or not count else data[:end - 1].split(b"\n")
    tail = data[end:]
    for number, line in enumerate(complete, 1):
        try:
            record = json.loads(line)
        except ValueError as exc:
            log.diagnostics.append(damaged(path, number, f"is not valid JSON ({exc.msg})"))
            continue
        except RecursionError:
            log.diagnostics.append(damaged(path, number, "is nested too deeply to be a decision record"))
            continue
        if type(record) is not dict:
            log.diagnostics.append(damaged(path, number, "is not a JSON object"))
            continue
        log.records.append(record)
        log.lines.append(number)
    if tail:
        log.diagnostics.append(Diagnostic.warning(
            "POLC451", f"the last record of `{path}` is torn (no newline: a write was cut off); it was not replayed",
            Span(str(path), count + 1, 1), hint="a crash while the run was writing leaves this; nothing to fix"))
    return log


def damaged(path: Path, line: int, what: str) -> Diagnostic:
    return Diagnostic.warning("POLC452", f"record {line} of `{path}` {what}; it was not replayed",
                              Span(str(path), line, 1),
                              hint="run logs are append-only: this record was edited or damaged")


def _input(code: str, message: str, hint: str) -> InputError:
    return InputError(message, [Diagnostic.error(code, message, hint=hint)])

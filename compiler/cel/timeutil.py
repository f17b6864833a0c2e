"""``timestamp`` and ``duration`` values: the small part of CEL's time support polc needs.

Both hold an integer number of nanoseconds, so arithmetic and comparison are exact.

>>> Duration.parse("1h30m") == Duration(5400 * 10**9)
True
>>> str(Timestamp.parse("2004-09-16T23:59:59Z"))
'2004-09-16T23:59:59Z'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

_NS = 10 ** 9
#: CEL timestamps span years 0001..9999.
_MIN_SECONDS = -62135596800
_MAX_SECONDS = 253402300799
#: CEL durations are limited to about +-10,000 years.
_MAX_DURATION_SECONDS = 315576000000
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|m|s|ms|us|µs|ns)")
_UNIT_NS = {"h": 3600 * _NS, "m": 60 * _NS, "s": _NS, "ms": 10 ** 6, "us": 10 ** 3,
            "µs": 10 ** 3, "ns": 1}


class TimeError(ValueError):
    """A timestamp or duration out of range or malformed."""


@dataclass(frozen=True, order=True, slots=True)
class Duration:
    nanos: int

    def __post_init__(self) -> None:
        if abs(self.nanos) > _MAX_DURATION_SECONDS * _NS:
            raise TimeError("duration out of range")

    @classmethod
    def parse(cls, text: str) -> "Duration":
        sign, rest = (-1, text[1:]) if text.startswith("-") else (1, text)
        if rest == "0":
            return cls(0)
        total, pos = 0, 0
        for match in _DURATION_PART.finditer(rest):
            if match.start() != pos:
                break
            number, unit = match.groups()
            whole, _, frac = number.partition(".")
            total += int(whole or 0) * _UNIT_NS[unit]
            if frac:
                total += int(frac) * _UNIT_NS[unit] // 10 ** len(frac)
            pos = match.end()
        if pos != len(rest) or not rest:
            raise TimeError(f"invalid duration {text!r}")
        return cls(sign * total)

    def __neg__(self) -> "Duration":
        return Duration(-self.nanos)

    def __add__(self, other):
        if isinstance(other, Duration):
            return Duration(self.nanos + other.nanos)
        if isinstance(other, Timestamp):
            return Timestamp(other.nanos + self.nanos)
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, Duration):
            return Duration(self.nanos - other.nanos)
        return NotImplemented

    def __str__(self) -> str:
        seconds, nanos = divmod(abs(self.nanos), _NS)
        frac = f".{nanos:09d}".rstrip("0") if nanos else ""
        return f"{'-' if self.nanos < 0 else ''}{seconds}{frac}s"


@dataclass(frozen=True, order=True, slots=True)
class Timestamp:
    nanos: int  # since the Unix epoch, UTC

    def __post_init__(self) -> None:
        if not _MIN_SECONDS * _NS <= self.nanos <= (_MAX_SECONDS + 1) * _NS - 1:
            raise TimeError("timestamp out of range")

    @classmethod
    def from_seconds(cls, seconds: int) -> "Timestamp":
        return cls(seconds * _NS)

    @classmethod
    def parse(cls, text: str) -> "Timestamp":
        match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?"
                             r"([Zz]|[+-]\d{2}:\d{2})", text)
        if not match:
            raise TimeError(f"invalid timestamp {text!r}")
        date, clock, frac, zone = match.groups()
        zone = "+00:00" if zone in ("Z", "z") else zone
        try:
            moment = datetime.fromisoformat(f"{date}T{clock}{zone}")
        except ValueError:
            raise TimeError(f"invalid timestamp {text!r}") from None
        seconds = _epoch_seconds(moment)
        return cls(seconds * _NS + int((frac or "0").ljust(9, "0")))

    @property
    def seconds(self) -> int:
        return self.nanos // _NS

    def __add__(self, other):
        if isinstance(other, Duration):
            return Timestamp(self.nanos + other.nanos)
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, Duration):
            return Timestamp(self.nanos - other.nanos)
        if isinstance(other, Timestamp):
            return Duration(self.nanos - other.nanos)
        return NotImplemented

    def __str__(self) -> str:
        seconds, nanos = divmod(self.nanos, _NS)
        days, rem = divmod(seconds - _MIN_SECONDS, 86400)
        moment = datetime(1, 1, 1, tzinfo=timezone.utc).fromordinal(days + 1)
        hh, rem = divmod(rem, 3600)
        mm, ss = divmod(rem, 60)
        frac = f".{nanos:09d}".rstrip("0") if nanos else ""
        return f"{moment.strftime('%Y-%m-%d').rjust(10, '0')}T{hh:02d}:{mm:02d}:{ss:02d}{frac}Z"


def _epoch_seconds(moment: datetime) -> int:
    utc = moment.astimezone(timezone.utc) if moment.year > 1 else moment
    delta = utc.replace(tzinfo=None) - datetime(1970, 1, 1)
    offset = moment.utcoffset() if utc is moment else None
    seconds = delta.days * 86400 + delta.seconds
    return seconds - int(offset.total_seconds()) if offset else seconds

"""Time, in one place: polc's one timestamp format, the wall clock, and ``SOURCE_DATE_EPOCH``.

Every timestamp polc writes — a snapshot's ``created_at``, manifest, ledger and delta rows,
run events, registry events, capsule rows — is RFC 3339 in UTC with microseconds and ``Z``
(``2026-11-23T08:15:00.000000Z``): fixed width, so timestamps sort as text.

``SOURCE_DATE_EPOCH`` (reproducible builds) is read here and nowhere else, and only for what a
build writes (``build_time``, ``build_date``); what happens at run time — run events, registry
events, checkpoints — is stamped with the wall clock (``now_timestamp``).

>>> format_timestamp(_dt.datetime(2026, 11, 23, 8, 15, tzinfo=_dt.timezone.utc))
'2026-11-23T08:15:00.000000Z'
>>> build_time({"SOURCE_DATE_EPOCH": "0"})
'1970-01-01T00:00:00.000000Z'
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Mapping

from .diagnostics import Diagnostic
from .errors import PolcError

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_timestamp(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime(FORMAT)


def now() -> _dt.datetime:
    """The wall clock, in UTC."""
    return _dt.datetime.now(_dt.timezone.utc)


def now_timestamp() -> str:
    """The wall clock as a timestamp: for what happens at run time (events, registry, capsule rows)."""
    return format_timestamp(now())


def build_moment(env: Mapping[str, str] | None = None) -> _dt.datetime:
    """``SOURCE_DATE_EPOCH`` when set (a reproducible build), else the wall clock.

    A value that is not a Unix time in seconds is POLC011, with the fix in its hint.
    """
    epoch = (os.environ if env is None else env).get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return now()
    try:
        return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise PolcError("bad SOURCE_DATE_EPOCH", [Diagnostic.error(
            "POLC011", f"SOURCE_DATE_EPOCH={epoch!r} is not a Unix time in seconds",
            hint="set it to an integer such as the last commit time: "
                 "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)")]) from None


def build_time(env: Mapping[str, str] | None = None) -> str:
    """The timestamp of what a build writes (snapshot, manifest, ledger and delta rows)."""
    return format_timestamp(build_moment(env))


def build_date(env: Mapping[str, str] | None = None) -> _dt.date:
    """The day a build measures dates from (retirement warnings); a bad SOURCE_DATE_EPOCH falls
    back to today, since ``build_time`` reports it once."""
    try:
        return build_moment(env).date()
    except PolcError:
        return now().date()

"""CEL's ``matches``: RE2 patterns, run by RE2 itself (the ``google-re2`` package).

CEL specifies RE2 syntax and semantics, and RE2 matches in time linear in the length of the
text: it never backtracks, so no pattern (``(a+)+$`` included) can make an evaluation hang.
``matches`` is a partial match (RE2's unanchored search); a pattern anchors itself with
``^``/``$``. Everything RE2 accepts works (``\\pL``, ``[[:alpha:]]``, ``(?i)`` anywhere,
``\\d`` inside a class); what RE2 refuses (backreferences, lookaround, ``a{100000}``) is an
error with RE2's own reason.

The ``re2`` extension is imported on the first ``matches`` only: a router whose gates never
match pays nothing for it. Compiled patterns are cached.

>>> search(r"^\\d+$", "2024"), search(r"\\pL+", "héllo"), search("(?i)Claude", "claude-3")
(True, True, True)
>>> compile_re2(r"(a)\\1")
Traceback (most recent call last):
...
compiler.cel.semantics.CelErrorValue: invalid regular expression `(a)\\1`: invalid escape sequence: \\1
"""

from __future__ import annotations

import functools

from .semantics import CelErrorValue


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text``; CelErrorValue for a bad pattern or text."""
    compiled = compile_re2(pattern)
    try:
        return compiled.search(text) is not None
    except UnicodeEncodeError:  # a lone surrogate: not a string CEL (or RE2, which reads UTF-8) has
        raise CelErrorValue("matches: the text is not valid Unicode (it holds a lone surrogate)") from None


@functools.lru_cache(maxsize=256)
def compile_re2(pattern: str):
    """The compiled RE2 pattern (cached); CelErrorValue with RE2's reason for an invalid one."""
    import re2

    try:
        return re2.compile(pattern, _options())
    except re2.error as err:
        raise CelErrorValue(f"invalid regular expression `{_shown(pattern)}`: {_reason(err)}") from None
    except UnicodeEncodeError:
        raise CelErrorValue("invalid regular expression: it holds a lone surrogate, not valid Unicode") from None


@functools.cache
def _options():
    import re2

    options = re2.Options()
    options.log_errors = False    # a bad pattern is a CEL error, not a line on stderr
    options.never_capture = True  # `matches` asks yes or no; groups are never read
    return options


def _reason(err: Exception) -> str:
    reason = err.args[0] if err.args else err
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


def _shown(pattern: str) -> str:
    return pattern if len(pattern) <= 60 else pattern[:57] + "..."

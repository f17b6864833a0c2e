"""RE2 patterns on Python's ``re``: translate what differs, refuse what RE2 does not have.

CEL's ``matches`` uses RE2 syntax and semantics. Python's ``re`` accepts a superset of the
syntax and differs in a few meanings; this module rewrites a pattern token by token:

* ``\\d \\w \\s`` are ASCII-only in RE2 (Unicode in Python): rewritten as ASCII classes.
* ``$`` without ``(?m)`` matches only at the very end in RE2 (Python also matches before a
  final newline): rewritten as ``\\Z``; ``\\z`` (RE2's end of text) becomes ``\\Z``.
* ``[[:alpha:]]``-style POSIX classes and ``\\Q...\\E`` quoting are expanded.
* Refused with an error (RE2 rejects them too): backreferences ``\\1``, lookaround
  ``(?=`` ``(?!`` ``(?<=`` ``(?<!``, atomic groups ``(?>``, ``(?P=name)``, conditionals ``(?(``,
  possessive quantifiers ``*+``. Refused because ``re`` cannot express them (documented
  gaps): Unicode classes ``\\pL``/``\\p{Greek}``, ``\\C``, flag groups ``(?i)`` that are not at
  the start of the pattern.

Python's ``re`` backtracks; RE2 runs in linear time. Patterns are bounded by the expression
size limit and inputs by the caller; the runtime cost budget does not bound one regex match.

>>> compile_re2(r"^\\d+$").pattern
'^[0-9]+\\\\Z'
>>> compile_re2(r"(a)\\1")
Traceback (most recent call last):
...
compiler.cel.semantics.CelErrorValue: invalid RE2 pattern: backreferences (`\\1`) are not supported by RE2
"""

from __future__ import annotations

import functools
import re

from .semantics import CelErrorValue

_POSIX = {"alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
          "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
          "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ",
          "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f"}
_CLASS_BODY = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r ",
               "D": None, "W": None, "S": None}
_NEGATED = {"D": "[^0-9]", "W": "[^0-9A-Za-z_]", "S": "[^\\t\\n\\f\\r ]"}
_REFUSED_GROUPS = {"(?=": "lookahead", "(?!": "negative lookahead", "(?<=": "lookbehind",
                   "(?<!": "negative lookbehind", "(?>": "atomic groups", "(?P=": "named "
                   "backreferences", "(?(": "conditionals", "(?#": "comments"}


def _refuse(what: str) -> CelErrorValue:
    return CelErrorValue(f"invalid RE2 pattern: {what}")


@functools.lru_cache(maxsize=512)
def compile_re2(pattern: str) -> re.Pattern:
    """Compile an RE2 pattern (cached); raise CelErrorValue for an invalid one."""
    translated, multiline = _translate(pattern)
    try:
        return re.compile(translated, re.MULTILINE if multiline else 0)
    except (re.error, OverflowError, RecursionError) as err:
        raise _refuse(str(err)) from None


def _translate(pattern: str) -> tuple[str, bool]:
    out: list[str] = []
    i, n = 0, len(pattern)
    multiline = False
    while i < n:
        char = pattern[i]
        if char == "\\":
            piece, i = _escape(pattern, i, in_class=False)
            out.append(piece)
            continue
        if char == "[":
            piece, i = _char_class(pattern, i)
            out.append(piece)
            continue
        if char == "(" and pattern.startswith("(?", i):
            piece, i, flags = _group_open(pattern, i, at_start=not out)
            multiline = multiline or "m" in flags
            out.append(piece)
            continue
        if char in "*+?}" and i + 1 < n and pattern[i + 1] == "+":
            raise _refuse("possessive quantifiers are not supported by RE2")
        out.append("\\Z" if char == "$" and not multiline else char)
        i += 1
    return "".join(out), multiline


_FLAG_GROUP = re.compile(r"\(\?([imsU-]*)(\)|:)")


def _group_open(pattern: str, i: int, *, at_start: bool) -> tuple[str, int, str]:
    """Translate the opening of a ``(?...`` group; returns (text, next index, flags set)."""
    for prefix, what in _REFUSED_GROUPS.items():
        if pattern.startswith(prefix, i):
            raise _refuse(f"{what} (`{prefix}`) are not supported by RE2")
    if pattern.startswith("(?P<", i):
        return "(?P<", i + 4, ""
    if pattern.startswith("(?<", i):  # RE2's newer spelling of a named group
        return "(?P<", i + 3, ""
    match = _FLAG_GROUP.match(pattern, i)
    if not match:
        raise _refuse(f"unknown group syntax at offset {i}")
    flags = match.group(1)
    if "U" in flags or "-" in flags:
        raise _refuse("the `U` flag and flag negation are not supported in polc")
    if match.group(2) == ")" and not at_start:
        raise _refuse("flags `(?...)` are supported only at the start of the pattern in polc")
    return match.group(0), match.end(), flags if match.group(2) == ")" else ""


def _escape(pattern: str, i: int, *, in_class: bool) -> tuple[str, int]:
    if i + 1 >= len(pattern):
        raise _refuse("trailing backslash")
    char = pattern[i + 1]
    if char.isdigit() and char != "0":
        raise _refuse(f"backreferences (`\\{char}`) are not supported by RE2")
    if char in "pP":
        raise _refuse("Unicode classes (`\\p...`) are not supported in polc (Python `re` lacks them)")
    if char == "C":
        raise _refuse("`\\C` (any byte) is not supported")
    if char == "z" and not in_class:
        return "\\Z", i + 2
    if char == "Z":
        raise _refuse("`\\Z` is not RE2 syntax; use `\\z` or `$`")
    if char == "Q":
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
        return re.escape(literal), len(pattern) if end < 0 else end + 2
    if char in _CLASS_BODY:
        body = _CLASS_BODY[char]
        if body is None:
            if in_class:
                raise _refuse(f"`\\{char}` inside a character class is not supported in polc")
            return _NEGATED[char], i + 2
        return (body if in_class else f"[{body}]"), i + 2
    return pattern[i:i + 2], i + 2


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    out = ["["]
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        out.append("^")
        j += 1
    if j < len(pattern) and pattern[j] == "]":  # a leading `]` is a literal
        out.append("\\]")
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        if pattern.startswith("[:", j):
            end = pattern.find(":]", j)
            name = pattern[j + 2:end] if end > 0 else ""
            if name.lstrip("^") not in _POSIX or name.startswith("^"):
                raise _refuse(f"unknown or negated POSIX class `[:{name}:]`")
            out.append(_POSIX[name])
            j = end + 2
        elif pattern[j] == "\\":
            piece, j = _escape(pattern, j, in_class=True)
            out.append(piece)
        elif pattern[j] == "[":
            out.append("\\[")  # Python warns about nested sets; RE2 treats `[` as literal
            j += 1
        else:
            out.append(pattern[j])
            j += 1
    if j >= len(pattern):
        raise _refuse("missing closing `]`")
    out.append("]")
    return "".join(out), j + 1

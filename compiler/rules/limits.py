"""The size limits of a ``.rules`` file's expressions, checked before the file is parsed.

Parsing is linear but not fast (lark reads about 150,000 characters a second), so a 1 MB
expression would take seconds to parse only to be refused for its length. This scan finds each
expression's extent from the statement keywords (``require``, ``let``, ``const``, ``when`` start
one; any keyword ends it), skipping strings and comments, and refuses an expression longer than
:data:`MAX_EXPR_CHARS` or with brackets nested deeper than :data:`MAX_NESTING` (POLC203) in one
pass of a regular expression over the text, before the parser sees any of it. The parser keeps
its own exact checks (tree depth, parentheses); this one only refuses what those would refuse
too, sooner.

>>> [d.message for d in check_limits("gate g {\\n  require " + "1 + " * 30000 + "1 > 0\\n}\\n", "g.rules")]
['expression is about 120,005 characters; the limit is 100,000']
>>> check_limits("gate g {\\n  require x > 0 // short\\n}\\n", "g.rules")
[]
"""

from __future__ import annotations

import re

from ..diagnostics import Diagnostic, Span

#: Longest expression accepted, in characters (the CEL engine's own limit for one expression).
MAX_EXPR_CHARS = 100_000
#: Deepest bracket nesting scanned inside one expression; the tree itself may nest 100 levels
#: (compiler/cel/ast.py), and each level needs at most one bracket besides redundant parentheses.
MAX_NESTING = 200

_KEYWORDS = ("require", "let", "const", "when", "message", "input", "gate", "drift", "import")
_STARTS_EXPRESSION = frozenset({"require", "let", "const", "when"})
_TOKEN = re.compile(r"//[^\n]*|'''|\"\"\"|['\"]|(?<![\w.])(" + "|".join(_KEYWORDS) + r")\b|[()\[\]{}]")
_SPACE = re.compile(r"\s*")
_STRING_END = {"'": re.compile(r"(?:\\.|[^'\\\n])*'?"), '"': re.compile(r'(?:\\.|[^"\\\n])*"?'),
               "'''": re.compile(r"[\s\S]*?'''|[\s\S]*"), '"""': re.compile(r'[\s\S]*?"""|[\s\S]*')}


def check_limits(text: str, file: str) -> list[Diagnostic]:
    """POLC203 for each expression of ``text`` over a limit (an empty list when none is)."""
    brackets = text.count("(") + text.count("[") + text.count("{")
    if len(text) <= MAX_EXPR_CHARS and brackets <= MAX_NESTING:
        return []  # no expression can pass either limit: nothing to scan
    return _Scan(text, file).run()


class _Scan:
    def __init__(self, text: str, file: str):
        self.text, self.file = text, file
        self.problems: list[Diagnostic] = []
        self.start: int | None = None   # where the current expression starts (after its keyword)
        self.base = 0                   # bracket depth at that keyword
        self.deep = False               # its nesting is already reported
        self.last = 0                   # end of the last character that is not space or comment

    def run(self) -> list[Diagnostic]:
        text, pos, depth = self.text, 0, 0
        while True:
            match = _TOKEN.search(text, pos)
            end = match.start() if match else len(text)
            gap = text[pos:end].rstrip()
            if gap.strip():
                self.last = pos + len(gap)
            if match is None:
                self._close()
                return self.problems
            token, pos = match.group(), match.end()
            if token.startswith("//"):
                continue
            if token in _STRING_END:
                pos = self.last = _STRING_END[token].match(text, pos).end()
            elif match.group(1):
                self._close()
                if token in _STARTS_EXPRESSION:
                    self.start, self.base, self.deep = _SPACE.match(text, pos).end(), depth, False
                self.last = pos
            else:
                depth += 1 if token in "([{" else -1
                if self.start is None or depth >= self.base:  # not the `}` that ends the block
                    self.last = pos
                if self.start is not None and not self.deep and depth - self.base > MAX_NESTING:
                    self.deep = True
                    self.problems.append(Diagnostic.error(
                        "POLC203", f"brackets nest more than {MAX_NESTING} levels deep here",
                        self._span(match.start()), hint="split the expression into smaller ones (lets)"))

    def _close(self) -> None:
        """End the current expression at the last significant character; refuse it if too long."""
        if self.start is not None and self.last - self.start > MAX_EXPR_CHARS + 1:
            length = self.last - self.start
            self.problems.append(Diagnostic.error(
                "POLC203", f"expression is about {length:,} characters; the limit is {MAX_EXPR_CHARS:,}",
                self._span(self.start), hint="move large data out of the rule"))
        self.start = None

    def _span(self, offset: int) -> Span:
        line = self.text.count("\n", 0, offset) + 1
        return Span(self.file, line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1)

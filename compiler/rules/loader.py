"""Loading ``.rules`` files: globs from policy.toml, imports (with cycle detection), the stdlib.

Import paths: ``"stdlib/NAME.rules"`` names a file of polc's shipped library; any other path
is relative to the importing file and must stay inside the project. Declarations are global
(a gate declared in any loaded file can be evaluated by name); constants are visible in their
own file and in the files that import it directly.

>>> from compiler.paths import STDLIB_DIR
>>> rs = load_rules(STDLIB_DIR.parent, [], stdlib=True)
>>> sorted(g.name for g in rs.gates())[:2], rs.diagnostics
(['local_memory_sunset', 'reflex_promotion'], ())
"""

from __future__ import annotations

import glob
import posixpath
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Mapping

from ..diagnostics import Diagnostic, Span
from ..errors import InputError
from ..paths import STDLIB_DIR
from ..sources import Source, read_source
from . import ast
from .parser import parse_rules

STDLIB_PREFIX = "stdlib/"


@dataclass(frozen=True)
class RuleSet:
    """Every loaded file (project files first, in load order), the sources read, diagnostics."""

    files: tuple[ast.RulesFile, ...]
    sources: tuple[Source, ...]            # project files only (they are policy sources)
    diagnostics: tuple[Diagnostic, ...]
    stdlib_files: frozenset[str] = frozenset()
    explicit_stdlib: frozenset[str] = frozenset()   # stdlib files some project file imports

    def gates(self) -> list[ast.Gate]:
        return [g for f in self.files for g in f.gates]

    def drifts(self) -> list[ast.Drift]:
        return [d for f in self.files for d in f.drifts]

    def file(self, path: str) -> ast.RulesFile | None:
        return next((f for f in self.files if f.path == path), None)


@dataclass
class _Loader:
    root: Path
    files: dict[str, ast.RulesFile] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    explicit_stdlib: set[str] = field(default_factory=set)
    texts: Mapping[str, str] | None = None   # project files given as text (a git revision's sources)

    def load(self, name: str, referenced_from: Span | None) -> None:
        if name in self.stack:
            self._cycle(name, referenced_from)
            return
        if name in self.files:
            return
        parsed = self._read(name, referenced_from)
        if parsed is None:
            return
        self.files[name] = parsed
        self.stack.append(name)
        for imp in parsed.imports:
            target = self._resolve(imp, name)
            if target is not None:
                self.load(target, imp.span)
        self.stack.pop()

    def _read(self, name: str, referenced_from: Span | None) -> ast.RulesFile | None:
        try:
            if name.startswith(STDLIB_PREFIX):
                source = read_source(STDLIB_DIR.parent, name, referenced_from)
            elif self.texts is not None:
                return parse_rules(self.texts[name], name)
            else:
                source = read_source(self.root, name, referenced_from)
                self.sources.append(source)
            return parse_rules(source.text, source.rel)
        except InputError as err:
            self.problems.extend(err.diagnostics)
            return None

    def _resolve(self, imp: ast.Import, importer: str) -> str | None:
        if imp.path.startswith(STDLIB_PREFIX):
            if not (STDLIB_DIR / imp.path[len(STDLIB_PREFIX):]).is_file():
                available = sorted(p.name for p in STDLIB_DIR.glob("*.rules"))
                self.problems.append(Diagnostic.error(
                    "POLC255", f"`{imp.path}` is not a file of polc's stdlib", imp.span,
                    hint="the stdlib has " + ", ".join(f"`stdlib/{a}`" for a in available)))
                return None
            if not importer.startswith(STDLIB_PREFIX):
                self.explicit_stdlib.add(imp.path)
            return imp.path
        if importer.startswith(STDLIB_PREFIX):
            self.problems.append(Diagnostic.error(
                "POLC255", f"a stdlib file can only import other stdlib files, not `{imp.path}`", imp.span))
            return None
        target = posixpath.normpath(posixpath.join(posixpath.dirname(importer), imp.path))
        if target.startswith("../") or target == ".." or posixpath.isabs(imp.path):
            self.problems.append(Diagnostic.error(
                "POLC005", f"import `{imp.path}` points outside the project tree", imp.span,
                hint="import files inside the directory of policy.toml, or `stdlib/...`"))
            return None
        if self.texts is not None and target not in self.texts:
            self.problems.append(Diagnostic.error("POLC255", f"import `{imp.path}`: `{target}` does not exist",
                                                  imp.span, hint="check the path (relative to this file)"))
            return None
        return target

    def _cycle(self, name: str, referenced_from: Span | None) -> None:
        chain = self.stack[self.stack.index(name):] + [name]
        self.problems.append(Diagnostic.error(
            "POLC256", "import cycle: " + " → ".join(f"`{n}`" for n in chain), referenced_from,
            hint="declarations are global once loaded; remove one of these imports"))


def expand_sources(root: Path, patterns: list[str], spans: list[Span | None]
                   ) -> tuple[dict[str, Span | None], list[Diagnostic]]:
    """Project-relative file names (with the span of their entry) for ``[sources].rules``.

    A pattern is checked before anything is walked: it must be relative, contain no `..`,
    and its fixed leading directories must resolve inside the project. ``**`` does not follow
    symbolic links to directories, so a link loop cannot make the walk endless.
    """
    from wcmatch import glob as wcglob

    names: dict[str, Span | None] = {}
    problems: list[Diagnostic] = []
    for pattern, span in zip(patterns, spans):
        if not glob.has_magic(pattern):
            names.setdefault(_normalize(pattern), span)
            continue
        refusal = _pattern_escapes(root, pattern)
        if refusal:
            problems.append(Diagnostic.error(
                "POLC005", f"the pattern `{pattern}` {refusal}", span,
                hint="[sources].rules patterns are relative to policy.toml and stay inside its directory, "
                     "e.g. `rules/**/*.rules`"))
            continue
        try:
            matches = sorted(wcglob.glob(pattern, flags=wcglob.GLOBSTAR, root_dir=root))
        except (ValueError, OSError) as exc:  # a malformed pattern, or too many brace expansions
            problems.append(Diagnostic.error("POLC254", f"the pattern `{pattern}` cannot be used: {exc}", span,
                                             hint="check the pattern (relative to policy.toml), e.g. `rules/*.rules`"))
            continue
        if not matches:
            problems.append(Diagnostic.error(
                "POLC254", f"the pattern `{pattern}` matches no file", span,
                hint="check the pattern (relative to policy.toml), e.g. `rules/*.rules`"))
        for match in matches:
            if match.endswith(".rules"):
                names.setdefault(_normalize(match.replace("\\", "/")), span)
    return names, problems


def _pattern_escapes(root: Path, pattern: str) -> str | None:
    """Why ``pattern`` would look outside the project (checked before any directory is read), or None."""
    posix = pattern.replace("\\", "/")
    if posixpath.isabs(posix) or PurePosixPath(posix).drive or (len(posix) > 1 and posix[1] == ":"):
        return "is absolute"
    parts = PurePosixPath(posix).parts
    if ".." in parts:
        return "leaves the project directory (`..`)"
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    base = root.joinpath(*fixed) if fixed else root
    try:
        base.resolve().relative_to(root.resolve())
    except ValueError:
        return f"starts in `{'/'.join(fixed)}`, which leads outside the project (a symbolic link)"
    except (OSError, RuntimeError):
        return f"starts in `{'/'.join(fixed)}`, a symbolic link that leads back to itself"
    return None


def load_rules(root: Path, patterns: list[str], spans: list[Span | None] | None = None, *,
               stdlib: bool = True) -> RuleSet:
    """Load the project's rules files (and, with ``stdlib``, every ``stdlib/*.rules``)."""
    names, problems = expand_sources(root, patterns, spans or [None] * len(patterns))
    loader = _Loader(root, problems=problems)
    for name, span in names.items():
        loader.load(name, span)
    if stdlib:
        for path in sorted(STDLIB_DIR.glob("*.rules")):
            loader.load(STDLIB_PREFIX + path.name, None)
    stdlib_files = frozenset(n for n in loader.files if n.startswith(STDLIB_PREFIX))
    return RuleSet(tuple(loader.files.values()), tuple(loader.sources), tuple(loader.problems),
                   stdlib_files, frozenset(loader.explicit_stdlib))


def _normalize(name: str) -> str:
    return PurePosixPath(name).as_posix().removeprefix("./")


def load_rules_from_texts(texts: Mapping[str, str], *, stdlib: bool = True) -> RuleSet:
    """Like :func:`load_rules` for files given as ``{project-relative name: text}``; every
    ``*.rules`` name is loaded, imports resolve inside the mapping."""
    loader = _Loader(Path("."), texts=texts)
    for name in sorted(n for n in texts if n.endswith(".rules")):
        loader.load(_normalize(name), None)
    if stdlib:
        for path in sorted(STDLIB_DIR.glob("*.rules")):
            loader.load(STDLIB_PREFIX + path.name, None)
    stdlib_files = frozenset(n for n in loader.files if n.startswith(STDLIB_PREFIX))
    return RuleSet(tuple(loader.files.values()), (), tuple(loader.problems), stdlib_files,
                   frozenset(loader.explicit_stdlib))

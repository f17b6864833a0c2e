"""YAML with a position for every key and value, read without constructing arbitrary objects.

PyYAML's parser (libyaml's when PyYAML has it) turns the text into events with marks; we build
plain Python values from that event stream ourselves, with an explicit stack, and only for the
standard scalar tags. Any other tag (for example ``!!python/object``), aliases and merge keys
are refused with a diagnostic at their position, so nothing in a surface file can run code or
expand exponentially, and nesting is bounded (``MAX_DEPTH``) without recursion.

No node tree is kept: a surface of 500,000 features is read in one pass over the events. Key
and value positions are indexed by a second pass over the same text, run only when a
diagnostic first asks for one (a clean surface never pays for it).

>>> from compiler.sources import Source
>>> doc = parse_yaml(Source("s.yaml", None, "a:\\n  b: [1, 2]\\n", "", 0))
>>> doc.data, str(doc.index.value(("a", "b", 1)))
({'a': {'b': [1, 2]}}, 's.yaml:2:10')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic, Span
from ..errors import InputError
from ..sources import Source

_TAG = "tag:yaml.org,2002:"
#: Surfaces are a few levels deep; nesting beyond this is refused.
MAX_DEPTH = 100
#: Plain words YAML 1.1 (PyYAML) reads as booleans.
_YAML11_BOOLEANS = {"y", "yes", "n", "no", "on", "off", "true", "false"}
#: The only tags a surface may use: YAML's plain scalars and collections.
SAFE_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
MAP_TAG, SEQ_TAG = _TAG + "map", _TAG + "seq"

Marks = tuple  # (line, column, end_line, end_column), 0-based as PyYAML reports them


@dataclass
class SpanIndex:
    """Spans of keys and values by path (a tuple of keys and list indices), indexed on first use."""

    file: str
    text: str | None = None
    keys: dict[tuple, Marks] = field(default_factory=dict)
    values: dict[tuple, Marks] = field(default_factory=dict)

    def value(self, path: tuple) -> Span:
        """The span of the value at ``path``, or of its nearest enclosing value."""
        self._ensure()
        path = tuple(path)
        for n in range(len(path), -1, -1):
            if path[:n] in self.values:
                return _span(self.file, self.values[path[:n]])
        return Span.whole_file(self.file)

    def key(self, path: tuple) -> Span:
        self._ensure()
        marks = self.keys.get(tuple(path))
        return _span(self.file, marks) if marks else self.value(path)

    def _ensure(self) -> None:
        if self.text is None:
            return
        text, self.text = self.text, None
        builder = _Builder(self.file, self)
        try:
            builder.run(text)
        except (InputError, _Stop):  # the first pass reported it; keep what was indexed
            pass


@dataclass(frozen=True)
class YamlDocument:
    source: Source
    data: Any
    index: SpanIndex


def parse_yaml(source: Source) -> YamlDocument:
    """Build ``source`` safely into plain values; raise InputError on bad or unsafe YAML."""
    builder = _Builder(source.rel)
    data = builder.run(source.text)
    if builder.errors:
        raise InputError(f"{source.rel}: unsupported YAML", builder.errors)
    return YamlDocument(source, data, SpanIndex(source.rel, source.text))


def _loader():
    """libyaml's safe loader when PyYAML was built with it (the same events and marks, much faster)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _marks(start, end) -> Marks:
    return (start.line, start.column, end.line, end.column)


def _span(file: str, marks: Marks) -> Span:
    line, column, end_line, end_column = marks
    if end_line == line and end_column <= column:
        return Span(file, line + 1, column + 1)
    return Span(file, line + 1, column + 1, end_line + 1, end_column + 1)


def _syntax(file: str, exc) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    span = Span(file, mark.line + 1, mark.column + 1) if mark else Span.whole_file(file)
    problem = exc.problem or "syntax error"
    context = f" ({exc.context})" if exc.context else ""
    return Diagnostic.error("POLC300", f"invalid YAML: {problem}{context}", span,
                            hint="check indentation and quoting; a surface is one YAML document of mappings and lists")


class _Stop(Exception):
    """Reading cannot go on (a second document, nesting too deep); the reason is in ``errors``."""


_NO_KEY = object()   # a mapping frame waiting for its next key
_DROP = object()     # a refused key: its value is read and dropped


class _Frame:
    """A mapping or sequence being filled, and where it stands."""

    __slots__ = ("value", "path", "is_map", "key", "start", "dropped", "key_marks")

    def __init__(self, value, path: tuple, is_map: bool, start, dropped: bool):
        self.value, self.path, self.is_map, self.start, self.dropped = value, path, is_map, start, dropped
        self.key = _NO_KEY
        self.key_marks: dict = {}


class _Builder:
    """Turns the event stream into values (and, given an index, records every position)."""

    def __init__(self, file: str, index: SpanIndex | None = None):
        import yaml
        from yaml.constructor import SafeConstructor
        from yaml.resolver import Resolver

        self.file = file
        self.index = index
        self.errors: list[Diagnostic] = []
        self._resolver = Resolver()
        # First characters of plain scalars that may resolve to a non-string (digits, signs, `~`, y/n/o/t/f...).
        self._maybe_typed = frozenset(k for k in Resolver.yaml_implicit_resolvers if k)
        self._constructor = SafeConstructor()
        self._constructors = SafeConstructor.yaml_constructors
        self._yaml = yaml

    # -- the event loop -------------------------------------------------------------------------
    def run(self, text: str) -> Any:
        yaml = self._yaml
        stack: list[_Frame] = []
        self.root: Any = None
        documents = 0
        try:
            for event in yaml.parse(text, Loader=_loader()):
                if isinstance(event, yaml.ScalarEvent):
                    self._deliver(stack, self._scalar(event), event.start_mark, event.end_mark, is_scalar=True,
                                  event=event)
                elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                    self._open(stack, event)
                elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                    frame = stack.pop()
                    value = None if frame.dropped else frame.value
                    self._deliver(stack, value, frame.start, event.end_mark, is_scalar=False)
                elif isinstance(event, yaml.AliasEvent):
                    self._refuse(event.start_mark, event.end_mark, "anchors and aliases are not supported in a surface",
                                 "write the value out where it is used")
                    self._deliver(stack, None, event.start_mark, event.end_mark, is_scalar=False)
                elif isinstance(event, yaml.DocumentStartEvent):
                    documents += 1
                    if documents > 1:
                        mark = event.start_mark
                        self.errors.append(Diagnostic.error(
                            "POLC300", "invalid YAML: a surface is one document, and a second one starts here",
                            Span(self.file, mark.line + 1, mark.column + 1),
                            hint="remove the `---` line and merge the documents, or split them into two files"))
                        raise _Stop
        except yaml.MarkedYAMLError as exc:
            raise InputError(f"{self.file}: invalid YAML", [_syntax(self.file, exc)]) from None
        except yaml.YAMLError as exc:
            raise InputError(f"{self.file}: invalid YAML", [Diagnostic.error(
                "POLC300", f"invalid YAML: {exc}", Span.whole_file(self.file))]) from None
        except _Stop:
            raise InputError(f"{self.file}: unsupported YAML", self.errors) from None
        return self.root

    def _open(self, stack: list[_Frame], event) -> None:
        yaml = self._yaml
        is_map = isinstance(event, yaml.MappingStartEvent)
        if len(stack) >= MAX_DEPTH:
            mark = event.start_mark
            self.errors.append(Diagnostic.error(
                "POLC318", f"the YAML is nested more than {MAX_DEPTH} levels deep",
                Span(self.file, mark.line + 1, mark.column + 1),
                hint="a surface is a few levels of mappings and lists; check for unclosed `[` or `{`"))
            raise _Stop
        tag = event.tag if event.tag not in (None, "!") else (MAP_TAG if is_map else SEQ_TAG)
        dropped = tag != (MAP_TAG if is_map else SEQ_TAG)
        if dropped:
            self._refuse_tag(tag, event.start_mark, event.start_mark)
        parent = stack[-1] if stack else None
        if parent is not None and parent.is_map and parent.key is _NO_KEY:
            path = ()  # a mapping or list used as a key: refused when it ends
        elif parent is not None:
            path = parent.path + ((len(parent.value),) if not parent.is_map else (parent.key,))
        else:
            path = ()
        dropped = dropped or (parent is not None and (parent.dropped or parent.key is _DROP))
        stack.append(_Frame({} if is_map else [], path, is_map, event.start_mark, dropped))

    # -- values -----------------------------------------------------------------------------------
    def _scalar(self, event) -> Any:
        yaml = self._yaml
        tag, value = event.tag, event.value
        if tag in (None, "!"):
            if not event.implicit[0] or (value and value[0] not in self._maybe_typed):
                return value  # quoted, block or plainly a string: what the resolver would conclude, sooner
            tag = self._resolver.resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _TAG + "str":
            return value
        if tag in SAFE_SCALAR_TAGS:
            node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
            try:
                return self._constructors[tag](self._constructor, node)
            except ValueError:  # an integer beyond Python's digit limit for str -> int
                digits = sum(ch.isdigit() for ch in event.value)
                self.errors.append(Diagnostic.error(
                    "POLC318", f"the number at this position has {digits:,} digits, too many to read",
                    _span(self.file, _marks(event.start_mark, event.end_mark)),
                    hint="surface numbers are weights, bounds and windows; use a reasonable value, "
                         "or quote it if it is a name"))
                return None
        if tag == _TAG + "timestamp" and not event.style:
            self._refuse(event.start_mark, event.end_mark,
                         f"`{event.value}` reads as a YAML date or time, which a surface cannot hold",
                         f"quote it to keep it as text: \"{event.value}\"")
            return None
        if tag == _TAG + "merge":
            return _Merge
        self._refuse_tag(tag, event.start_mark, event.end_mark)
        return None

    def _deliver(self, stack: list[_Frame], value: Any, start, end, *, is_scalar: bool, event=None) -> None:
        """Hand a finished value to its container: a list item, a mapping key, or a mapping value."""
        marks = _marks(start, end)
        if not stack:
            self.root = None if value is _Merge else value
            self._record_value((), marks)
            return
        frame = stack[-1]
        if not frame.is_map:
            if not frame.dropped:
                self._record_value(frame.path + (len(frame.value),), marks)
                frame.value.append(None if value is _Merge else value)
            return
        if frame.key is _NO_KEY:
            frame.key = self._key(frame, value, marks, is_scalar, event)
            return
        key, frame.key = frame.key, _NO_KEY
        if key is not _DROP and not frame.dropped:
            self._record_value(frame.path + (key,), marks)
            frame.value[key] = None if value is _Merge else value

    def _key(self, frame: _Frame, key: Any, marks: Marks, is_scalar: bool, event) -> Any:
        if frame.dropped:
            return _DROP
        if key is _Merge:
            self._refuse_marks(marks, "merge keys (`<<`) are not supported in a surface", "write the keys out")
            return _DROP
        if not is_scalar:
            self._refuse_marks(marks, "a mapping key must be a plain string, not a mapping or list", "use a string key")
            return _DROP
        if not isinstance(key, str):
            if event is not None and self._resolvable(event):
                self._bad_key(marks, key, event.value)
            return _DROP
        if key in frame.value or key in frame.key_marks:
            first = frame.key_marks.get(key)
            self.errors.append(Diagnostic.error(
                "POLC302", f"key `{key}` appears twice in this mapping", _span(self.file, marks),
                hint=f"keep one; the first is at {_span(self.file, first)}" if first else "keep one"))
            return _DROP
        frame.key_marks[key] = marks
        if self.index is not None:
            self.index.keys[frame.path + (key,)] = marks
        return key

    def _resolvable(self, event) -> bool:
        """False when the key was refused already (an unsafe tag, a long number)."""
        tag = event.tag if event.tag not in (None, "!") else self._resolver.resolve(
            self._yaml.ScalarNode, event.value, event.implicit)
        return tag in SAFE_SCALAR_TAGS and not (tag == _TAG + "int" and sum(c.isdigit() for c in event.value) > 4000)

    def _bad_key(self, marks: Marks, key: Any, text: str) -> None:
        if isinstance(key, bool) and text.lower() in _YAML11_BOOLEANS:
            why = f"YAML 1.1 reads `{text}` as the boolean {'true' if key else 'false'}"
        elif key is None:
            why = f"YAML reads `{text or '(an empty key)'}` as null"
        else:
            why = f"YAML reads `{text}` as a number"
        self.errors.append(Diagnostic.error(
            "POLC319", f"a mapping key must be a string; {why}", _span(self.file, marks),
            hint=f"quote the key to keep it as text: \"{text}\":"))

    def _record_value(self, path: tuple, marks: Marks) -> None:
        if self.index is not None:
            self.index.values[path] = marks

    # -- refusals ---------------------------------------------------------------------------------
    def _refuse_tag(self, tag: str, start, end) -> None:
        self._refuse(start, end, f"the YAML tag `{_short_tag(tag)}` is not allowed in a surface",
                     "a surface holds only plain strings, numbers, booleans, null, mappings and lists; "
                     "tags such as !!python/object could run code and are never constructed")

    def _refuse(self, start, end, message: str, hint: str) -> None:
        self._refuse_marks(_marks(start, end), message, hint)

    def _refuse_marks(self, marks: Marks, message: str, hint: str) -> None:
        self.errors.append(Diagnostic.error("POLC301", message, _span(self.file, marks), hint=hint))


class _Merge:
    """The value of a ``<<`` key (a merge key), refused where it is used as a key."""


def _short_tag(tag: str) -> str:
    """``!!python/object`` for ``tag:yaml.org,2002:python/object``: the tag as the user wrote it."""
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag

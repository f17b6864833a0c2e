"""YAML with a position for every key and value, read without constructing arbitrary objects.

``yaml.compose`` with the SafeLoader gives a node tree with marks; we build plain Python
values from it ourselves, and only for the standard scalar tags. Any other tag (for example
``!!python/object``), anchors, aliases and merge keys are refused with a diagnostic at
their position, so nothing in a surface file can run code or expand exponentially.

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
#: Surfaces are a few levels deep; nesting beyond this is refused before a tree is built, so
#: neither PyYAML's recursive composer nor our builder can run out of stack.
MAX_DEPTH = 100
#: Plain words YAML 1.1 (PyYAML) reads as booleans.
_YAML11_BOOLEANS = {"y", "yes", "n", "no", "on", "off", "true", "false"}
#: The only tags a surface may use: YAML's plain scalars and collections.
SAFE_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
MAP_TAG, SEQ_TAG = _TAG + "map", _TAG + "seq"


@dataclass
class SpanIndex:
    """Spans of keys and values by path (a tuple of keys and list indices)."""

    file: str
    keys: dict[tuple, Span] = field(default_factory=dict)
    values: dict[tuple, Span] = field(default_factory=dict)

    def value(self, path: tuple) -> Span:
        """The span of the value at ``path``, or of its nearest enclosing value."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.values:
                return self.values[path[:n]]
        return Span.whole_file(self.file)

    def key(self, path: tuple) -> Span:
        return self.keys.get(tuple(path)) or self.value(path)


@dataclass(frozen=True)
class YamlDocument:
    source: Source
    data: Any
    index: SpanIndex


def parse_yaml(source: Source) -> YamlDocument:
    """Compose ``source`` safely into plain values and spans; raise InputError on bad YAML."""
    import yaml

    loader = _loader()
    try:
        _check_depth(source.rel, yaml.parse(source.text, Loader=loader))
        root = yaml.compose(source.text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        raise InputError(f"{source.rel}: invalid YAML", [_syntax(source.rel, exc)]) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source.rel}: invalid YAML", [Diagnostic.error(
            "POLC300", f"invalid YAML: {exc}", Span.whole_file(source.rel))]) from None
    builder = _Builder(source.rel)
    data = None if root is None else builder.build(root, ())
    if builder.errors:
        raise InputError(f"{source.rel}: unsupported YAML", builder.errors)
    return YamlDocument(source, data, builder.index)


def _loader():
    """libyaml's safe loader when PyYAML was built with it (same events and marks, many times faster)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_depth(file: str, events) -> None:
    """Refuse nesting deeper than MAX_DEPTH, reading events (PyYAML's parser keeps an explicit stack)."""
    import yaml

    depth = 0
    for event in events:
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                raise InputError(f"{file}: nested too deeply", [Diagnostic.error(
                    "POLC318", f"the YAML is nested more than {MAX_DEPTH} levels deep",
                    Span(file, mark.line + 1, mark.column + 1),
                    hint="a surface is a few levels of mappings and lists; check for unclosed `[` or `{`")])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _span(file: str, node) -> Span:
    start, end = node.start_mark, node.end_mark
    if end.line == start.line and end.column <= start.column:
        return Span(file, start.line + 1, start.column + 1)
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _syntax(file: str, exc) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    span = Span(file, mark.line + 1, mark.column + 1) if mark else Span.whole_file(file)
    problem = exc.problem or "syntax error"
    context = f" ({exc.context})" if exc.context else ""
    return Diagnostic.error("POLC300", f"invalid YAML: {problem}{context}", span,
                            hint="check indentation and quoting; a surface is one YAML document of mappings and lists")


class _Builder:
    """Turns a composed node tree into values, recording spans and refusing unsafe constructs."""

    def __init__(self, file: str):
        import yaml

        self.file = file
        self.index = SpanIndex(file)
        self.errors: list[Diagnostic] = []
        self.seen: set[int] = set()
        self._scalars = yaml.SafeLoader("")  # only used to construct plain, already-vetted scalars

    def build(self, node, path: tuple) -> Any:
        import yaml

        if id(node) in self.seen:  # the composer shares the node object of an alias
            return self._refuse(node, "anchors and aliases are not supported in a surface",
                                "write the value out where it is used")
        self.seen.add(id(node))
        self.index.values[path] = _span(self.file, node)
        if isinstance(node, yaml.MappingNode) and node.tag == MAP_TAG:
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode) and node.tag == SEQ_TAG:
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and node.tag in SAFE_SCALAR_TAGS:
            return self._scalar(node)
        if isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "timestamp" and not node.style:
            return self._refuse(node, f"`{node.value}` reads as a YAML date or time, which a surface cannot hold",
                                f"quote it to keep it as text: \"{node.value}\"")
        return self._refuse(node, f"the YAML tag `{node.tag}` is not allowed in a surface",
                            "a surface holds only plain strings, numbers, booleans, null, mappings and lists; "
                            "tags such as !!python/object could run code and are never constructed")

    def _scalar(self, node) -> Any:
        try:
            return self._scalars.construct_object(node, deep=True)
        except ValueError:  # an integer beyond Python's digit limit for str -> int
            digits = sum(ch.isdigit() for ch in node.value)
            self.errors.append(Diagnostic.error(
                "POLC318", f"the number at this position has {digits:,} digits, too many to read",
                _span(self.file, node), hint="surface numbers are weights, bounds and windows; use a "
                                             "reasonable value, or quote it if it is a name"))
            return None

    def _mapping(self, node, path: tuple) -> dict:
        out: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                self._refuse(key_node, "merge keys (`<<`) are not supported in a surface", "write the keys out")
                continue
            key = self.build(key_node, path + ("<key>",))
            self.index.values.pop(path + ("<key>",), None)
            if not isinstance(key, str):
                self._bad_key(key_node, key)
                continue
            if key in out:
                first = self.index.keys.get(path + (key,))
                self.errors.append(Diagnostic.error(
                    "POLC302", f"key `{key}` appears twice in this mapping", _span(self.file, key_node),
                    hint=f"keep one; the first is at {first}" if first else "keep one"))
                continue
            self.index.keys[path + (key,)] = _span(self.file, key_node)
            out[key] = self.build(value_node, path + (key,))
        return out

    def _bad_key(self, key_node, key) -> None:
        import yaml

        if not isinstance(key_node, yaml.ScalarNode):
            self._refuse(key_node, "a mapping key must be a plain string, not a mapping or list", "use a string key")
            return
        text = key_node.value
        if isinstance(key, bool) and text.lower() in _YAML11_BOOLEANS:
            why = f"YAML 1.1 reads `{text}` as the boolean {'true' if key else 'false'}"
        elif key is None:
            why = f"YAML reads `{text or '(an empty key)'}` as null"
        else:
            why = f"YAML reads `{text}` as a number"
        self.errors.append(Diagnostic.error(
            "POLC319", f"a mapping key must be a string; {why}", _span(self.file, key_node),
            hint=f"quote the key to keep it as text: \"{text}\":"))

    def _refuse(self, node, message: str, hint: str) -> None:
        self.errors.append(Diagnostic.error("POLC301", message, _span(self.file, node), hint=hint))
        return None

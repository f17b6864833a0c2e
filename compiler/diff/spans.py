"""Mapping snapshot paths back to lines of the NEW sources.

The model_policy.toml blocks (``routing``, ``capture``, ``budgets``, ``gates``) are lowered
path for path, so ``routing.cloud.judge[1]`` in the snapshot is ``routing.cloud.judge[1]``
in the TOML: the NEW source is re-parsed with ``compiler.frontend.toml`` and its index
gives the span. A path the source does not spell out (a default, a removed key) points at
its nearest enclosing key that exists, so a removed role points at ``[routing.cloud]``.
The ``surface`` block maps the same way onto the surface YAML (positions from PyYAML's
safe composer). Other blocks have no source mapping yet and carry no span.

>>> smap = SourceMap.build({"m.toml": '[capture]\\nmode = "none"\\n'}, {"model_policy": "m.toml"})
>>> str(smap.locate(("capture", "mode")))
'm.toml:2:8'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from ..diagnostics import Diagnostic, Span

MODEL_POLICY_BLOCKS = frozenset({"routing", "capture", "budgets", "gates", "model_config", "weights", "prompts",
                                 "optimizer"})


@dataclass(frozen=True)
class SourceMap:
    toml_index: Any = None                      # TomlIndex of NEW's model_policy.toml
    yaml_spans: Mapping[tuple, Span] = field(default_factory=dict)   # surface YAML path → span
    prefix: str = ""                            # project root as seen from the current directory

    @classmethod
    def build(cls, sources: Mapping[str, str], roles: Mapping[str, Any], prefix: str = "",
              toml_index: Any = None) -> "SourceMap":
        """``toml_index``: the index the compile already built (else the source is indexed here)."""
        from ..frontend.tomlspans import index_toml

        name = roles.get("model_policy")
        index = toml_index
        if index is None and isinstance(name, str) and name in sources:
            index = index_toml(name, sources[name])
        surface = roles.get("surface")
        yaml_spans = yaml_index(surface, sources[surface]) if isinstance(surface, str) and surface in sources else {}
        return cls(index, yaml_spans, prefix)

    def locate(self, path: tuple) -> Span | None:
        if not path:
            return None
        span = None
        if path[0] in MODEL_POLICY_BLOCKS and self.toml_index is not None:
            span = self.toml_index.value(path)
        elif path[0] == "surface" and self.yaml_spans:
            span = _nearest(self.yaml_spans, path[1:])
        return rebase_span(span, self.prefix) if span else None


def _nearest(table: Mapping[tuple, Span], path: tuple) -> Span | None:
    while True:
        if path in table:
            return table[path]
        if not path:
            return None
        path = path[:-1]


def yaml_index(file: str, text: str) -> dict[tuple, Span]:
    """Span of every mapping value and sequence item of a YAML document (safe composer only)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    out: dict[tuple, Span] = {}
    stack = [((), root)] if root is not None else []
    while stack:  # iterative: a deeply nested document cannot overflow the stack
        path, node = stack.pop()
        out[path] = Span(file, node.start_mark.line + 1, node.start_mark.column + 1,
                         node.end_mark.line + 1, node.end_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            stack.extend((path + (k.value,), v) for k, v in node.value if isinstance(k, yaml.ScalarNode))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((path + (i,), v) for i, v in enumerate(node.value))
    return out


def rebase_span(span: Span | None, prefix: str) -> Span | None:
    """A project-relative span as seen from the current directory."""
    if span is None or not prefix or span.file.startswith("<"):
        return span
    return replace(span, file=f"{prefix}/{span.file}")


def rebase(diagnostic: Diagnostic, prefix: str) -> Diagnostic:
    return replace(diagnostic, span=rebase_span(diagnostic.span, prefix)) if diagnostic.span else diagnostic

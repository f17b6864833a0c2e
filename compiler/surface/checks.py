"""Checks of a learning surface: its JSON Schema, then the rules a schema cannot say.

Example: ``bounds: [5, 1]`` gives ``POLC311 feature `atoms`: bounds [5, 1] must have
lower < upper`` at the bounds; ``transform: log2`` gives ``POLC310`` with "did you mean
`log1p`?".
"""

from __future__ import annotations

import math
import re
from typing import Iterator

from ..diagnostics import Diagnostic, did_you_mean
from ..frontend.schema_check import validate
from .transforms import BASE_GRADIENTS, COMBINATORS, TRANSFORMS
from .yaml_front import YamlDocument

SCHEMA = "policy_surface.schema.json"
_SCHEMA_CODES = {"type": "POLC304", "unknown": "POLC305", "required": "POLC306", "enum": "POLC307",
                 "other": "POLC303"}
_TOGGLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S+$")
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\()|(\))|(,)|(\S))")


def check_schema(doc: YamlDocument) -> list[Diagnostic]:
    if not isinstance(doc.data, dict):
        return [Diagnostic.error("POLC304", "a surface must be a mapping with surface_version and feature_space",
                                 doc.index.value(()), hint="start the file with `surface_version: policy_surface@v1`")]

    def locate(path: tuple, key: bool):
        return doc.index.key(path) if key else doc.index.value(path)

    return validate(doc.data, SCHEMA, locate, _SCHEMA_CODES)


def check_semantics(doc: YamlDocument) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for check in (_check_features, _check_rewards, _check_operator, _check_curvature, _check_safe_modes):
        found.extend(check(doc))
    return found


def _check_features(doc: YamlDocument) -> Iterator[Diagnostic]:
    seen: dict[str, int] = {}
    for i, feature in enumerate(doc.data.get("feature_space", [])):
        name, transform = feature["name"], feature["transform"]
        where = ("feature_space", i)
        if name in seen:
            yield Diagnostic.error("POLC312", f"feature `{name}` is declared twice (entries {seen[name] + 1} and {i + 1})",
                                   doc.index.value(where + ("name",)), hint="each feature is one output column; keep one")
        seen.setdefault(name, i)
        if transform not in TRANSFORMS:
            yield Diagnostic.error("POLC310", f"feature `{name}`: unknown transform `{transform}`",
                                   doc.index.value(where + ("transform",)), hint=did_you_mean(transform, TRANSFORMS))
            continue
        yield from _check_bounds(doc, feature, where)


def _check_bounds(doc: YamlDocument, feature: dict, where: tuple) -> Iterator[Diagnostic]:
    name, transform, bounds = feature["name"], feature["transform"], feature.get("bounds")
    if bounds is None:
        if transform == "minmax":
            yield Diagnostic.warning("POLC313", f"feature `{name}` uses minmax without bounds; [0, 1] is assumed",
                                     doc.index.value(where + ("transform",)),
                                     hint="declare `bounds: [lower, upper]` so the scaling is explicit")
        return
    lower, upper = bounds
    if not all(math.isfinite(b) for b in bounds) or not lower < upper:
        yield Diagnostic.error("POLC311", f"feature `{name}`: bounds [{lower}, {upper}] must be finite with lower < upper",
                               doc.index.value(where + ("bounds",)), hint=f"write them as [lower, upper], e.g. [{min(bounds)}, {max(bounds)}]"
                               if lower > upper and all(map(math.isfinite, bounds)) else "use two finite numbers")
        return
    domain = TRANSFORMS[transform]
    if domain is not None and (lower < domain[0] or (domain[1] and lower == domain[0])):
        yield Diagnostic.error("POLC311", f"feature `{name}`: {transform} is undefined at the lower bound {lower}",
                               doc.index.value(where + ("bounds",)), hint=f"{transform} needs values {'>' if domain[1] else '>='} {domain[0]}")


def _check_rewards(doc: YamlDocument) -> Iterator[Diagnostic]:
    for name, signal in (doc.data.get("reward_signals") or {}).items():
        where = ("reward_signals", name)
        if not math.isfinite(signal["weight"]):
            yield Diagnostic.error("POLC314", f"reward signal `{name}`: weight {signal['weight']} is not finite",
                                   doc.index.value(where + ("weight",)), hint="use a finite number such as -0.8")
        if signal["window"] <= 0:
            yield Diagnostic.error("POLC314", f"reward signal `{name}`: window {signal['window']} must be positive",
                                   doc.index.value(where + ("window",)), hint="the window counts observations, e.g. 32")


def known_gradients(data: dict) -> set[str]:
    return set(BASE_GRADIENTS) | {f"{signal}_gradient" for signal in (data.get("reward_signals") or {})}


def parse_operator(text: str) -> tuple:
    """``concat(a, b)`` → ``("concat", ("a",), ("b",))``; a bare name → ``("a",)``. ValueError if malformed.

    >>> parse_operator("concat(policy_gradient, sum(a, b))")
    ('concat', ('policy_gradient',), ('sum', ('a',), ('b',)))
    """
    tokens = [m for m in _TOKEN.finditer(text) if m.group(0).strip()]
    tree, end = _parse_term(tokens, 0)
    if end != len(tokens):
        raise ValueError(f"unexpected `{tokens[end].group(0).strip()}`")
    return tree


def _parse_term(tokens, i: int) -> tuple[tuple, int]:
    if i >= len(tokens) or not tokens[i].group(1):
        raise ValueError("expected a name")
    name = tokens[i].group(1)
    if i + 1 < len(tokens) and tokens[i + 1].group(2):
        args, i = [], i + 2
        while True:
            arg, i = _parse_term(tokens, i)
            args.append(arg)
            if i < len(tokens) and tokens[i].group(4):
                i += 1
                continue
            if i < len(tokens) and tokens[i].group(3):
                return (name, *args), i + 1
            raise ValueError("expected `,` or `)`")
    return (name,), i + 1


def format_operator(tree: tuple) -> str:
    return tree[0] if len(tree) == 1 else f"{tree[0]}({', '.join(format_operator(a) for a in tree[1:])})"


def _check_operator(doc: YamlDocument) -> Iterator[Diagnostic]:
    descent = doc.data.get("symbolic_descent") or {}
    text = descent.get("operator")
    if text is None:
        return
    def span():  # indexed only when a diagnostic needs it
        return doc.index.value(("symbolic_descent", "operator"))

    try:
        tree = parse_operator(text)
    except ValueError as exc:
        yield Diagnostic.error("POLC315", f"symbolic_descent.operator `{text}` is malformed: {exc}", span(),
                               hint="write a gradient or combinator(gradient, ...), e.g. concat(policy_gradient, abstention_gradient)")
        return
    gradients = known_gradients(doc.data)
    for name, is_call in _names(tree):
        if is_call and name not in COMBINATORS:
            yield Diagnostic.error("POLC315", f"unknown combinator `{name}` in symbolic_descent.operator", span(),
                                   hint=did_you_mean(name, COMBINATORS))
        elif not is_call and name not in gradients:
            yield Diagnostic.error("POLC315", f"unknown gradient `{name}` in symbolic_descent.operator", span(),
                                   hint=did_you_mean(name, gradients))


def _names(tree: tuple) -> Iterator[tuple[str, bool]]:
    yield tree[0], len(tree) > 1
    for arg in tree[1:]:
        yield from _names(arg)


def _check_curvature(doc: YamlDocument) -> Iterator[Diagnostic]:
    controls = doc.data.get("curvature_controls") or {}
    norm, damping = controls.get("max_gradient_norm"), controls.get("damping_factor")
    if norm is not None and not (math.isfinite(norm) and norm > 0):
        yield Diagnostic.error("POLC316", f"curvature_controls.max_gradient_norm is {norm}; it must be finite and > 0",
                               doc.index.value(("curvature_controls", "max_gradient_norm")),
                               hint="remove it to disable clipping, or use e.g. 0.5")
    if damping is not None and not (math.isfinite(damping) and 0 <= damping < 1):
        yield Diagnostic.error("POLC316", f"curvature_controls.damping_factor is {damping}; it must be in [0, 1)",
                               doc.index.value(("curvature_controls", "damping_factor")),
                               hint="the fraction of each step withheld: 0 applies the full step, e.g. 0.2")


def _check_safe_modes(doc: YamlDocument) -> Iterator[Diagnostic]:
    modes = (doc.data.get("deployment_constraints") or {}).get("safe_modes") or []
    seen: set[str] = set()
    for i, mode in enumerate(modes):
        where = ("deployment_constraints", "safe_modes", i)
        if mode["name"] in seen:
            yield Diagnostic.error("POLC312", f"safe mode `{mode['name']}` is declared twice",
                                   doc.index.value(where + ("name",)), hint="keep one")
        seen.add(mode["name"])
        if not _TOGGLE.match(mode["toggle_env"]):
            yield Diagnostic.error("POLC317", f"safe mode `{mode['name']}`: toggle_env `{mode['toggle_env']}` is not NAME=VALUE",
                                   doc.index.value(where + ("toggle_env",)), hint="e.g. POLICY_SAFE_MODE=1")

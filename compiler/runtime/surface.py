"""``snap.surface``: the learning surface at run time, with a vectorized ``transform``.

numpy is imported only when a transform runs, so ``import compiler.runtime`` stays cheap.
``transform`` clips every feature into its declared bounds, then applies its transform
(``identity``, ``log1p``, ``minmax``, ``sqrt``, ``tanh``; see docs/surfaces.md), and returns
the columns in ``feature_space`` order:

* one row, ``{"atoms": 3, "depth": 2, ...}`` → shape ``(n_features,)``;
* a batch as columns, ``{"atoms": array_of_rows, ...}`` → shape ``(rows, n_features)``;
* a batch as a list of row dicts → shape ``(rows, n_features)``.

>>> s = Surface({"surface_version": "policy_surface@v1", "feature_space": [
...     {"name": "x", "transform": "minmax", "bounds": [0.0, 10.0]},
...     {"name": "y", "transform": "identity", "bounds": None}]})
>>> s.transform({"x": 15, "y": -2}).tolist()
[1.0, -2.0]
>>> s.transform({"x": [0, 5], "y": [1, 2]}).tolist()
[[0.0, 1.0], [0.5, 2.0]]
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping


class SurfaceError(ValueError):
    """Features that do not fit the surface (a missing feature, columns of different lengths)."""


class Surface:
    """The surface block of a snapshot; immutable."""

    __slots__ = ("version", "names", "_plan", "block")

    def __init__(self, block: Mapping[str, Any]):
        self.block = block
        self.version: str = block["surface_version"]
        features = block["feature_space"]
        self.names: tuple[str, ...] = tuple(f["name"] for f in features)
        self._plan = tuple(_step(f) for f in features)

    def __repr__(self) -> str:
        return f"<Surface {self.version} {list(self.names)}>"

    @property
    def safe_modes(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self.block.get("deployment_constraints", {}).get("safe_modes", ()))

    def active_safe_modes(self, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """The safe modes whose ``toggle_env`` (NAME=VALUE) holds in ``env`` (default: os.environ)."""
        env = os.environ if env is None else env
        active = []
        for mode in self.safe_modes:
            name, _, value = mode["toggle_env"].partition("=")
            if env.get(name) == value:
                active.append(mode["name"])
        return tuple(active)

    def transform(self, features: Mapping[str, Any] | Iterable[Mapping[str, Any]]):
        import numpy as np

        columns = features if isinstance(features, Mapping) else _columns(features, self.names)
        missing = [n for n in self.names if n not in columns]
        if missing:
            raise SurfaceError(f"missing feature(s) {missing}; the surface {self.version} expects {list(self.names)}")
        first = np.asarray(columns[self.names[0]], dtype=np.float64)
        single = first.ndim == 0
        rows = 1 if single else len(first)
        out = np.empty((len(self.names), rows), dtype=np.float64)  # feature-major: each column contiguous
        for j, (name, lower, upper, kind, scale) in enumerate(self._plan):
            column = out[j]
            value = first if j == 0 else np.asarray(columns[name], dtype=np.float64)
            if value.shape != first.shape:
                raise SurfaceError(f"feature `{name}` has shape {value.shape}; `{self.names[0]}` has {first.shape}")
            if lower is None:
                np.copyto(column, value.reshape(rows))
            else:
                np.clip(value.reshape(rows), lower, upper, out=column)
            _apply(np, kind, column, lower, scale)
        return out[:, 0] if single else out.T


def _step(feature: Mapping[str, Any]) -> tuple:
    bounds = feature.get("bounds")
    lower, upper = (None, None) if bounds is None else (float(bounds[0]), float(bounds[1]))
    kind = feature["transform"]
    if kind == "minmax" and bounds is None:
        lower, upper = 0.0, 1.0
    scale = 1.0 / (upper - lower) if kind == "minmax" else None
    return feature["name"], lower, upper, kind, scale


def _apply(np, kind: str, column, lower, scale) -> None:
    if kind == "identity":
        return
    if kind == "log1p":
        np.log1p(column, out=column)
    elif kind == "minmax":
        np.subtract(column, lower, out=column)
        np.multiply(column, scale, out=column)
    elif kind == "sqrt":
        np.sqrt(column, out=column)
    elif kind == "tanh":
        np.tanh(column, out=column)
    else:
        raise SurfaceError(f"unknown transform `{kind}`")


def _columns(rows: Iterable[Mapping[str, Any]], names: tuple[str, ...]) -> dict[str, list]:
    rows = list(rows)
    try:
        return {name: [row[name] for row in rows] for name in names}
    except KeyError as exc:
        raise SurfaceError(f"a row is missing feature {exc}; expected {list(names)}") from None

"""Capture rules and safe modes: what a run may record, and how cautiously the router behaves.

Capture (docs/runtime.md "Capture and safe modes"): ``none`` records nothing, ``prompts_only`` records prompts, ``full_io``
records prompts and completions; embeddings are stored only when ``store_embeddings`` is true
and the mode records anything at all.

Safe modes (the learning surface's deployment constraints), read from the environment once, at
load: ``POLICY_SAFE_MODE=1`` makes every decision deterministic (no stochastic tie-breaks);
``POLICY_SHADOW_MODE=1`` makes the policy score only: routes keep the policy's written order and
are never reordered by weights or by the reflex model. A value that is not a clear yes or no
is refused: a safety switch that might be on must not be guessed off.

>>> CaptureRules("prompts_only", True).allows("completions")
False
>>> RuntimeModes.from_env({"POLICY_SHADOW_MODE": "1"})
RuntimeModes(safe=False, shadow=True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from ..errors import UsageError
from .errors import input_error, unknown_name

CAPTURE_KINDS = ("prompts", "completions", "embeddings")
_RECORDED = {"none": frozenset(), "prompts_only": frozenset({"prompts"}),
             "full_io": frozenset({"prompts", "completions"})}
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"", "0", "false", "no", "off"})
SAFE_MODE_ENV, SHADOW_MODE_ENV = "POLICY_SAFE_MODE", "POLICY_SHADOW_MODE"


@dataclass(frozen=True, slots=True)
class CaptureRules:
    mode: str
    store_embeddings: bool

    def allows(self, kind: str) -> bool:
        """May a run record ``kind`` (``prompts``, ``completions`` or ``embeddings``)?"""
        if kind == "embeddings":
            return self.store_embeddings and bool(_RECORDED.get(self.mode))
        if kind not in CAPTURE_KINDS:
            raise unknown_name("capture kind", kind, CAPTURE_KINDS, "POLC741")
        return kind in _RECORDED.get(self.mode, ())


@dataclass(frozen=True, slots=True)
class RuntimeModes:
    safe: bool = False    # deterministic: no stochastic tie-breaks
    shadow: bool = False  # score only: never reorder

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "RuntimeModes":
        env = os.environ if env is None else env
        return cls(safe=_flag(env, SAFE_MODE_ENV), shadow=_flag(env, SHADOW_MODE_ENV))


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = str(env.get(name, "")).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise input_error("POLC740", f"{name}={env.get(name)!r} is neither on nor off",
                      f"set {name}=1 to turn it on or {name}=0 (or unset it) to turn it off",
                      UsageError)

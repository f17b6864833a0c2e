"""Model configuration at run time: ``snap.model(name)``.

The snapshot's ``model_config`` block holds every configured or routed model with its
settings complete (``[model_config.default]`` already filled in at build time); a model the
policy never mentions gets the ``default`` entry when there is one.

>>> block = {"gpt-4o": {"provider": "openai", "context_window": 128000, "max_output_tokens": 4096,
...          "temperature": 0.2, "input_price_per_mtok": 2.5, "output_price_per_mtok": 10.0,
...          "retires_on": None}}
>>> m = model_config(block, "gpt-4o")
>>> m.provider, m.cost(input_tokens=1_000_000, output_tokens=100_000)
('openai', 3.5)
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Mapping

from ..diagnostics import Diagnostic, did_you_mean
from ..errors import UsageError


class UnknownModel(UsageError, LookupError):
    """The policy configures no such model and has no default."""


@dataclass(frozen=True, slots=True)
class ModelConfig:
    name: str
    provider: str | None
    context_window: int | None
    max_output_tokens: int | None
    temperature: float | None
    input_price_per_mtok: float | None
    output_price_per_mtok: float | None
    retires_on: _dt.date | None
    from_default: bool = False   # the policy has no entry for this model; `default` stands in

    def cost(self, *, input_tokens: int = 0, output_tokens: int = 0) -> float | None:
        """The price of a call in the budget currency, or None when a price is not configured."""
        if self.input_price_per_mtok is None or self.output_price_per_mtok is None:
            return None
        return (input_tokens * self.input_price_per_mtok + output_tokens * self.output_price_per_mtok) / 1_000_000

    def retired(self, on: _dt.date | None = None) -> bool:
        """Whether the retirement date has come (today in UTC, unless ``on`` is given)."""
        day = on or _dt.datetime.now(_dt.timezone.utc).date()
        return self.retires_on is not None and self.retires_on <= day

    def to_json(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__slots__}
        out["retires_on"] = self.retires_on.isoformat() if self.retires_on else None
        return out


def model_config(block: Mapping[str, Mapping[str, Any]], name: str) -> ModelConfig:
    """The configuration of model ``name``; raises UnknownModel (with a suggestion) if none."""
    entry = block.get(name)
    from_default = entry is None or name == "default"
    if entry is None:
        entry = block.get("default")
    if entry is None:
        known = sorted(m for m in block if m != "default")
        message = f"unknown model `{name}`: the policy has no [model_config] entry for it and no default"
        raise UnknownModel(message, [Diagnostic.error(
            "POLC540", message, hint=did_you_mean(name, known) or "the policy configures no models")])
    day = entry.get("retires_on")
    return ModelConfig(name, entry.get("provider"), entry.get("context_window"), entry.get("max_output_tokens"),
                       entry.get("temperature"), entry.get("input_price_per_mtok"),
                       entry.get("output_price_per_mtok"), _dt.date.fromisoformat(day) if day else None,
                       from_default)

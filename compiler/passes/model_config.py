"""``[model_config.<model>]``: the settings a router needs per model, checked and lowered.

Once a policy has a ``[model_config]`` table, every model named in routing (cloud, fallback,
reflex) needs an entry or ``[model_config.default]``; ``default`` also fills in the settings
an entry leaves out. An entry no route uses is a warning, and so is a retirement date that
has passed or is within ``[check].retirement_warning_days`` (default 30) of today.

>>> data = {"routing": {"cloud": {"judge": ["m"]}},
...         "model_config": {"default": {"provider": "openai"}, "m": {"temperature": 0.0}}}
>>> lower_model_config(data)["m"]["provider"], lower_model_config(data)["m"]["temperature"]
('openai', 0.0)
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterator

from ..spelling import kind
from ..diagnostics import Diagnostic, did_you_mean
from ..frontend.toml import TomlDocument

DEFAULT = "default"
DEFAULT_RETIREMENT_WARNING_DAYS = 30
#: Every setting of a lowered entry, in the order the docs list them; absent ones are null.
SETTINGS = ("provider", "context_window", "max_output_tokens", "temperature",
            "input_price_per_mtok", "output_price_per_mtok", "retires_on")
MAX_TEMPERATURE = 2.0


def routed_models(data: dict) -> dict[str, tuple]:
    """Model → the key path of its first mention in routing (cloud, fallback, reflex)."""
    routing = data.get("routing", {})
    found: dict[str, tuple] = {}
    for table in ("cloud", "fallback"):
        for role, models in routing.get(table, {}).items():
            for i, model in enumerate(models):
                found.setdefault(model, ("routing", table, role, i))
    reflex_model = routing.get("reflex", {}).get("model")
    if isinstance(reflex_model, str):
        found.setdefault(reflex_model, ("routing", "reflex", "model"))
    return found


def check_model_config(doc: TomlDocument, today: _dt.date, warning_days: int) -> Iterator[Diagnostic]:
    configs: dict = doc.data.get("model_config")
    if configs is None:
        return  # the block is optional; adopting it makes it complete (below)
    default = configs.get(DEFAULT, {})
    routed = routed_models(doc.data)
    for model, path in routed.items():
        if model not in configs and DEFAULT not in configs:
            yield Diagnostic.error(
                "POLC510", f"model `{model}` is routed but has no [model_config] entry", doc.index.value(path),
                hint=f"add [model_config.\"{model}\"] with its provider and limits, or a [model_config.default] "
                     f"for models without their own entry" + _suggest(model, configs))
    stand_ins = [m for m in routed if m not in configs]  # routed models the default stands in for
    for model, entry in configs.items():
        yield from _check_entry(doc, model, entry, default, model in routed or model == DEFAULT, today, warning_days,
                                stand_ins)


def _suggest(model: str, configs: dict) -> str:
    close = did_you_mean(model, [m for m in configs if m != DEFAULT])
    return f"; {close}" if close and close.startswith("did you mean") else ""


def _check_entry(doc, model, entry, default, used, today, warning_days, stand_ins=()) -> Iterator[Diagnostic]:
    path = ("model_config", model)
    if not used:
        yield Diagnostic.warning(
            "POLC511", f"model_config entry `{model}` is not used by any route", doc.index.key(path),
            hint="remove it, or add the model to a role in [routing.cloud] or [routing.fallback]"
                 + _suggest_routed(model, doc.data))
    if "provider" not in entry and "provider" not in default and (model != DEFAULT or stand_ins):
        who = f"entry `{model}`" if model != DEFAULT else f"default (standing in for `{stand_ins[0]}`)"
        yield Diagnostic.error("POLC514", f"model_config {who} has no provider", doc.index.key(path),
                               hint="add `provider = \"...\"` (for example anthropic, openai, local) to the entry "
                                    "or to [model_config.default]")
    yield from _check_numbers(doc, model, entry, default)
    if "retires_on" in entry:
        yield from _check_retirement(doc, model, entry["retires_on"], used, today, warning_days)


def _suggest_routed(model: str, data: dict) -> str:
    close = did_you_mean(model, routed_models(data))
    return f"; {close}" if close and close.startswith("did you mean") else ""


def _check_numbers(doc, model, entry, default) -> Iterator[Diagnostic]:
    def at(key: str):
        return doc.index.value(("model_config", model, key))

    for key in ("input_price_per_mtok", "output_price_per_mtok"):
        if _number(entry.get(key)) and entry[key] < 0:
            yield Diagnostic.error("POLC512", f"model_config.{model}.{key} is {entry[key]}; a price cannot be "
                                   "negative", at(key), hint="use 0 for a free model, or the provider's list price")
    for key in ("context_window", "max_output_tokens"):
        if _number(entry.get(key)) and entry[key] <= 0:
            yield Diagnostic.error("POLC513", f"model_config.{model}.{key} is {entry[key]}; it must be positive",
                                   at(key), hint="give a number of tokens above 0")
    temperature = entry.get("temperature")
    if _number(temperature) and not 0 <= temperature <= MAX_TEMPERATURE:
        yield Diagnostic.error("POLC513", f"model_config.{model}.temperature is {temperature}; expected a value "
                               f"from 0 to {MAX_TEMPERATURE:g}", at("temperature"),
                               hint="0 is deterministic; providers accept at most 2 (some at most 1)")
    # Either limit may come from the default; report where the entry set one (the default's own
    # check reports a default that contradicts itself).
    window = entry.get("context_window", default.get("context_window"))
    output = entry.get("max_output_tokens", default.get("max_output_tokens"))
    own = [key for key in ("max_output_tokens", "context_window") if key in entry]
    if _number(window) and _number(output) and output > window > 0 and own:
        yield Diagnostic.error("POLC513", f"model_config.{model}: max_output_tokens ({output}) is above "
                               f"context_window ({window})", at(own[0]),
                               hint="the output must fit in the context window: lower max_output_tokens"
                                    + ("" if len(own) == 2 else " (one of the two comes from [model_config.default])"))


def parse_date(value: Any) -> _dt.date | None:
    """A TOML local date or an ISO ``YYYY-MM-DD`` string as a date; None for anything else."""
    if isinstance(value, _dt.datetime):
        return None  # a date-time is not a day; ask for a plain date
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            return None
    return None


def _check_retirement(doc, model, value, used, today, warning_days) -> Iterator[Diagnostic]:
    span = doc.index.value(("model_config", model, "retires_on"))
    day = parse_date(value)
    if day is None:
        yield Diagnostic.error("POLC515", f"model_config.{model}.retires_on is {kind(value)}, not a date", span,
                               hint="write a TOML date such as `retires_on = 2027-06-30` (no time of day)")
        return
    if not used:
        return  # an unused entry already has its warning; its retirement changes nothing
    left = (day - today).days
    if left < 0:
        yield Diagnostic.warning("POLC517", f"model `{model}` retired on {day.isoformat()} ({-left} days ago) "
                                 "but is still routed", span,
                                 hint="replace it in routing with its successor; requests to it may fail")
    elif left <= warning_days:
        yield Diagnostic.warning("POLC516", f"model `{model}` retires on {day.isoformat()}, in {left} days",
                                 span, hint=f"plan its replacement; the window is {warning_days} days "
                                            "([check].retirement_warning_days in policy.toml)")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def lower_model_config(data: dict) -> dict[str, dict]:
    """Every configured or routed model → its complete settings (default filled in)."""
    configs = data.get("model_config")
    if not configs:
        return {}
    default = configs.get(DEFAULT, {})
    names = set(configs) | (set(routed_models(data)) if DEFAULT in configs else set())
    return {name: _resolve(default, configs.get(name, {})) if name != DEFAULT else _resolve({}, default)
            for name in sorted(names)}


def _resolve(default: dict, entry: dict) -> dict:
    merged = {**default, **entry}
    out = {key: merged.get(key) for key in SETTINGS}
    day = parse_date(out["retires_on"])
    out["retires_on"] = day.isoformat() if day else None
    return out


def warning_days(project_check: dict) -> int:
    value = project_check.get("retirement_warning_days", DEFAULT_RETIREMENT_WARNING_DAYS)
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_RETIREMENT_WARNING_DAYS


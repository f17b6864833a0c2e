"""The catalogue blocks of model_policy.toml: model_config, weights, prompts, optimizer.

Three stages (see ``compiler.pipeline``): ``parse_catalog_files`` reads the template and
optimizer files the policy names, ``check_catalog`` runs every check of the four blocks,
``lower_catalog`` turns them into snapshot blocks (and the manifest's optimizer sections).

>>> today({"today": _dt.date(2027, 1, 2)})
datetime.date(2027, 1, 2)
"""

from __future__ import annotations

import datetime as _dt
import os

from ..compilation import Compilation, StageOutput, stage
from . import model_config, optimizer, prompts, weights

BLOCKS = ("model_config", "weights", "prompts", "optimizer")


@stage(reads=("model_policy_valid",),
       writes=("prompt_templates", "prompt_facts", "optimizer_metadata", "sources"))
def parse_catalog_files(c: Compilation) -> StageOutput:
    doc = c["model_policy_valid"]
    templates, template_sources, found = prompts.load_templates(doc, c.project.root)
    meta, optimizer_found = optimizer.load_optimizer(doc, c.project.root)
    found += optimizer_found
    sources: list = []
    for source in template_sources + ((meta.source,) if meta and meta.source else ()):
        if all(source.rel != known.rel for known in sources):  # two prompts may share one file
            sources.append(source)
    if found and any(d.is_error for d in found):  # a missing file would make check_catalog guess
        return StageOutput({"sources": tuple(sources)}, tuple(found))
    facts = {signature: prompts.analyze(template) for signature, template in templates.items()}
    return StageOutput({"prompt_templates": templates, "prompt_facts": facts, "optimizer_metadata": meta,
                        "sources": tuple(sources)}, tuple(found))


@stage(reads=("model_policy_valid", "prompt_templates", "prompt_facts", "optimizer_metadata"))
def check_catalog(c: Compilation) -> StageOutput:
    doc = c["model_policy_valid"]
    days = model_config.warning_days(c.project.section("check"))
    found = [*model_config.check_model_config(doc, today(c.options), days), *weights.check_weights(doc),
             *prompts.check_prompts(doc, c["prompt_templates"], c["prompt_facts"])]
    if c.get("optimizer_metadata") is not None:
        found += optimizer.check_optimizer(c["optimizer_metadata"])
    return StageOutput({}, tuple(found))


@stage(reads=("model_policy_valid", "prompt_templates", "optimizer_metadata"),
       writes=("snapshot_blocks", "manifest_extra"))
def lower_catalog(c: Compilation) -> StageOutput:
    data = c["model_policy_valid"].data
    blocks = {"model_config": model_config.lower_model_config(data), "weights": weights.lower_weights(data),
              "prompts": prompts.lower_prompts(data, c["prompt_templates"])}
    extra: dict = {}
    meta = c.get("optimizer_metadata")
    if meta is not None:
        blocks["optimizer"] = optimizer.lower_optimizer(meta.data)
        extra["optimizer"] = blocks["optimizer"]
        extra["training_context"] = {**extra.get("training_context", {}),
                                     **optimizer.training_context(blocks["optimizer"])}
    return StageOutput({"snapshot_blocks": blocks, "manifest_extra": extra})


def today(options) -> _dt.date:
    """The day retirement dates are measured from: the ``today`` option, SOURCE_DATE_EPOCH, or now (UTC).

    A reproducible build (SOURCE_DATE_EPOCH set) also gets reproducible warnings.
    """
    given = options.get("today")
    if isinstance(given, _dt.date):
        return given
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        if epoch is not None:
            return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc).date()
    except (ValueError, OverflowError, OSError):
        pass  # lower_snapshot reports a bad SOURCE_DATE_EPOCH; do not report it twice
    return _dt.datetime.now(_dt.timezone.utc).date()

"""Optimizer metadata (docs/model-policy-blocks.md "[optimizer]"): what produced the bundle, on which datasets, how well it scored.

Written inline as ``[optimizer]`` or as ``[optimizer] file = "optimizer/run.json"`` naming a
JSON file with the same keys (schemas/optimizer_run.schema.json). It goes into the snapshot
(block ``optimizer``; gates read ``scorecard.<metric>``) and into the manifest
(``optimizer`` and ``training_context``).

>>> meta = {"name": "MIPROv2", "datasets": [{"name": "dev", "sha256": "ab" * 32}], "scorecard": {"em": 0.8}}
>>> lower_optimizer(meta)["scorecard"], training_context(lower_optimizer(meta))["datasets"]
({'em': 0.8}, ['dev'])
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..diagnostics import Diagnostic, Span
from ..errors import InputError
from ..frontend.toml import MAX_SAFE_INTEGER, TomlDocument, walk
from ..sources import Source, read_source

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_SCHEMA_CODES = {"type": "POLC532", "unknown": "POLC532", "required": "POLC532", "enum": "POLC532",
                 "other": "POLC532"}
Locate = Callable[[tuple, bool], Span]


@dataclass(frozen=True)
class OptimizerMetadata:
    """The metadata as written, and how to find the position of any of its keys or values."""

    data: dict[str, Any]
    locate: Locate
    source: Source | None = None   # the JSON file, when it came from one


def load_optimizer(doc: TomlDocument, root) -> tuple[OptimizerMetadata | None, list[Diagnostic]]:
    table = doc.data.get("optimizer")
    if table is None:
        return None, []
    toml_locate: Locate = lambda p, key: doc.index.key(("optimizer",) + p) if key else doc.index.value(  # noqa: E731
        ("optimizer",) + p)
    if ("file" in table) == ("name" in table):
        return None, [Diagnostic.error(
            "POLC530", "[optimizer] needs exactly one of `name` (inline metadata) and `file` (a JSON file)",
            doc.index.key(("optimizer",)), hint="write the metadata in the table, or move it to a JSON file and "
                                                "name it with `file = \"optimizer/run.json\"`")]
    if "name" in table:
        return OptimizerMetadata(table, toml_locate), []
    if len(table) > 1:
        extra = sorted(k for k in table if k != "file")
        return None, [Diagnostic.error("POLC530", f"[optimizer] names a file, so `{extra[0]}` belongs in that file",
                                       doc.index.key(("optimizer", extra[0])),
                                       hint="keep only `file = ...` in the table, or drop the file")]
    try:
        source = read_source(root, table["file"], doc.index.value(("optimizer", "file")))
    except InputError as exc:
        return None, list(exc.diagnostics)
    return _parse_json(source)


def _parse_json(source: Source) -> tuple[OptimizerMetadata | None, list[Diagnostic]]:
    def refuse(constant: str):
        raise ValueError(f"{constant} is not a JSON number")

    try:
        data = json.loads(source.text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        return None, [Diagnostic.error("POLC531", f"`{source.rel}` is not valid JSON: {exc.msg}",
                                       Span(source.rel, exc.lineno, exc.colno),
                                       hint="check the file with a JSON linter (python -m json.tool)")]
    except (ValueError, RecursionError) as exc:
        return None, [Diagnostic.error("POLC531", f"`{source.rel}` is not valid JSON: {exc}",
                                       Span.whole_file(source.rel))]
    return OptimizerMetadata(data, _json_locator(source), source), []


def _json_locator(source: Source) -> Locate:
    """Spans of JSON keys and values, from PyYAML's composer (JSON is YAML flow syntax)."""
    keys: dict[tuple, Span] = {}
    values: dict[tuple, Span] = {}
    try:
        import yaml

        _index(yaml.compose(source.text, Loader=yaml.SafeLoader), (), source.rel, keys, values)
    except Exception:  # noqa: BLE001 - positions are a nicety; the values came from json.loads
        pass

    def locate(path: tuple, key: bool) -> Span:
        first, second = (keys, values) if key else (values, keys)
        while path and path not in first and path not in second:
            path = path[:-1]
        return first.get(path) or second.get(path) or Span.whole_file(source.rel)
    return locate


def _index(node, path: tuple, file: str, keys: dict, values: dict) -> None:
    import yaml

    def span(n) -> Span:
        return Span(file, n.start_mark.line + 1, n.start_mark.column + 1,
                    n.end_mark.line + 1, n.end_mark.column + 1)

    values[path] = span(node)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            keys[path + (key_node.value,)] = span(key_node)
            _index(value_node, path + (key_node.value,), file, keys, values)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, path + (i,), file, keys, values)


# -- checking -------------------------------------------------------------------------------

def check_optimizer(meta: OptimizerMetadata) -> Iterator[Diagnostic]:
    if meta.source is not None:  # an inline table was validated with model_policy.toml's schema
        from ..frontend.schema_check import validate

        found = validate(meta.data, "optimizer_run.schema.json", meta.locate, _SCHEMA_CODES)
        if found:
            yield from found
            return
    seen: dict[str, int] = {}
    for i, dataset in enumerate(meta.data.get("datasets", [])):
        digest = dataset["sha256"]
        if not SHA256_HEX.match(digest):
            yield Diagnostic.error(
                "POLC533", f"dataset `{dataset['name']}` has sha256 {json.dumps(digest)}, "
                           "not 64 lowercase hex characters"
                           + (f" (it has {len(digest)})" if len(digest) != 64 else ""),
                meta.locate(("datasets", i, "sha256"), False),
                hint="write the lowercase hex sha256 of the dataset's bytes, for example from `sha256sum FILE`")
        if dataset["name"] in seen:
            yield Diagnostic.error("POLC534", f"dataset `{dataset['name']}` is listed twice (entries "
                                   f"{seen[dataset['name']] + 1} and {i + 1})", meta.locate(("datasets", i, "name"),
                                                                                         False),
                                   hint="name each dataset once; use `split` to tell train/dev/test apart")
        seen.setdefault(dataset["name"], i)
    if meta.source is not None:  # TOML numbers were checked by check_numbers; JSON ones are checked here
        for path, value in walk(meta.data):
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
                yield Diagnostic.error("POLC532", f"{value} is beyond ±2^53, which canonical JSON cannot hold "
                                       "exactly", meta.locate(path, False), hint="use a smaller number or a string")


# -- lowering -------------------------------------------------------------------------------

def lower_optimizer(data: dict) -> dict[str, Any]:
    """The snapshot's ``optimizer`` block, with every optional key made explicit."""
    return {
        "name": data["name"],
        "version": data.get("version"),
        "run_id": data.get("run_id"),
        "seed": data.get("seed"),
        "code_commit": data.get("code_commit"),
        "datasets": [{"name": d["name"], "sha256": d["sha256"], "split": d.get("split"),
                      "records": d.get("records"), "uri": d.get("uri")} for d in data.get("datasets", [])],
        "scorecard": dict(data.get("scorecard", {})),
    }


def training_context(block: dict) -> dict[str, Any]:
    """The manifest's ``training_context`` (schemas/policy_manifest.schema.json) as the optimizer run describes it."""
    runner = block["name"] + (f"@{block['version']}" if block["version"] else "")
    return {"runner": runner, "datasets": [d["name"] for d in block["datasets"]],
            "dataset_sha256": {d["name"]: d["sha256"] for d in block["datasets"]},
            "seed": block["seed"], "code_commit": block["code_commit"], "run_id": block["run_id"]}

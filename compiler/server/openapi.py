"""``/openapi.json``: OpenAPI 3.1 generated from the route table (compiler/server/api.py) and the
contracts schema (schemas/mpr_public_contracts_v0.schema.json), whose ``$defs`` become the
document's component schemas unchanged but for their ``$ref`` targets."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..frontend.schema_check import load_schema
from ..registry.contracts import SCHEMA_FILE
from ..version import __version__
from .api import ROUTES

ERROR_STATUSES = {"400": "invalid request", "401": "no valid credentials", "403": "the principal's roles do not "
                  "allow it", "404": "unknown bundle or scope", "409": "conflict", "413": "body too large",
                  "415": "not JSON", "422": "refused evidence or integrity", "503": "database unavailable (retry)"}


def _refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" and isinstance(v, str) else _refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_refs(v) for v in node]
    return node


def _schema(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


@lru_cache(maxsize=1)
def document() -> dict:
    paths: dict[str, dict] = {}
    for op in ROUTES:
        entry: dict[str, Any] = {"operationId": op.name, "summary": op.summary, "security": [{"bearer": []}]}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in re.findall(r"{(\w+)}", op.path)]
        if op.mutating:
            params.append({"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
                           "description": "A retry with the same key and body returns the first response and "
                                          "writes nothing; the same key with another body is refused (409)."})
        if op.name == "resolve":
            params += [{"name": "pin", "in": "query", "schema": {"type": "string"}},
                       {"name": "wait", "in": "query", "schema": {"type": "number", "minimum": 0}},
                       {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}]
        if params:
            entry["parameters"] = params
        if op.request:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": _schema(op.request)}}}
        ok = {"description": "OK"}
        if op.response:
            ok["content"] = {"application/json": {"schema": _schema(op.response)}}
        elif op.name == "bundle_file":
            ok["content"] = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        responses = {"201" if op.name == "publish" else "200": ok}
        if op.name == "publish":
            responses["200"] = {"description": "DUPLICATE: already registered", **{k: v for k, v in ok.items()
                                                                                  if k == "content"}}
        if op.name == "resolve":
            responses["304"] = {"description": "unchanged (If-None-Match)"}
        error = {"application/json": {"schema": _schema("ErrorResponse")}}
        responses.update({status: {"description": text, "content": error} for status, text in ERROR_STATUSES.items()})
        paths.setdefault(op.path, {})[op.method.lower()] = entry | {"responses": responses}
    for path, summary in (("/healthz", "The process is up"), ("/readyz", "The store is reachable"),
                          ("/metrics", "Prometheus metrics")):
        paths[path] = {"get": {"operationId": path.strip("/"), "summary": summary, "security": [],
                               "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.1.0",
            "info": {"title": "polc registry", "version": __version__,
                     "description": "The polc registry over HTTP (docs/registry.md). Bodies and answers are the "
                                    "$defs of schemas/mpr_public_contracts_v0.schema.json."},
            "paths": paths,
            "components": {"schemas": _refs(load_schema(SCHEMA_FILE)["$defs"]),
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}

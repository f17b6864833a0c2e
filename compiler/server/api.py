"""The JSON API, ``/v1/...``: one Starlette route per operation, each a thin shell over
compiler/server/service.py. ``ROUTES`` is the table ``/openapi.json`` is generated from.

Request bodies are JSON objects (``Content-Type: application/json``) checked against the
contracts schema; every refusal is an ``ErrorResponse`` with the HTTP status of its category.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..registry import RegistryError, Scope
from ..registry.contracts import require
from ..registry.errors import invalid
from .service import RegistryService, fingerprint

IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    name: str
    summary: str
    request: str | None = None      # $defs name of the JSON body
    response: str | None = None     # $defs name of the 2xx answer
    mutating: bool = False


SCOPE = "/v1/scopes/{environment}/{tenant}/{policy_name}"
ROUTES = (
    Operation("POST", "/v1/bundles", "publish", "Upload a bundle's files and publish it with its PASS gate receipts",
              "HttpPublishRequest", "PublishBundleResponse", True),
    Operation("GET", "/v1/bundles", "list", "Registered bundles and their state in every scope",
              response="ListBundlesResponse"),
    Operation("GET", "/v1/bundles/{ref}", "show", "A bundle's record (full hash or a unique prefix of 4+ hex)",
              response="ShowBundleResponse"),
    Operation("GET", "/v1/bundles/{bundle_id}/files/{name}", "bundle_file",
              "A file of a stored bundle, by content hash (immutable)"),
    Operation("GET", SCOPE + "/active", "resolve", "The scope's promoted bundle (?pin=HASH; ETag, If-None-Match and "
              "long-poll ?wait=SECONDS)", response="ResolveActiveResponse"),
    Operation("POST", SCOPE + "/transitions", "transition", "Move a bundle to another rollout state",
              "HttpTransitionRequest", "TransitionResponse", True),
    Operation("POST", SCOPE + "/promote", "promote", "Make a bundle the scope's promoted one",
              "HttpPromoteRequest", "PromoteResponse", True),
    Operation("POST", SCOPE + "/rollback", "rollback", "Roll the scope back to its previous promoted bundle",
              "HttpRollbackRequest", "RollbackResponse", True),
    Operation("GET", SCOPE + "/history", "scope_history", "The scope's audit events (?limit=N&before=SEQ: the "
              "newest N older than SEQ)", response="HistoryResponse"),
    Operation("GET", "/v1/history", "history", "Every audit event (?bundle=HASH)", response="HistoryResponse"),
    Operation("GET", "/v1/verify", "verify", "Recompute the audit chain and the state tables",
              response="VerifyResponse"),
    Operation("GET", "/v1/checkpoints/latest", "checkpoint", "The newest signed checkpoint of the audit log",
              response="Checkpoint"),
    Operation("GET", "/v1/whoami", "whoami", "The authenticated principal and its grants", response="WhoAmIResponse"),
)


def service(request: Request) -> RegistryService:
    return request.app.state.service


async def in_thread(request: Request, fn):
    """``fn(registry, principal)`` in a worker thread, after authenticating the request."""
    svc = service(request)
    header = request.headers.get("authorization")

    def work():
        def authenticated(reg, principal):
            request.scope.setdefault("state", {})["principal"] = principal.name
            return fn(reg, principal)
        return svc.call(header, authenticated)

    return await anyio.to_thread.run_sync(work)


async def json_body(request: Request) -> dict:
    """The request's JSON object, refusing a wrong content type, an oversized or malformed body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise _http(invalid("POLC801", f"expected Content-Type application/json, not `{content_type or 'none'}`"), 415)
    limit = service(request).config.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _http(invalid("POLC801", f"the body is larger than {limit:,} bytes"), 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _http(invalid("POLC801", f"the body is larger than {limit:,} bytes"), 413)
        chunks.append(chunk)
    try:
        value = json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise invalid("POLC801", f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise invalid("POLC801", "the body must be a JSON object")
    return value


def _http(error: RegistryError, status: int) -> RegistryError:
    error.http_status = status
    return error


def path_scope(request: Request) -> Scope:
    p = request.path_params
    tenant = p["tenant"]
    data = {"environment": p["environment"], "policy_name": p["policy_name"]}
    if tenant != "-":
        data["tenant"] = tenant
    return Scope.from_json(require(data, "ScopeKey"))


def answer(body: dict, status: int = 200, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


# --- reads -------------------------------------------------------------------------------------

async def list_bundles(request: Request):
    return answer(await in_thread(request, lambda reg, p: reg.list()))


async def show(request: Request):
    ref = request.path_params["ref"]
    return answer(await in_thread(request, lambda reg, p: reg.show(ref)))


async def bundle_file(request: Request):
    svc = service(request)
    bundle_id, name = request.path_params["bundle_id"], request.path_params["name"]
    path = await in_thread(request, lambda reg, p: svc.bundle_file(bundle_id, name))
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"Cache-Control": IMMUTABLE, "ETag": f'"{bundle_id}/{name}"'})


async def resolve(request: Request):
    """The scope's answer, with an ETag naming the selection. With ``If-None-Match`` and
    ``wait=N``, hold the request (polling the database, so it works across server processes)
    until the selection changes or N seconds pass (then 304)."""
    svc = service(request)
    scope = path_scope(request)
    pin = request.query_params.get("pin") or None
    wait = _wait(request, svc.config.long_poll_max_seconds)
    current = [t.strip() for t in request.headers.get("if-none-match", "").split(",") if t.strip()]
    deadline = time.monotonic() + wait

    def work(reg, principal):
        start = time.perf_counter()
        try:
            response = svc.resolve(reg, scope, reg.bundle_id_of(pin) if pin else None)
        except RegistryError as exc:
            svc.metrics.resolution_errors.labels(exc.category).inc()
            raise
        svc.metrics.resolve_seconds.observe(time.perf_counter() - start)
        return response

    while True:
        response = await in_thread(request, work)
        event = response.get("event") or {}
        etag = f'"{response["active_bundle_ref"]["bundle_id"]}.{event.get("seq", 0)}.{response["rollout_state"]}"'
        unchanged = etag in current or "*" in current
        if not unchanged or time.monotonic() >= deadline:
            break
        await asyncio.sleep(min(svc.config.long_poll_interval_seconds, max(0.0, deadline - time.monotonic())))
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if unchanged:
        return Response(status_code=304, headers=headers)
    return answer(response, headers=headers)


def _wait(request: Request, most: float) -> float:
    text = request.query_params.get("wait")
    if text is None:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise invalid("POLC801", f"wait={text!r} is not a number of seconds") from None
    if not 0 <= value <= most:
        raise invalid("POLC801", f"wait must be between 0 and {most:g} seconds")
    return value


async def scope_history(request: Request):
    scope = path_scope(request)
    limit, before = page_params(request)
    return answer(await in_thread(request, lambda reg, p: reg.history(scope, limit=limit, before=before)))


#: The most events one page of a scope's history holds.
MAX_PAGE = 1000


def page_params(request: Request) -> tuple[int | None, int | None]:
    """``?limit=N&before=SEQ``: the newest N events older than SEQ (both optional; no limit: all)."""
    values = []
    for name, low, high in (("limit", 1, MAX_PAGE), ("before", 1, 2 ** 62)):
        text = request.query_params.get(name)
        if text is None:
            values.append(None)
            continue
        if not text.isdigit() or not low <= int(text) <= high:
            raise invalid("POLC801", f"{name}={text[:40]!r} is not a whole number from {low} to {high}")
        values.append(int(text))
    if values[1] is not None and values[0] is None:
        raise invalid("POLC801", "before= pages the history: give limit= with it")
    return values[0], values[1]


async def history(request: Request):
    bundle = request.query_params.get("bundle")
    return answer(await in_thread(request, lambda reg, p: reg.history(
        None, bundle_id=reg.bundle_id_of(bundle) if bundle else None)))


async def verify(request: Request):
    return answer(await in_thread(request, lambda reg, p: reg.verify()))


async def checkpoint(request: Request):
    svc = service(request)
    return answer(await in_thread(request, lambda reg, p: svc.checkpoint(reg)))


async def whoami(request: Request):
    svc = service(request)
    return answer(await in_thread(request, svc.whoami))


# --- mutations ---------------------------------------------------------------------------------

async def _mutation(request: Request, operation):
    svc = service(request)
    body = await json_body(request)
    key = request.headers.get("idempotency-key")
    mark = fingerprint(request.method, request.url.path, body)
    base = str(request.base_url)

    def work(reg, principal):
        return svc.mutate(reg, principal, key, mark, lambda r: operation(svc, r, principal, body, base))

    outcome = await in_thread(request, work)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return answer(outcome.body, outcome.status, headers)


async def publish(request: Request):
    return await _mutation(request, lambda svc, reg, p, body, base: svc.publish(reg, p, body, base))


async def transition(request: Request):
    scope = path_scope(request)
    return await _mutation(request, lambda svc, reg, p, body, base: svc.transition(reg, p, scope, body))


async def promote(request: Request):
    scope = path_scope(request)
    return await _mutation(request, lambda svc, reg, p, body, base: svc.promote(reg, p, scope, body))


async def rollback(request: Request):
    scope = path_scope(request)
    return await _mutation(request, lambda svc, reg, p, body, base: svc.rollback(reg, p, scope, body))


HANDLERS = {"publish": publish, "list": list_bundles, "show": show, "bundle_file": bundle_file, "resolve": resolve,
            "transition": transition, "promote": promote, "rollback": rollback, "scope_history": scope_history,
            "history": history, "verify": verify, "checkpoint": checkpoint, "whoami": whoami}


def routes() -> list[Route]:
    return [Route(op.path, HANDLERS[op.name], methods=[op.method], name=op.name) for op in ROUTES]

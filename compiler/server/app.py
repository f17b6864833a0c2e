"""The ASGI application of ``polc serve`` (Starlette, served by uvicorn).

``build_app(config)`` assembles it: the JSON API's routes (compiler/server/api.py) mounted
under ``/v1``, ``/healthz``, ``/readyz``, ``/metrics`` and ``/openapi.json``, the error handlers
that turn every refusal into an ``ErrorResponse``, and one middleware that gives each request an
id, counts it and writes one JSON access-log line. Other pages mount beside the API the same way
(``build_app(config, extra_routes=[...])``) and reuse ``api.in_thread`` to authenticate; the web
console (compiler/server/console) is mounted that way under ``/console``. Every response carries
a strict Content-Security-Policy (``SECURITY_HEADERS``).

The app is stateless over the registry store: any number of processes can serve one PostgreSQL
database behind a load balancer.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from contextlib import asynccontextmanager

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..clock import now_timestamp
from ..registry import RegistryError
from . import api
from .config import ServerConfig, describe, load_server_config
from .metrics import CONTENT_TYPE_LATEST, Metrics
from .openapi import document
from .service import RegistryService

ACCESS_LOG = logging.getLogger("polc.access")
SERVER_LOG = logging.getLogger("polc.server")

#: Category -> HTTP status. Integrity failures of the registry's own state are the server's (500).
STATUS = {"INVALID_PAYLOAD": 400, "UNAUTHENTICATED": 401, "FORBIDDEN": 403, "UNKNOWN_BUNDLE": 404, "CONFLICT": 409,
          "INCOMPATIBLE": 409, "GATE_NOT_PASS": 422, "INTEGRITY": 422, "INTERNAL": 503}
SERVER_SIDE_INTEGRITY = {"POLC615", "POLC617"}


def status_of(error: RegistryError) -> int:
    explicit = getattr(error, "http_status", None)
    if explicit:
        return explicit
    if error.code in SERVER_SIDE_INTEGRITY:
        return 500
    if error.category == "INVALID_PAYLOAD" and error.code == "POLC600":
        return 422  # well-formed JSON that breaks the contracts schema
    if error.category == "INTERNAL" and not error.retryable:
        return 500
    return STATUS[error.category]


async def registry_error(request: Request, error: RegistryError) -> JSONResponse:
    status = status_of(error)
    metrics: Metrics = request.app.state.metrics
    metrics.refusals.labels(error.category).inc()
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="polc-registry"'
    if status == 503:
        headers["Retry-After"] = "1"
        SERVER_LOG.warning(json.dumps({"event": "store_unavailable", "request_id": _request_id(request),
                                       "message": error.message}))
    return JSONResponse(error.to_json(), status_code=status, headers=headers)


async def http_error(request: Request, exc: HTTPException) -> Response:
    code = "POLC809" if exc.status_code in (404, 405) else "POLC801"
    message = {404: f"no route {request.method} {request.url.path}",
               405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
    error = RegistryError("UNKNOWN_BUNDLE" if exc.status_code == 404 else "INVALID_PAYLOAD", code, message,
                          hint="GET /openapi.json lists the routes")
    return JSONResponse(error.to_json(), status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    rid = _request_id(request)
    SERVER_LOG.exception("unhandled error in request %s", rid)
    error = RegistryError("INTERNAL", "POLC602", f"internal error (request {rid}); the server log has the details",
                          retryable=False)
    return JSONResponse(error.to_json(), status_code=500)


def _request_id(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id", "-")


# --- health, readiness, metrics, openapi -------------------------------------------------------

async def healthz(request: Request):
    return JSONResponse({"status": "ok"})


async def _chain_length(svc: RegistryService) -> int:
    """The audit chain's length, read on a worker thread (the store's calls block)."""
    def read():
        with svc.pool.registry() as reg:
            return svc.chain_length(reg)
    return await anyio.to_thread.run_sync(read)


async def readyz(request: Request):
    svc: RegistryService = request.app.state.service
    try:
        length = await _chain_length(svc)
    except RegistryError as exc:
        return JSONResponse({"status": "unavailable", "error": exc.message}, status_code=503,
                            headers={"Retry-After": "1"})
    return JSONResponse({"status": "ready", "events": length})


async def metrics_endpoint(request: Request):
    svc: RegistryService = request.app.state.service
    try:
        svc.metrics.chain_length.set(await _chain_length(svc))
    except RegistryError:
        pass  # the store is down: report the last known length; /readyz says it is down
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request):
    return JSONResponse(document())


# --- middleware: request id, access log, request metrics --------------------------------------

#: Every response: no script, style, image or font from anywhere but this server, no inline script
#: or style, no framing, no plugins; the console's CSS and JS are files under /console/static/.
SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                 b"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                                 b"form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on its own form posts,
    # and the console checks Origin (compiler/server/console/pages.py).
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class AccessLog:
    """Pure ASGI middleware (no buffering, so long-polls and file bodies stream)."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 100 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        start, status = time.perf_counter(), [500]

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode("latin-1")),
                                      *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = _route_name(scope)
            self.metrics.requests.labels(route, scope["method"], str(status[0])).inc()
            self.metrics.request_seconds.labels(route).observe(elapsed)
            ACCESS_LOG.info(json.dumps({"ts": now_timestamp(), "request_id": rid,
                                        "method": scope["method"], "path": scope["path"], "route": route,
                                        "status": status[0], "duration_ms": round(elapsed * 1000, 2),
                                        "principal": scope.get("state", {}).get("principal"),
                                        "client": (scope.get("client") or ["-"])[0]}))


def _route_name(scope) -> str:
    route = scope.get("route")
    return getattr(route, "name", None) or "unmatched"


# --- assembly ----------------------------------------------------------------------------------

def build_app(config: ServerConfig, *, extra_routes: list | None = None, console: bool = True) -> Starlette:
    """The app; ``console`` mounts the web console under /console (Jinja2 is imported here, lazily,
    so ``polc`` commands other than ``serve`` never load it)."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app):
        app.state.service = RegistryService(config, metrics)
        if console:
            from .console.pages import Console

            app.state.console = Console(app.state.service.signing_key)
        SERVER_LOG.info(json.dumps({"event": "started", "pid": os.getpid(), **describe(config),
                                    "notes": list(config.notes)}))
        try:
            yield
        finally:
            app.state.service.close()
            SERVER_LOG.info(json.dumps({"event": "stopped", "pid": os.getpid()}))

    routes = [*api.routes(), Route("/healthz", healthz, name="healthz"), Route("/readyz", readyz, name="readyz"),
              Route("/metrics", metrics_endpoint, name="metrics"), Route("/openapi.json", openapi, name="openapi"),
              *(extra_routes or [])]
    if console:
        from .console import routes as console_routes

        routes += console_routes()
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={RegistryError: registry_error, HTTPException: http_error,
                                        Exception: internal_error})
    app.state.metrics = metrics
    app.state.config = config
    app.add_middleware(AccessLog, metrics=metrics)
    return app


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for log in (ACCESS_LOG, SERVER_LOG):
        log.handlers[:] = [handler]
        log.setLevel(logging.INFO)
        log.propagate = False


def app_from_environment() -> Starlette:
    """The factory uvicorn calls in each worker process (``polc serve --workers N``): the
    configuration comes from the variables ``polc serve`` set for its workers."""
    configure_logging()
    config = load_server_config(os.environ.get("POLC_SERVE_CONFIG") or None,
                                project_dir=os.environ.get("POLC_SERVE_PROJECT") or None,
                                store_override=os.environ.get("POLC_SERVE_STORE") or None)
    return build_app(config)

"""The console's routes: each page authenticates the session, calls the same registry and service
functions the JSON API calls (compiler/server/api.py), shapes their answers (``views``) and renders
a Jinja2 template with autoescaping on. Nothing here writes to the registry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, quote, urlsplit

import anyio
import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ...registry import RegistryError
from ...registry.canon import utc_now
from ...version import __version__
from ..api import path_scope
from ..config import GRANT_ROLES
from . import views
from .session import CSRF_COOKIE, SESSION_COOKIE, SESSION_SECONDS, SessionKeys, new_nonce

HERE = Path(__file__).resolve().parent
PREFIX = "/console"
STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8",
          "favicon.svg": "image/svg+xml"}
MAX_FORM_BYTES = 16 * 1024


@dataclass(frozen=True)
class Viewer:
    """Who is looking: an authenticated principal holding a grant (every role may view)."""

    principal: str
    via: str
    token_id: str | None
    note: str
    roles: tuple[str, ...]
    nonce: str


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["short"] = views.short
    env.filters["scope_text"] = views.scope_text
    env.filters["scope_path"] = views.scope_path
    env.filters["value"] = views.value_text
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    env.globals["PREFIX"] = PREFIX
    env.globals["VERSION"] = __version__
    return env


class Console:
    def __init__(self, signing_key):
        self.keys = SessionKeys.from_signing_key(signing_key)
        self.templates = _environment()

    # --- sessions ------------------------------------------------------------------------------
    def viewer(self, request: Request, svc, store) -> Viewer | None:
        """The session's viewer, re-checked: an intact unexpired cookie, a token neither revoked nor
        expired, and a grant held now."""
        claims = self.keys.open(request.cookies.get(SESSION_COOKIE), now=time.time())
        if claims is None:
            return None
        note = ""
        if claims.get("v") == "token":
            with store.read() as s:
                row = s.token_by_id(str(claims.get("t")))
            if row is None or row[0] != claims.get("p") or row[2] or (row[1] and row[1] <= utc_now()):
                return None
            note = row[3]
        roles = viewer_roles(svc.config, claims["p"])
        if not roles:
            return None
        return Viewer(claims["p"], claims.get("v", "token"), claims.get("t"), note, roles, str(claims.get("n")))

    def render(self, request: Request, template: str, context: dict, *, status: int = 200,
               viewer: Viewer | None = None) -> HTMLResponse:
        csrf = self.keys.csrf_token("session:" + viewer.nonce) if viewer else None
        body = self.templates.get_template(template).render(viewer=viewer, csrf=csrf, **context)
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def viewer_roles(config, principal: str) -> tuple[str, ...]:
    """The roles any grant gives ``principal``; ``viewer`` or any role that may act lets it read."""
    held = {r for g in config.grants if g.principal == principal for r in g.roles}
    return tuple(r for r in GRANT_ROLES if r in held)


def console(request: Request) -> Console:
    return request.app.state.console


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)


def page(fn: Callable[..., tuple[str, dict] | Response]):
    """A console page: ``fn(request, svc, reg, viewer)`` in a worker thread on one pooled connection,
    after checking the session; a refusal of the registry becomes an error page with its status."""

    async def handler(request: Request) -> Response:
        svc, app = request.app.state.service, console(request)

        def work():
            with svc.pool.registry() as reg:
                viewer = app.viewer(request, svc, reg.store)
                if viewer is None:
                    return None, None
                request.scope.setdefault("state", {})["principal"] = viewer.principal
                try:
                    return viewer, fn(request, svc, reg, viewer)
                except RegistryError as error:
                    return viewer, error

        viewer, result = await anyio.to_thread.run_sync(work)
        if viewer is None:
            return _login_redirect(request)
        if isinstance(result, Response):
            return result
        if isinstance(result, RegistryError):
            return error_page(request, result, viewer)
        template, context = result
        return app.render(request, template, context, viewer=viewer)

    handler.__name__ = fn.__name__
    return handler


def error_page(request: Request, error: RegistryError, viewer: Viewer | None) -> HTMLResponse:
    from ..app import status_of

    return console(request).render(request, "error.html", {"error": error, "title": "Refused"},
                                   status=status_of(error), viewer=viewer)


# --- login and logout --------------------------------------------------------------------------

def _safe_next(value: str | None) -> str:
    """Where to go after login: a console path of this server, never another origin."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc:
            return value
    return PREFIX + "/scopes"


def _secure(request: Request) -> bool:
    public = request.app.state.service.config.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict",
                        secure=_secure(request))


def _same_origin(request: Request) -> bool:
    """A form post from this server's own pages: SameSite=Strict already keeps other sites' posts
    from carrying our cookies; the Fetch metadata and Origin headers, when sent, must agree."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin in (None, "null"):
        return origin is None
    own = {f"{request.url.scheme}://{request.url.netloc}"}
    public = request.app.state.service.config.public_url
    if public:
        parts = urlsplit(public)
        own.add(f"{parts.scheme}://{parts.netloc}")
    return origin in own


async def _form(request: Request) -> dict[str, str] | None:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in fields.items()}


async def login_form(request: Request, *, message: str | None = None, status: int = 200,
                     next_url: str | None = None) -> Response:
    app, svc = console(request), request.app.state.service
    next_url = _safe_next(next_url or request.query_params.get("next"))
    if message is None and request.method == "GET":
        def current():
            with svc.pool.registry() as reg:
                return app.viewer(request, svc, reg.store)
        if await anyio.to_thread.run_sync(current) is not None:
            return RedirectResponse(next_url, status_code=303)
    binding = request.cookies.get(CSRF_COOKIE) or new_nonce()
    signed_out = request.query_params.get("signed_out") == "1"
    response = app.render(request, "login.html", {"title": "Sign in", "next": next_url, "message": message,
                                                  "signed_out": signed_out,
                                                  "login_csrf": app.keys.csrf_token("login:" + binding)},
                          status=status)
    if request.cookies.get(CSRF_COOKIE) != binding:
        _cookie(response, request, CSRF_COOKIE, binding, None)
    return response


async def login(request: Request) -> Response:
    app, svc = console(request), request.app.state.service
    form = await _form(request)
    if form is None or not _same_origin(request) or not app.keys.csrf_ok(
            "login:" + (request.cookies.get(CSRF_COOKIE) or ""), form.get("csrf")):
        return await login_form(request, message="The sign-in form expired or came from another site: "
                                "sign in again from this page.", status=403, next_url=(form or {}).get("next"))
    token = form.get("token", "").strip()

    def authenticate():
        with svc.pool.registry() as reg:
            principal = svc.auth.authenticate(f"Bearer {token}", reg.store)
            note = ""
            if principal.token_id:
                with reg.store.read() as s:
                    note = (s.token_by_id(principal.token_id) or ("", "", "", ""))[3]
            return principal, note

    try:
        principal, _ = await anyio.to_thread.run_sync(authenticate)
    except RegistryError as error:
        return await login_form(request, message=f"Not signed in: {error.message}.", status=401,
                                next_url=form.get("next"))
    if not viewer_roles(svc.config, principal.name):
        request.scope.setdefault("state", {})["principal"] = principal.name
        return await login_form(request, message=f"`{principal.name}` holds no grant on this registry: ask its "
                                "administrator for the viewer role.", status=403, next_url=form.get("next"))
    now = int(time.time())
    expires = now + SESSION_SECONDS
    if principal.via == "oidc":
        expires = min(expires, _jwt_expiry(token) or expires)
    claims = {"p": principal.name, "v": principal.via, "t": principal.token_id, "e": expires, "n": new_nonce()}
    request.scope.setdefault("state", {})["principal"] = principal.name
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    _cookie(response, request, SESSION_COOKIE, app.keys.seal(claims), expires - now)
    response.delete_cookie(CSRF_COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=_secure(request))
    return response


def _jwt_expiry(token: str) -> int | None:
    import jwt

    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    return int(exp) if isinstance(exp, (int, float)) else None


async def logout(request: Request) -> Response:
    app, svc = console(request), request.app.state.service
    form = await _form(request) or {}

    def current():
        with svc.pool.registry() as reg:
            return app.viewer(request, svc, reg.store)

    viewer = await anyio.to_thread.run_sync(current)
    if viewer is not None and (not _same_origin(request) or not app.keys.csrf_ok("session:" + viewer.nonce,
                                                                                  form.get("csrf"))):
        return app.render(request, "error.html", {"title": "Refused", "error": RegistryError(
            "FORBIDDEN", "POLC813", "the sign-out form came from another site or expired",
            hint="sign out from the console's own page")}, status=403, viewer=viewer)
    response = RedirectResponse(f"{PREFIX}/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=_secure(request))
    return response


# --- pages -------------------------------------------------------------------------------------

def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    return int(text) if text.isdigit() and 0 < len(text) < 7 else 1


def scopes_page(request: Request, svc, reg, viewer: Viewer):
    listing = reg.list()
    events = {e["seq"]: e for e in reg.events_at(views.promoted_seqs(listing))}
    rows = views.scope_rows(listing, events)
    query = request.query_params.get("q", "")[:200]
    shown, pager = views.paginate(views.filter_rows(rows, query), _page_number(request), views.SCOPES_PER_PAGE)
    return "scopes.html", {"title": "Scopes", "rows": shown, "page": pager, "query": query, "scopes": len(rows),
                           "bundles": len(listing["bundles"]), "listed": views.LISTED_PER_STATE}


def bundle_page(request: Request, svc, reg, viewer: Viewer):
    shown = reg.show(request.path_params["ref"])
    record = shown["record"]
    bundle_id = record["ref"]["bundle_id"]
    try:
        bundle, missing = svc.stored_bundle(reg, bundle_id), None
    except RegistryError as error:
        if error.category == "INTEGRITY":
            raise
        bundle, missing = None, error.message
    promoted_now = {}
    for state in shown["states"]:
        with reg.store.read() as s:
            active = s.promoted(tuple(_key(state["scope"])))
        promoted_now[views.scope_text(state["scope"])] = active[0] if active else None
    return "bundle.html", {
        "title": f"Bundle {record['ref']['bundle_version']}", "record": record, "ref": record["ref"],
        "states": shown["states"], "bundle": bundle, "missing": missing,
        "files": views.files(bundle) if bundle else [], "receipts": views.receipts(record),
        "commands": views.cli_commands(bundle_id, record["ref"]["bundle_version"], shown["states"], promoted_now),
        "promoted_now": promoted_now}


def _key(scope: dict) -> tuple[str, str, str]:
    return scope["environment"], scope.get("tenant") or "", scope["policy_name"]


def history_page(request: Request, svc, reg, viewer: Viewer):
    scope = path_scope(request)
    before = request.query_params.get("before")
    before = int(before) if before and before.isdigit() and len(before) < 19 else None
    history = reg.history(scope, limit=views.EVENTS_PER_PAGE, before=before)
    events = history["events"]
    checkpoint = svc.checkpoint(reg)
    with reg.store.read() as s:
        head = s.head()
    older = events[0]["seq"] if len(events) == views.EVENTS_PER_PAGE else None
    return "history.html", {"title": f"History of {scope}", "scope": history["scope"], "scope_name": str(scope),
                            "operations": views.timeline(events), "before": before, "older": older,
                            "chain": views.chain_status(events, head, checkpoint), "checkpoint": checkpoint}


def diff_page(request: Request, svc, reg, viewer: Viewer):
    old, new = request.query_params.get("old", "").strip(), request.query_params.get("new", "").strip()
    view = "unified" if request.query_params.get("view") == "unified" else "split"
    context = {"title": "Diff", "old": old[:80], "new": new[:80], "view": view, "report": None}
    if not old or not new:
        return "diff.html", context
    report = svc.review(reg, old, new)
    records = {side: reg.show(report[side]["hash"])["record"]["ref"] for side in ("old", "new")}
    context.update(report=report, refs=records, findings=views.findings_by_severity(report),
                   blocks=views.changes_by_block(report), prompts=views.prompt_changes(report),
                   impact=report.get("impact"), title=f"Diff {records['old']['bundle_version']} → "
                                                   f"{records['new']['bundle_version']}")
    return "diff.html", context


def audit_page(request: Request, svc, reg, viewer: Viewer, *, verify: bool = False):
    checkpoint = svc.checkpoint(reg)
    result = reg.verify() if verify else None
    return "audit.html", {"title": "Audit", "checkpoint": checkpoint, "result": result,
                          "checkpoint_json": json.dumps(checkpoint, indent=2, sort_keys=True)}


async def audit_verify(request: Request) -> Response:
    """``verify`` on demand: a form post (CSRF-checked like every console form); reads only."""
    app = console(request)
    form = await _form(request) or {}

    def run(req, svc, reg, viewer):
        if not _same_origin(req) or not app.keys.csrf_ok("session:" + viewer.nonce, form.get("csrf")):
            raise RegistryError("FORBIDDEN", "POLC813", "the verify form came from another site or expired",
                                hint="run it from the console's Audit page")
        return audit_page(req, svc, reg, viewer, verify=True)

    return await page(run)(request)


def checkpoint_file(request: Request, svc, reg, viewer: Viewer):
    body = json.dumps(svc.checkpoint(reg), indent=2, sort_keys=True) + "\n"
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": 'attachment; filename="checkpoint.json"', "Cache-Control": "no-store"})


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response((HERE / "static" / name).read_bytes(), media_type=STATIC[name],
                    headers={"Cache-Control": "public, max-age=3600"})


async def home(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/scopes", status_code=303)


def routes() -> list[Route]:
    return [
        Route(PREFIX, home, name="console_home"), Route(PREFIX + "/", home, name="console_home_slash"),
        Route(PREFIX + "/login", login_form, methods=["GET"], name="console_login_form"),
        Route(PREFIX + "/login", login, methods=["POST"], name="console_login"),
        Route(PREFIX + "/logout", logout, methods=["POST"], name="console_logout"),
        Route(PREFIX + "/scopes", page(scopes_page), name="console_scopes"),
        Route(PREFIX + "/scopes/{environment}/{tenant}/{policy_name}/history", page(history_page),
              name="console_history"),
        Route(PREFIX + "/bundles/{ref}", page(bundle_page), name="console_bundle"),
        Route(PREFIX + "/diff", page(diff_page), name="console_diff"),
        Route(PREFIX + "/audit", page(audit_page), methods=["GET"], name="console_audit"),
        Route(PREFIX + "/audit", audit_verify, methods=["POST"], name="console_verify"),
        Route(PREFIX + "/audit/checkpoint.json", page(checkpoint_file), name="console_checkpoint"),
        Route(PREFIX + "/static/{name}", static, name="console_static"),
    ]

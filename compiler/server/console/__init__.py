"""The web console of ``polc serve``: read-only pages over the registry and drift reviews
(docs/registry.md, "Console").

Server-rendered HTML (Jinja2, autoescaped) from the same registry and service functions the JSON
API calls; its CSS and JavaScript are served by the server itself (no CDN, no build step), and
every page works without JavaScript. Modules: ``session`` (signed session cookies, CSRF tokens),
``views`` (the API's answers shaped for the pages, no HTML), ``pages`` (the routes). The server
app imports this package only when it builds its routes, so neither ``compiler.runtime`` nor the
CLI pays for Jinja2.
"""

from __future__ import annotations


def routes() -> list:
    from .pages import routes as console_routes

    return console_routes()

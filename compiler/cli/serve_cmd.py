"""``polc serve``: the registry as an authenticated HTTP service (docs/registry.md)."""

from __future__ import annotations

import os

import click


@click.command("serve")
@click.option("--config", "config_file", metavar="FILE", help="The [server] TOML file (default $POLC_SERVER_CONFIG, "
              "else polc-server.toml beside policy.toml, else the project's [registry] settings).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8750, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (they share the store; use PostgreSQL for more than one).")
@click.option("--store", metavar="URL", help="Override the configured store (postgresql://... or a SQLite path).")
@click.option("--project", "project_dir", metavar="DIR", help="Where policy.toml is.")
@click.option("--drain-seconds", default=35, show_default=True, type=click.IntRange(1, 3600),
              help="On SIGTERM, how long in-flight requests (long-polls included) may take to finish.")
def serve_cmd(config_file, host, port, workers, store, project_dir, drain_seconds):
    """Serve the registry over HTTP: /v1 JSON API, /metrics, /healthz, /readyz, /openapi.json.

    Every request needs a bearer token (`polc registry token create`) or an OIDC JWT; roles come
    from the server's configuration, never from the client. SIGTERM stops accepting connections and
    lets in-flight requests finish."""
    import uvicorn

    from ..server.app import build_app, configure_logging
    from ..server.config import load_server_config
    from ..registry import open_store

    config = load_server_config(config_file, project_dir=project_dir, store_override=store)  # refuses a bad file
    open_store(config.store).close()  # create the tables once, before any worker races to
    configure_logging()
    options = dict(host=host, port=port, log_level="warning", access_log=False, proxy_headers=False,
                   timeout_graceful_shutdown=drain_seconds, server_header=False)
    if workers == 1:
        uvicorn.run(build_app(config), **options)
        return
    os.environ.update({"POLC_SERVE_CONFIG": str(config.source or ""), "POLC_SERVE_PROJECT": project_dir or "",
                       "POLC_SERVE_STORE": store or ""})
    uvicorn.run("compiler.server.app:app_from_environment", factory=True, workers=workers, **options)

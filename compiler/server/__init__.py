"""``polc serve``: the registry as an authenticated HTTP service (docs/registry.md).

Modules, one job each: ``config`` (the ``[server]`` file), ``auth`` (tokens and OIDC JWTs into a
``Principal``), ``pool`` (registries for worker threads), ``service`` (the data functions every
route calls, plain Python), ``api`` (the ``/v1`` JSON routes), ``metrics`` (Prometheus),
``openapi`` (``/openapi.json`` from the contracts schema) and ``app`` (``build_app``: routes,
error handlers, the access-log middleware). Nothing here is imported by ``compiler.runtime``.
"""

"""Learning surfaces (docs/surfaces.md): ``policy.surface.yaml`` → checked, normalized, hashed.

Modules, in pipeline order: ``yaml_front`` (safe YAML with line:col on every node),
``checks`` (schema + semantic rules), ``normalize`` (explicit defaults, deterministic
bytes), ``version`` (the ``surface_version`` bump rule against the previous build) and
``stages`` (the pipeline functions ``parse_surface``, ``check_surface``, ``lower_surface``).
"""

"""polc: a declarative policy-as-code compiler for model and LLM routing policies.

Public API (docs/architecture.md)::

    from compiler import build, check
    result = build("policy.toml")           # BuildResult: snapshot, bundle path, diagnostics
    diagnostics = check("policy.toml")      # list[Diagnostic], nothing written

Imports are lazy so that ``import compiler.runtime`` stays cheap for routers.
"""

from __future__ import annotations

from .version import __version__

__all__ = ["__version__", "build", "check"]


def build(path=None, *, out_dir=None, **options):
    """Compile the project at ``path`` (a policy.toml or a directory under it) and emit the bundle."""
    from .pipeline import build as _build

    return _build(path, out_dir=out_dir, **options)


def check(path=None, **options):
    """Every diagnostic for the project at ``path``; nothing is written."""
    from .pipeline import check as _check

    return _check(path, **options)

"""polc's CEL engine: parse, type-check, cost-bound and evaluate CEL expressions.

>>> from compiler.cel import parse
>>> parse("1 + 2").op
'+'

Submodules are imported lazily so ``import compiler.cel`` stays cheap (no lark until a
parse is needed, nothing at all until something is used).
"""

from __future__ import annotations

_LAZY = {"CelError": "errors", "CelUint": "values"}


def __getattr__(name: str):
    """``CelError`` and ``CelUint`` on first use (PEP 562): a router that generates a gate's code
    from the IR imports only the submodules it needs."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'compiler.cel' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def parse(text, *, file: str = "<expr>", line: int = 1, column: int = 1):
    """Parse CEL text into :mod:`compiler.cel.ast` nodes; see :func:`compiler.cel.parser.parse`."""
    from .parser import parse as _parse
    return _parse(text, file=file, line=line, column=column)


def compile(expr, declarations=None, **options):
    """Parse, check and build an expression; see :func:`compiler.cel.program.compile`."""
    from .program import compile as _compile
    return _compile(expr, declarations, **options)


__all__ = ["CelError", "CelUint", "compile", "parse"]

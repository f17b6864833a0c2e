"""The gate and rule language: ``.rules`` files whose expressions are CEL (docs/rules-language.md).

One module per phase: ``parser`` (``rules.lark`` → :mod:`.ast`, spans on every node; ``syntax``
words its errors), ``loader`` (globs, imports, cycles, the stdlib), ``types``/``typecheck``
(inputs, params, ``old``/``new`` typed from the schemas), ``check`` (names, types, cost),
``lower`` (the snapshot's ``rules`` block), ``stages`` (the pipeline stages), and at run
time ``runtime`` (gates built from a snapshot), ``drift`` (drift rules over two snapshots),
``binding`` (values checked against types), ``messages`` and ``rewrite`` (lets, ``ratio()``).
``celbridge`` is the only module that talks to the CEL engine (``compiler.cel``).

Importing this package is cheap: lark and the CEL engine load only when something is parsed.
"""

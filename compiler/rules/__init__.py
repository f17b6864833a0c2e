"""The gate and rule language: ``.rules`` files whose expressions are CEL (docs/rules-language.md).

One module per phase: ``parser`` (``rules.lark`` → :mod:`.ast`, spans on every node; ``syntax``
words its errors), ``loader`` (globs, imports, cycles, the stdlib), ``types`` (inputs, params,
``old``/``new`` typed from the schemas: the environment), ``check`` (the CEL engine's checker
over that environment, and cost), ``lower`` (the snapshot's ``rules`` block, expressions as
the CEL engine's IR), ``stages`` (the pipeline stages), and at run time ``entries`` (the
block's formats, entries decoded from the IR), ``runtime`` (gates built from them), ``drift`` (drift rules over two snapshots), ``binding`` (values
checked against types), ``messages`` and ``rewrite`` (``ratio()``), and ``legacy`` (blocks
written before the IR, compiled from their text on first use).

Importing this package is cheap: lark and the CEL engine load only when something is parsed.
"""

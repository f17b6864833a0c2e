"""The gate and rule language: ``.rules`` files whose expressions are CEL.

Modules, one per phase: ``parser`` (``rules.lark`` → :mod:`.ast`, spans on every node),
``loader`` (globs, imports, cycles, the stdlib), ``types``/``typecheck`` (inputs, params,
``old``/``new`` typed from the schemas), ``lower`` (the snapshot's ``rules`` block),
``stages`` (the pipeline stages), ``runtime`` (evaluable gates and drift rules built from
the snapshot's ``rules`` block) and ``drift`` (evaluate every drift rule over two snapshots).

Importing this package is cheap: lark and the CEL engine load only when something is parsed.
"""

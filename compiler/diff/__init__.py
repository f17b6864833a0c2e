"""Drift review: ``polc diff OLD NEW`` (docs/diff.md).

The parts, in the order they run::

    inputs.resolve_side   OLD/NEW argument → snapshot dict (+ NEW's sources for spans)
    structural.diff_snapshots   → Change per added/removed/changed path
    spans.locate_changes        → each change points at its line in the NEW source
    drift.evaluate_drift        → Finding per drift rule that fires (or errors)
    approvals.apply_config      → [drift] of policy.toml: overrides, disabled rules, accepted findings
    verdict.status_of / exit_code → OK | WARN | BLOCK and the exit code
    render_*                    → text, json, markdown, sarif, github

``review(old_arg, new_arg)`` in :mod:`compiler.diff.review` runs them all.
"""

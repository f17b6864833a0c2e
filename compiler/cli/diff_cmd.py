"""``polc diff OLD [NEW]``: drift review between snapshots, bundles, projects or git revisions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

FORMATS = ("text", "json", "markdown", "sarif", "github")


@click.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--against", metavar="REV", help="Compare REV (a git revision or path) with NEW, "
              "by default the working tree: `polc diff --against main`.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text (a plan), json (schemas/diff_report.schema.json), markdown (a PR comment), "
                   "sarif (code scanning), github (workflow annotations).")
@click.option("--fail-on", type=click.Choice(("warn", "block", "never")), default=None,
              help="Which status exits 1 (default: [drift].fail_on of policy.toml, else block).")
@click.option("--color", type=click.Choice(("auto", "always", "never")), default="auto", show_default=True,
              help="Color in text output; auto means a terminal and NO_COLOR unset.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file (atomically) instead of standard output.")
@click.option("--replay", "replay", multiple=True, metavar="PATH",
              help="Re-evaluate the decisions recorded here under NEW and report what would have changed "
                   "(repeatable): a run directory, a workspace, a REPLAY.jsonl or events.jsonl file, or a glob.")
def diff_cmd(old, new, against, fmt, fail_on, color, output, replay):
    """Show what changed between two policies, and which changes must not merge unapproved.

    OLD and NEW may each be a snapshot.json, a bundle directory, a head pointer
    (policy.json), a project (policy.toml or its directory), or a git revision of the
    current repository (read from git objects; the working tree is not touched). With only
    OLD, NEW is the working tree. Examples:

    \b
      polc diff main HEAD                 two revisions
      polc diff HEAD~1                    HEAD~1 vs the working tree
      polc diff --against main            main vs the working tree
      polc diff a/snapshot.json b/        a snapshot vs a bundle directory
      polc diff git:main main             `git:` forces a revision when a file has that name
      polc diff main HEAD --replay .polc  what HEAD would have done to the runs in .polc

    Exit 0 for OK and WARN, 1 for BLOCK (see --fail-on), 2 for usage errors, 3 when an
    input cannot be read, 4 when a snapshot or bundle fails its integrity check.
    """
    from ..diff.review import review_args
    from ..diff.verdict import exit_code

    report = review_args(old, new, against=against, replay=replay)
    fail_on = fail_on or _configured_fail_on(report.settings)
    stream = sys.stdout
    text = _render(report, fmt, fail_on, _color(color, output, stream))
    if output is not None:
        from ..fsutil import atomic_write_bytes

        atomic_write_bytes(output, text.encode("utf-8"))
    else:
        stream.write(text)
    sys.exit(exit_code(report.status, fail_on))


def _configured_fail_on(drift: dict) -> str:
    value = drift.get("fail_on", "block")
    return value if value in ("warn", "block", "never") else "block"


def _color(mode: str, output, stream) -> bool:
    from ..diff.render_text import use_color

    return False if output is not None else use_color(stream, mode)


def _render(report, fmt: str, fail_on: str, color: bool) -> str:
    if fmt == "text":
        from ..diff.render_text import render_text

        return render_text(report, color=color, fail_on=fail_on)
    from ..diff.report_json import to_json

    data = to_json(report, fail_on)
    if fmt == "json":
        import json

        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        from ..diff.render_markdown import render_markdown

        return render_markdown(data)
    from ..diff.render_ci import render_github, render_sarif

    return render_sarif(data) + "\n" if fmt == "sarif" else render_github(data)

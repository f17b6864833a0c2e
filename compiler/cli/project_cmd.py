"""``polc init [DIR]`` (a new project that builds at once) and ``polc validate`` (check, then
verify the built bundle and the head: one exit code)."""

from __future__ import annotations

import json
import sys

import click

from ..codes import exit_code_for

_FORMAT = click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True,
                       help="Report format.")


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(path_type=str))
@click.option("--name", help="The [project] name (default: the directory's name).")
@_FORMAT
def init_cmd(directory, name, fmt):
    """Write a minimal project into DIRECTORY (default: here) that `polc build` compiles at once.

    Creates policy.toml, model_policy.toml (with commented examples), docs/MODEL-POLICY.md and
    .pre-commit-config.yaml; a file that exists is kept, never overwritten.
    """
    from ..scaffold import init_project

    result = init_project(directory, name)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    for target in result.created:
        click.echo(f"created {target}")
    for target in result.kept:
        click.echo(f"kept    {target} (it exists; not overwritten)")
    where = "" if directory in (".", "") else f" in {directory}"
    click.echo(f"next: run `polc build`{where} to compile it")


@click.command("validate")
@click.argument("path", required=False, type=click.Path(path_type=str))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=str),
              help="The out dir holding the built bundles (default: the project's [build].out_dir).")
@click.option("--format", "fmt", type=click.Choice(("text", "json", "sarif", "github")), default="text",
              show_default=True, help="How to print diagnostics.")
def validate_cmd(path, out_dir, fmt):
    """`polc check`, then verify every built bundle and the head pointer (`polc verify`).

    One exit code for both: 0 clean, 1 policy errors, 3 an unreadable source or bundle,
    4 a bundle or head pointer that does not match its hashes; the worst one wins.
    """
    from ..validate import validate

    report = validate(path, out_dir)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        from ..render import render

        if report.diagnostics:
            text = render(list(report.diagnostics), fmt, root=report.root, stream=sys.stdout)
            if text:
                click.echo(text.rstrip("\n"))
        if fmt == "text":
            click.echo(report.summary(), err=True)
    sys.exit(exit_code_for(report.diagnostics))

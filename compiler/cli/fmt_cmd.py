"""``polc fmt``: canonical formatting of the TOML policy sources, comments kept."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click


@click.command("fmt")
@click.argument("files", nargs=-1, type=click.Path(path_type=str))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file is not formatted.")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of what would change.")
def fmt_cmd(files, check, show_diff):
    """Format policy.toml and model_policy.toml (or FILES) in place.

    Formatting never changes meaning: the result must parse to exactly the same data,
    or the file is left alone. Exit 0 when everything is formatted, 1 with --check when
    a file would change, 3 when a file cannot be read or parsed.
    """
    from ..errors import PolcError
    from ..fmt import FormatError, format_toml
    from ..frontend.toml import parse_toml
    from ..fsutil import atomic_write_text
    from ..project import load_project
    from ..render import render
    from ..sources import read_source

    project = load_project(None)
    if files:
        targets = [(str(Path(name).resolve()), None) for name in files]
    else:
        targets = [(project.file, None), (project.source_path("model_policy"), project.span("sources", "model_policy"))]
    changed, failed = [], []
    for name, referenced_from in targets:
        try:
            source = read_source(project.root, name, referenced_from)
            parse_toml(source)  # a precise diagnostic for invalid TOML
            formatted = format_toml(source.text)
        except PolcError as exc:
            click.echo(render(exc.diagnostics, "text", root=project.root), err=True)
            failed.append(name)
            continue
        except FormatError as exc:
            click.echo(f"polc fmt: {name}: {exc}", err=True)
            failed.append(name)
            continue
        if formatted == source.text:
            continue
        changed.append(source.rel)
        if show_diff:
            sys.stdout.writelines(difflib.unified_diff(source.text.splitlines(True), formatted.splitlines(True),
                                                       f"a/{source.rel}", f"b/{source.rel}"))
        if not check:
            atomic_write_text(source.path, formatted)
    verb = "would reformat" if check else "reformatted"
    for rel in changed:
        click.echo(f"{verb} {rel}", err=True)
    if failed:
        sys.exit(3)
    if check and changed:
        sys.exit(1)
    total = len(targets)
    if changed:
        click.echo(f"ok: reformatted {len(changed)} of {total} file{'s' * (total != 1)}", err=True)
    else:
        click.echo(f"ok: 0 problems in {total} file{'s' * (total != 1)}", err=True)
    sys.exit(0)

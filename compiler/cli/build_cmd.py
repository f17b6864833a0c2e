"""``polc build`` and ``polc check``."""

from __future__ import annotations

import json
import sys

import click

from ..codes import exit_code_for


def _format_option(choices=("text", "json", "sarif", "github", "markdown")):
    return click.option("--format", "fmt", type=click.Choice(choices), default="text", show_default=True,
                        help="How to print diagnostics.")


def _print_diagnostics(diagnostics, fmt: str, root, stream) -> None:
    from ..render import render

    if not diagnostics and fmt == "text":
        return
    text = render(diagnostics, fmt, root=root, stream=stream)
    if text:
        stream.write(text.rstrip("\n") + "\n")


def _root(result):
    return result.compilation.project.root if result.compilation else None


def _previous_option(fn):
    return click.option("--previous", "previous", metavar="BUNDLE", default="head", show_default=True,
                        help="The build the learning surface's surface_version is compared with: `head` (the "
                             "out dir's active bundle), a bundle directory, hash prefix or policy_id, or `none`.")(fn)


def _previous(value: str):
    return None if value == "none" else value


@click.command("build")
@click.argument("path", required=False, type=click.Path(path_type=str))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=str),
              help="Output directory (default: [build].out_dir of policy.toml, else artifacts/policy).")
@click.option("--capsule", is_flag=True, help="Also store the snapshot in the capsule (mv2://; dual storage, docs/storage.md).")
@_previous_option
@_format_option()
def build_cmd(path, out_dir, capsule, previous, fmt):
    """Compile the policy and write its bundle; print the bundle hash.

    PATH is policy.toml or a directory inside the project (default: the current
    directory; policy.toml is found by walking up), or a lone model_policy.toml
    outside any project: it is compiled with default settings (zero-config) and
    its bundle goes to artifacts/policy beside it.
    """
    from ..pipeline import build

    result = build(path, out_dir=out_dir, previous_bundle=_previous(previous), **({"capsule": True} if capsule else {}))
    code = exit_code_for(result.diagnostics)
    if fmt == "json":
        payload = {"ok": code == 0, "hash": result.hash if code == 0 else None,
                   "policy_id": result.snapshot["policy_id"] if code == 0 and result.snapshot else None,
                   "bundle": str(result.bundle_dir) if code == 0 and result.bundle_dir else None,
                   "diagnostics": [d.to_json() for d in result.diagnostics]}
        click.echo(json.dumps(payload, indent=2))
    else:
        _print_diagnostics(result.diagnostics, fmt, _root(result), sys.stderr if code == 0 else sys.stdout)
        if code == 0 and result.hash:
            click.echo(result.hash)
    sys.exit(code)


@click.command("check")
@click.argument("path", required=False, type=click.Path(path_type=str))
@_previous_option
@_format_option()
def check_cmd(path, previous, fmt):
    """Report every diagnostic of the policy; write nothing.

    PATH is as for `polc build`: a project (policy.toml or a directory in it) or a lone
    model_policy.toml, checked with default settings. Exit 0 without errors, 1 with
    error-level findings, 3 when a source cannot be read or parsed.
    """
    from ..pipeline import last_check_stage, run_pipeline

    result = run_pipeline(path, until=last_check_stage(), previous_bundle=_previous(previous))
    _print_diagnostics(result.diagnostics, fmt, _root(result), sys.stdout)
    code = exit_code_for(result.diagnostics)
    if code == 0 and fmt == "text":
        click.echo(ok_line(result))
    sys.exit(code)


def ok_line(result) -> str:
    """``ok: 0 problems in 4 files``: what a clean check says (the files are policy.toml and the
    sources it read; warnings and notes count as problems that do not fail the check)."""
    from ..render import summary_line

    files = 1 + len(result.compilation.get("sources", ())) if result.compilation else 0
    found = summary_line(result.diagnostics) if result.diagnostics else "0 problems"
    return f"ok: {found} in {files} file{'s' * (files != 1)}"

"""``polc list``, ``polc show``, ``polc current`` (inspect built bundles) and ``polc schema``.

Every bundle shown is verified first, by the same code the runtime loads snapshots with: a
snapshot whose hash does not match its content exits 4. Exit codes (docs/cli/inspect.md):
0 fine; 2 an unknown or ambiguous ID_OR_HASH_PREFIX, or an unknown schema name; 3 nothing to
read (no out dir, no bundles, no head pointer, unreadable files); 4 integrity failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import InputError, PolcError, UsageError


def _out_options(fn):
    fn = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(fn)
    fn = click.option("--project", "project", metavar="PATH", type=click.Path(path_type=str),
                      help="policy.toml or a directory inside the project (default: found by walking up).")(fn)
    fn = click.option("--out", "out", metavar="DIR", envvar="POLC_OUT_DIR", type=click.Path(path_type=str),
                      help="The out dir holding the bundles (default: [build].out_dir of policy.toml; "
                           "env POLC_OUT_DIR).")(fn)
    return fn


def out_dir_for(out: str | None, project: str | None) -> Path:
    """``--out`` as given, else the out dir of the project found from ``--project`` or the cwd."""
    if out:
        return Path(out)
    from ..project import load_project

    return load_project(project).out_dir


def _emit_json(payload) -> None:
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False))


def _print_problems(errors: list[PolcError]) -> None:
    from ..render import render

    diagnostics = [d for e in errors for d in e.diagnostics]
    if diagnostics:
        click.echo(render(diagnostics, "text", stream=sys.stderr), err=True)
    for e in errors:
        if not e.diagnostics:
            click.echo(f"polc: {e.message}", err=True)


# --- list ----------------------------------------------------------------------------------------

@click.command("list")
@_out_options
def list_cmd(out, project, as_json):
    """List every bundle in the out dir: hash, policy_id, created_at, the active one marked *.

    Each bundle is verified; one that fails is listed with its problem and the command exits 4
    (3 when a bundle cannot be read at all).
    """
    from .. import inspection

    out_dir = out_dir_for(out, project)
    active, head_error = inspection.read_active(out_dir)
    head_problem = head_error.diagnostics[0].message if head_error and head_error.diagnostics else None
    reports = [inspection.load_bundle(p, active=p.name == active) for p in inspection.bundle_dirs(out_dir)]
    reports.sort(key=lambda r: (r.facts.get("created_at") or "", r.hash), reverse=True)
    if as_json:
        _emit_json({"out_dir": str(out_dir), "active": active, "head_problem": head_problem,
                    "bundles": [r.to_json() for r in reports]})
    elif not reports:
        click.echo(f"no bundles in `{out_dir}` (run `polc build` to make one)", err=True)
    else:
        from ..snippet import safe_text

        click.echo(safe_text(_list_table(reports)))
    _print_problems([e for e in [head_error, *(r.error for r in reports)] if e is not None])
    sys.exit(inspection.exit_code_of(reports, head_error))


_STATUS_TEXT = {"ok": "ok", "integrity": "INTEGRITY FAILURE (below)", "unreadable": "UNREADABLE (below)"}


def _list_table(reports) -> str:
    rows = [("", "HASH", "POLICY_ID", "CREATED_AT", "VERSION", "STATUS")]
    for r in reports:
        json_row = r.to_json()
        rows.append(("*" if r.active else "", r.hash[:12], json_row["policy_id"], json_row["created_at"] or "?",
                     json_row["version"] or "-", _STATUS_TEXT[r.status]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows)


# --- show / current ------------------------------------------------------------------------------

@click.command("show")
@click.argument("id_or_hash_prefix", metavar="ID_OR_HASH_PREFIX")
@_out_options
def show_cmd(id_or_hash_prefix, out, project, as_json):
    """Show one bundle, by a unique prefix (4+ characters) of its hash or policy_id.

    ID_OR_HASH_PREFIX may also be the path of a bundle directory or a snapshot.json.
    """
    from .. import inspection

    target = Path(id_or_hash_prefix)
    if target.exists() and not inspection.is_bundle_name(id_or_hash_prefix):
        out_dir = _out_dir_of_path(target)
    else:
        out_dir = out_dir_for(out, project)
        target = inspection.resolve_prefix(id_or_hash_prefix, out_dir)
    _show(target, out_dir, as_json)


def _out_dir_of_path(target: Path) -> Path:
    """The out dir around a bundle dir, a snapshot.json, a head pointer or an out dir itself."""
    from ..bundle import HEAD_FILE, SNAPSHOT_FILE

    if target.is_dir():
        return target.parent if (target / SNAPSHOT_FILE).exists() else target
    return target.parent if target.name == HEAD_FILE else target.parent.parent


@click.command("current")
@_out_options
def current_cmd(out, project, as_json):
    """Show the active bundle: the one the head pointer <out>/policy.json names."""
    from .. import inspection

    out_dir = out_dir_for(out, project)
    head = out_dir / inspection.HEAD_FILE
    if not head.exists():
        raise InputError("no head pointer", [_diagnostic("POLC700", f"there is no head pointer `{head}`",
                                                          "run `polc build` first, or pass --out DIR")])
    _show(head, out_dir, as_json)


def _diagnostic(code: str, message: str, hint: str):
    from ..diagnostics import Diagnostic

    return Diagnostic.error(code, message, hint=hint)


def _show(target: Path, out_dir: Path, as_json: bool) -> None:
    from ..runtime import load_snapshot
    from ..runtime.frozen import thaw
    from .. import inspection
    from ..snippet import safe_text
    from .show_text import describe

    snapshot = load_snapshot(target, check_compatibility=False)  # verifies; IntegrityError exits 4
    active, _ = inspection.active_hash(out_dir)
    facts = {**inspection.facts(snapshot), "active": snapshot.hash == active,
             "path": str(snapshot.bundle_dir or snapshot.source)}
    if as_json:
        _emit_json({"bundle": {**facts, "verified": True}, "manifest": thaw(snapshot.manifest),
                    "snapshot": thaw(snapshot.stored)})
    else:
        # A snapshot is verified, not trusted: its strings reach the terminal without controls.
        click.echo(safe_text(describe(facts, thaw(snapshot.stored), thaw(snapshot.manifest))))


# --- schema --------------------------------------------------------------------------------------

@click.command("schema")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="List the schemas as JSON.")
def schema_cmd(name, as_json):
    """Print the JSON Schema NAME (e.g. model_policy), or list the schemas without NAME.

    Point an editor at the output to complete and check model_policy.toml or the surface YAML.
    """
    from ..paths import SCHEMA_DIR

    schemas = {p.name[: -len(".schema.json")]: p for p in sorted(SCHEMA_DIR.glob("*.schema.json"))}
    if name is None:
        listing = [{"name": n, "file": f"schemas/{p.name}", **_schema_head(p)} for n, p in schemas.items()]
        if as_json:
            _emit_json(listing)
        else:
            width = max((len(n) for n in schemas), default=0)
            click.echo("\n".join(f"{e['name'].ljust(width)}  {e['title']}" for e in listing))
        return
    key = name.removesuffix(".json").removesuffix(".schema")
    if key not in schemas:
        from ..diagnostics import did_you_mean

        raise UsageError(f"unknown schema `{name}`", hint=did_you_mean(key, schemas) or "no schemas are installed")
    sys.stdout.write(schemas[key].read_text(encoding="utf-8"))


def _schema_head(path: Path) -> dict:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"title": "(unreadable)", "id": None}
    return {"title": schema.get("title", ""), "id": schema.get("$id")}

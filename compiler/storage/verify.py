"""``polc verify``: every bundle in the out dir verifies; with ``--parity``, so does the capsule.

>>> from pathlib import Path
>>> capsule_location(None, None, Path("/o"), None)
(PosixPath('/o/capsule.sqlite'), 'default')
"""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import Diagnostic
from ..errors import InputError, PolcError
from ..bundle import bundle_dirs, bundle_of, open_bundle, read_head


def capsule_location(capsule: str | None, workspace: str | None, out_dir: Path, project) -> tuple[Path | str, str]:
    """(capsule file or URL, workspace): the options given, else the project's, else the defaults."""
    from ..runtime.resolve import project_settings_near
    from ..capsule import DEFAULT_FILE
    from .capsule import capsule_settings

    if project is not None:
        default_path, default_workspace = capsule_settings(project)
    else:  # no project around the current directory: the out dir's own project, if it is in one
        near = project_settings_near(out_dir)
        default_path = (near.capsule if near else None) or out_dir / DEFAULT_FILE
        default_workspace = near.workspace if near else "default"
    if capsule and not capsule.startswith(("postgresql://", "postgres://")):
        capsule = Path(capsule)
    return (capsule or default_path), (workspace or default_workspace)


def verify_bundles(out_dir: Path) -> tuple[int, list[Diagnostic]]:
    """(bundles checked, problems): every bundle of the out dir, then the head pointer and the
    bundle it names (which must be there, intact, and the one the pointer records)."""
    checked, problems = 0, []
    if not out_dir.is_dir():
        raise InputError("no out dir", [Diagnostic.error("POLC350", f"`{out_dir}` is not a directory",
                                                        hint="build first, or pass --out")])
    damaged = set()
    for path in bundle_dirs(out_dir):
        checked += 1
        try:
            open_bundle(path)
        except PolcError as exc:
            problems.extend(exc.diagnostics)
            damaged.add(path.name)
    try:
        head = read_head(out_dir)
        if head is not None and head.active not in damaged:  # a damaged bundle is reported once
            bundle_of(head)
    except PolcError as exc:
        problems.extend(exc.diagnostics)
    return checked, problems


def verify_all(out_dir: Path, project, parity: bool, repair: bool, capsule_path: str | None,
               workspace: str | None) -> tuple[list[str], dict, list[Diagnostic]]:
    checked, problems = verify_bundles(out_dir)
    lines = [f"{checked} bundles in {out_dir}: " + ("all verify" if not problems else f"{len(problems)} problems")]
    payload: dict = {"bundles": checked}
    if parity:
        from .parity import check_parity, repair_missing

        path, space = capsule_location(capsule_path, workspace, out_dir, project)
        added = repair_missing(out_dir, path, space) if repair else []
        report = check_parity(out_dir, path, space)
        problems += report.problems
        lines.append(f"parity with {path} (workspace {space}): {report.checked} snapshots, "
                     + ("byte-identical in both stores" if report.ok else f"{len(report.problems)} problems")
                     + (f"; stored {len(added)} missing" if added else ""))
        payload.update({"parity_checked": report.checked, "capsule": str(path), "workspace": space,
                        "repaired": added})
    return lines, payload, problems

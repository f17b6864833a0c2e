"""``polc validate``: ``polc check`` of the sources, then ``polc verify`` of what is built.

One report, one exit code (the worst of both): every diagnostic of the sources (as
``polc check`` reports them, the surface version compared with the head's), then every
bundle of the out dir and the head pointer verified by the bundle package (hashes, manifest,
listing, and that the head names an intact bundle). Notes, never errors: an out dir with
nothing built yet (POLC034: only the sources could be checked), and a head that is not what the
sources compile to now (POLC035: not rebuilt since they changed, or moved by a delta,
migration or restore).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic, has_errors
from .errors import PolcError


@dataclass(frozen=True)
class ValidateReport:
    root: Path | None
    out_dir: Path | None
    diagnostics: tuple[Diagnostic, ...]
    bundles: int
    head: str | None

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    def summary(self) -> str:
        errors = sum(1 for d in self.diagnostics if d.is_error)
        built = (f"{self.bundles} bundle(s) in {self.out_dir} verified" if self.bundles else "nothing built yet")
        head = f", head {self.head[:12]}" if self.head else ""
        return f"validate: {'ok' if self.ok else f'{errors} error(s)'} — sources checked, {built}{head}"

    def to_json(self) -> dict:
        return {"ok": self.ok, "out_dir": str(self.out_dir) if self.out_dir else None, "bundles": self.bundles,
                "head": self.head, "diagnostics": [d.to_json() for d in self.diagnostics]}


def validate(path=None, out_dir: str | Path | None = None) -> ValidateReport:
    from .pipeline import compile_snapshot

    result = compile_snapshot(path, previous_bundle="head", **({"out_dir": str(out_dir)} if out_dir else {}))
    project = result.compilation.project if result.compilation else None
    diagnostics = list(result.diagnostics)
    if out_dir is not None:
        out = Path(out_dir).resolve()
    else:
        try:
            out = project.out_dir if project is not None else None
        except PolcError as exc:  # an out_dir escaping the project: check reported it already
            return ValidateReport(None, None, tuple(diagnostics + [d for d in exc.diagnostics if d not in diagnostics]),
                                  0, None)
    if out is None:
        return ValidateReport(None, None, tuple(diagnostics), 0, None)
    bundles, head, problems = _verify(out)
    if head and result.hash and head != result.hash:
        problems.append(Diagnostic.info(
            "POLC035", f"the head {head[:12]} is not what the sources compile to now ({result.hash[:12]})",
            hint="`polc build` makes it so; a head moved by `delta apply`, `migrate` or `restore` differs on purpose"))
    return ValidateReport(project.root if project else None, out, tuple(diagnostics + problems), bundles, head)


def _verify(out: Path) -> tuple[int, str | None, list[Diagnostic]]:
    from .bundle import HEAD_FILE, bundle_dirs, read_head
    from .storage.verify import verify_bundles

    if not bundle_dirs(out) and not (out / HEAD_FILE).exists():
        return 0, None, [Diagnostic.info("POLC034", f"nothing is built in `{out}` yet: only the sources were checked",
                                         hint="`polc build` writes the bundle; validate then verifies it too")]
    checked, problems = verify_bundles(out)
    try:
        head = read_head(out)
    except PolcError:  # verify_bundles reported it
        head = None
    return checked, head.active if head else None, list(problems)

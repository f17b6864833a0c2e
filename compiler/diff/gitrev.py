"""Policy sources at a git revision, read from git objects; the working tree is never touched.

``export_revision(rev, cwd, prefix, dest)`` resolves ``rev`` to a commit and streams
``git archive <commit> -- <prefix>`` into ``dest`` (tar members filtered with the "data"
filter: no absolute paths, no links out of ``dest``). Every failure is an InputError whose
hint names the fix: not a repository, an unknown revision, a shallow clone
(``git fetch --unshallow``), a revision without the project.

>>> looks_like_path("examples/snapshot.json"), looks_like_path("HEAD~1")
(True, False)
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from ..diagnostics import Diagnostic
from ..errors import InputError

GIT_TIMEOUT_S = 120


def looks_like_path(arg: str) -> bool:
    """A missing argument that was meant as a file, not a revision (for the error message)."""
    return "/" in arg.replace("origin/", "", 1) or arg.endswith((".json", ".toml")) or arg.startswith(".")


def _git(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT_S, **kw)
    except FileNotFoundError:
        raise _fail("POLC413", "git is not installed, so a revision cannot be read",
                    "install git, or compare files: `polc diff old/snapshot.json new/snapshot.json`") from None
    except subprocess.TimeoutExpired:
        raise _fail("POLC413", f"`git {' '.join(args)}` took longer than {GIT_TIMEOUT_S}s",
                    "check the repository (git fsck) and try again") from None


def repo_top(cwd: Path) -> Path | None:
    done = _git(["rev-parse", "--show-toplevel"], cwd, text=True)
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def resolve_commit(rev: str, cwd: Path, *, path_like: bool = False) -> str:
    """The full commit id of ``rev``; raises InputError naming the fix when there is none."""
    if repo_top(cwd) is None:
        if path_like:
            raise _missing_path(rev)
        raise _fail("POLC411", f"`{rev}` is neither a file nor a directory, so it was read as a git revision, "
                               f"but `{cwd}` is not inside a git repository",
                    "give a path to a snapshot.json, bundle directory, head pointer or project; revisions "
                    "(main, HEAD~1, a tag) work only inside a git repository")
    if rev.startswith("-"):
        raise _fail("POLC410", f"`{rev}` is not a revision", "name a branch, tag or commit")
    done = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], cwd, text=True)
    if done.returncode == 0:
        return done.stdout.strip()
    raise _unknown_revision(rev, cwd, path_like)


def _unknown_revision(rev: str, cwd: Path, path_like: bool) -> InputError:
    shallow = _git(["rev-parse", "--is-shallow-repository"], cwd, text=True).stdout.strip() == "true"
    if path_like:
        return _missing_path(rev)
    if shallow:
        return _fail("POLC412", f"revision `{rev}` is not in this shallow clone",
                     "fetch the history: `git fetch --unshallow` (in GitHub Actions: actions/checkout with "
                     "`fetch-depth: 0`), or fetch the branch: `git fetch origin " + rev.split("~")[0].split("^")[0] + "`")
    return _fail("POLC410", f"unknown revision `{rev}`: no branch, tag or commit of that name",
                 "check the name (`git branch -a`, `git log --oneline`); a remote branch may need "
                 "`git fetch origin` first, and `HEAD~N` needs at least N+1 commits")


def _missing_path(rev: str) -> InputError:
    return _fail("POLC400", f"`{rev}` does not exist (and is not a git revision either)",
                 "check the path; it is relative to the current directory")


def export_revision(commit: str, cwd: Path, prefix: str, dest: Path, rev: str) -> None:
    """Extract the tree of ``commit`` below ``prefix`` (repo-relative, posix) into ``dest``."""
    top = repo_top(cwd) or cwd  # git archive takes paths relative to where it runs: run it at the top
    has = _git(["cat-file", "-e", f"{commit}:{prefix}" if prefix else f"{commit}^{{tree}}"], top)
    if has.returncode != 0:
        raise _fail("POLC414", f"revision `{rev}` has no `{prefix}` directory, so there is no policy project "
                               "to compare", "compare with a revision that has the project, or with a snapshot file")
    args = ["archive", "--format=tar", commit] + ([prefix] if prefix else [])
    with subprocess.Popen(["git", *args], cwd=top, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                tar.extractall(dest, filter="data")
        except (tarfile.TarError, OSError) as exc:
            proc.kill()
            raise _fail("POLC413", f"cannot extract `{rev}`: {exc}",
                        "the revision holds a file polc will not extract (a link out of the tree); "
                        "check `git ls-tree -r " + rev + "`") from None
        err = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise _fail("POLC413", f"`git archive {rev}` failed: {err}", "check the repository with `git fsck`")


def _fail(code: str, message: str, hint: str) -> InputError:
    return InputError(message, [Diagnostic.error(code, message, hint=hint)])

"""The runner side of compatibility: this runtime refuses a bundle it cannot serve.

A bundle's manifest says which runner versions may load it (``min_runner_version`` ..
``max_runner_version``, from policy.toml ``[build]``) and which features the runner must
provide (``required_features``, ``feature_groups``). ``load_snapshot`` checks both before it
hands out a ``Snapshot`` (``check_runner``); the rules are the bundle package's
(``compiler.bundle.compat``), the same the registry applies when it promotes a bundle.

The runner's version is this runtime's (``compiler.version.__version__``). Its features are
the capabilities this runtime implements (``RUNTIME_FEATURES``, versioned by the runtime's
version) plus the ones the router declares: ``load_snapshot(..., features={"atoms": "2"})``
or ``POLC_RUNNER_FEATURES="atoms=2,depth,lean_score"`` (a name alone has no version).

>>> provided = runner_features(["atoms", "depth=2"])
>>> provided["atoms"], provided["depth"], "routing" in provided
(None, '2', True)
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping

from ..bundle.compat import runner_problems, unmet_features
from ..diagnostics import Diagnostic
from ..errors import InputError
from ..version import __version__

#: What this runtime can serve; a bundle may require any of them by name.
RUNTIME_FEATURES = ("budgets", "capture", "gates", "model_config", "prompts", "routing", "runs", "safe_modes",
                    "surface", "weights")
FEATURES_ENV = "POLC_RUNNER_FEATURES"


class IncompatibleBundle(InputError):
    """The bundle needs another runner version, or features this runner does not provide."""


def runner_features(declared: Mapping[str, str | None] | Iterable[str] | str | None = None) -> dict[str, str | None]:
    """The features this runner provides: the runtime's own, plus ``declared`` (a mapping of name
    to version, names, or ``"a=1,b"`` text; default: ``POLC_RUNNER_FEATURES``)."""
    if declared is None:
        declared = os.environ.get(FEATURES_ENV, "")
    if isinstance(declared, str):
        declared = [part.strip() for part in declared.split(",") if part.strip()]
    if not isinstance(declared, Mapping):
        pairs = [item.partition("=") for item in declared]
        declared = {name.strip(): (version.strip() or None) for name, _, version in pairs}
    return {**{name: __version__ for name in RUNTIME_FEATURES}, **dict(declared)}


def check_runner(compatibility: Mapping, bundle_hash: str, declared=None) -> None:
    """Raise ``IncompatibleBundle`` (POLC742 runner version, POLC743 features) naming what the
    bundle needs and what this runner has."""
    where = f"bundle {bundle_hash[:16]}…"
    problems = runner_problems(compatibility, __version__)
    if problems:
        message = f"{where} cannot be loaded by this polc runtime: it {'; '.join(problems)}"
        raise IncompatibleBundle(message, [Diagnostic.error(
            "POLC742", message, hint=f"run a polc runtime within the bundle's bounds, or rebuild the bundle with "
                                     f"[build].min_runner_version/max_runner_version that include {__version__}")])
    provided = runner_features(declared)
    unmet = unmet_features(compatibility, provided)
    if unmet:
        have = ", ".join(f"{n}={v}" if v else n for n, v in sorted(provided.items()))
        message = f"{where} requires {'; '.join(unmet)}, which this runner does not provide (it provides: {have})"
        raise IncompatibleBundle(message, [Diagnostic.error(
            "POLC743", message, hint=f"declare what the runner provides (load_snapshot(..., features=...) or "
                                     f"{FEATURES_ENV}=name,name=version), or rebuild without that requirement")])

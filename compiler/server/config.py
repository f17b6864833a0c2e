"""The server's configuration: a ``[server]`` TOML file that no client can weaken.

Where it is read from: ``polc serve --config FILE``, else ``$POLC_SERVER_CONFIG``, else
``polc-server.toml`` beside the project's ``policy.toml``. Without any file, ``polc serve`` in a
project serves the project's registry with the project's ``[registry]`` settings, and
``[registry.actors]`` become grants for every policy and scope (docs/registry.md).

    [server]
    store = "postgresql://registry@db/polc"   # default: the project's registry (.polc/registry.db)
    bundle_dir = "/var/lib/polc/bundles"      # uploaded bundles, content-addressed (default .polc/server-bundles)
    public_url = "https://registry.example"   # how clients reach it (default: the request's own URL)
    origin = "registry.example"               # the checkpoints' origin line
    checkpoint_key = "keys/checkpoint.key"    # Ed25519 private key (PEM); made on first start when missing
    trusted_keys = ["keys/gate-ci.pub"]       # who may sign gate receipts; required unless
    allow_unsigned_receipts = false           #   this is set (then receipts are taken unsigned)
    default_policy = "router"

    [server.oidc]                             # optional: OIDC JWTs as bearer tokens
    jwks_file = "oidc/jwks.json"
    issuer = "https://token.actions.githubusercontent.com"
    audience = "polc-registry"
    principal_claim = "sub"                   # the principal is "oidc:" + this claim

    [[server.grants]]                         # roles per principal, per policy and scope
    principal = "alice"
    roles = ["approver", "operator"]
    policy = "router"                         # optional; environment, tenant ("-": none) too

    [server.required_gates.router]            # per policy ("*": every policy)
    publish = ["reflex_promotion"]
    promote = ["reflex_promotion", "canary_health"]

``[[server.transitions]]``, ``[server.operations]`` and ``[[server.scopes]]`` are those of
``[registry]`` (compiler/registry/config.py).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import InputError
from ..registry.config import Grant, RegistryConfig, RequiredGates, ScopeFeatures
from ..registry.lifecycle import ROLES, STATES, Lifecycle

CONFIG_FILE = "polc-server.toml"
DEFAULT_BUNDLE_DIR = ".polc/server-bundles"
DEFAULT_CHECKPOINT_KEY = ".polc/checkpoint.key"

_SERVER_KEYS = {"store", "bundle_dir", "public_url", "origin", "checkpoint_key", "trusted_keys",
                "allow_unsigned_receipts", "default_policy", "oidc", "grants", "required_gates", "transitions",
                "operations", "scopes", "max_body_bytes", "long_poll_max_seconds", "long_poll_interval_seconds",
                "pool_size"}
_OIDC_KEYS = {"jwks_file", "issuer", "audience", "principal_claim", "algorithms", "leeway_seconds"}
_GRANT_KEYS = {"principal", "roles", "policy", "environment", "tenant"}
#: A grant may also give ``viewer``: reading through the web console (compiler/server/console), no change.
VIEWER = "viewer"
GRANT_ROLES = (*ROLES, VIEWER)


@dataclass(frozen=True)
class OidcConfig:
    jwks_file: Path
    issuer: str
    audience: str
    principal_claim: str = "sub"
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    leeway_seconds: int = 30


@dataclass(frozen=True)
class ServerConfig:
    store: str
    bundle_dir: Path
    checkpoint_key: Path
    registry: RegistryConfig
    source: Path | None = None          # the file it came from (None: defaults of a project)
    public_url: str | None = None
    origin: str = "polc-registry"
    oidc: OidcConfig | None = None
    allow_unsigned_receipts: bool = False
    max_body_bytes: int = 64 * 1024 * 1024
    long_poll_max_seconds: float = 60.0
    long_poll_interval_seconds: float = 0.5
    pool_size: int = 8
    notes: tuple[str, ...] = field(default=())

    @property
    def grants(self) -> tuple[Grant, ...]:
        return self.registry.grants or ()


def find_config(explicit: str | None, project_root: Path | None) -> Path | None:
    if explicit:
        return Path(explicit)
    if os.environ.get("POLC_SERVER_CONFIG"):
        return Path(os.environ["POLC_SERVER_CONFIG"])
    if project_root is not None and (project_root / CONFIG_FILE).is_file():
        return project_root / CONFIG_FILE
    return None


def load_server_config(explicit: str | None = None, *, project_dir: str | None = None,
                       store_override: str | None = None) -> ServerConfig:
    """The server configuration (see the module docstring); a bad file is POLC800 (exit 3)."""
    from ..project import load_project
    from ..errors import PolcError

    try:
        project = load_project(project_dir)
    except PolcError:
        project = None
    base = RegistryConfig.from_project(project) if project is not None else RegistryConfig()
    path = find_config(explicit, project.root if project else None)
    if path is None:
        return _from_project(base, project, store_override)
    return _from_file(path, base, store_override)


def _from_project(base: RegistryConfig, project, store_override: str | None) -> ServerConfig:
    if project is None and not store_override:
        raise _bad(None, "no server configuration: pass --config FILE (a [server] TOML file), set "
                   "POLC_SERVER_CONFIG, or run `polc serve` inside a polc project")
    root = project.root if project else Path.cwd()
    store = store_override or base.registry_url()
    grants = tuple(Grant(name, tuple(roles)) for name, roles in base.actors.items())
    registry = replace(base, grants=grants, actors={})
    notes = ("no polc-server.toml: serving the project's registry; grants from policy.toml [registry.actors]",)
    return _checked(ServerConfig(str(store), root / DEFAULT_BUNDLE_DIR, root / DEFAULT_CHECKPOINT_KEY, registry,
                                 notes=notes), None)


def _from_file(path: Path, base: RegistryConfig, store_override: str | None) -> ServerConfig:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _bad(path, f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _bad(path, f"{path} is not valid TOML: {exc}") from None
    unknown_top = sorted(set(data) - {"server"})
    if unknown_top or not isinstance(data.get("server"), dict):
        raise _bad(path, f"{path}: expected one [server] table" + (f"; unknown `{unknown_top[0]}`" if unknown_top else ""))
    section = data["server"]
    _known(path, "server", section, _SERVER_KEYS)
    root = path.resolve().parent

    def at(value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else root / p

    store = store_override or _str(path, section, "store", None) or base.registry_url()
    if not store:
        raise _bad(path, f"{path}: [server] store is required outside a polc project")
    if "://" not in str(store) and not str(store).startswith("sqlite:"):
        store = str(at(str(store)))
    keys = tuple(at(k) for k in _list(path, section, "trusted_keys", str))
    registry = replace(
        base, url=str(store), root=root, trusted_keys=keys or base.trusted_keys,
        default_policy=_str(path, section, "default_policy", base.default_policy),
        grants=_grants(path, section.get("grants", [])), actors={},
        required_gates=_required(path, section.get("required_gates", {})),
        lifecycle=_lifecycle(path, section) or base.lifecycle,
        scopes=_scopes(path, section.get("scopes")) or base.scopes, out_dir=None)
    oidc = _oidc(path, section.get("oidc"), at)
    config = ServerConfig(
        str(store), at(_str(path, section, "bundle_dir", DEFAULT_BUNDLE_DIR)),
        at(_str(path, section, "checkpoint_key", DEFAULT_CHECKPOINT_KEY)), registry, source=path,
        public_url=_str(path, section, "public_url", None), origin=_str(path, section, "origin", "polc-registry"),
        oidc=oidc, allow_unsigned_receipts=_bool(path, section, "allow_unsigned_receipts"),
        max_body_bytes=_int(path, section, "max_body_bytes", 64 * 1024 * 1024),
        long_poll_max_seconds=float(_int(path, section, "long_poll_max_seconds", 60)),
        long_poll_interval_seconds=_num(path, section, "long_poll_interval_seconds", 0.5),
        pool_size=_int(path, section, "pool_size", 8))
    return _checked(config, path)


def _checked(config: ServerConfig, path: Path | None) -> ServerConfig:
    if not config.registry.trusted_keys and not config.allow_unsigned_receipts:
        raise _bad(path, "the server trusts no receipt keys: list Ed25519 public keys in [server] trusted_keys "
                   "(or [registry] trusted_keys), or set allow_unsigned_receipts = true to accept unsigned "
                   "gate receipts knowingly")
    for key in config.registry.trusted_keys:
        if not key.is_file():
            raise _bad(path, f"trusted key {key} does not exist")
    return config


# --- small typed readers -----------------------------------------------------------------------

def _bad(path: Path | None, message: str) -> InputError:
    return InputError(message, [Diagnostic.error("POLC800", message,
                                                 hint="the [server] file is described in docs/registry.md")])


def _known(path, table: str, value: dict, allowed: set[str]) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
        raise _bad(path, f"{path}: unknown key `{unknown[0]}` in [{table}]"
                   + (f"; did you mean `{close[0]}`?" if close else f"; expected one of {', '.join(sorted(allowed))}"))


def _str(path, table: dict, key: str, default):
    value = table.get(key, default)
    if value is not None and not isinstance(value, str):
        raise _bad(path, f"{path}: `{key}` must be a string")
    return value


def _bool(path, table: dict, key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise _bad(path, f"{path}: `{key}` must be true or false")
    return value


def _int(path, table: dict, key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _bad(path, f"{path}: `{key}` must be a positive integer")
    return value


def _num(path, table: dict, key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise _bad(path, f"{path}: `{key}` must be a positive number")
    return float(value)


def _list(path, table: dict, key: str, kind) -> list:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        raise _bad(path, f"{path}: `{key}` must be a list of {kind.__name__}s")
    return value


def _roles(path, where: str, roles, allowed: tuple[str, ...] = ROLES) -> tuple[str, ...]:
    if not isinstance(roles, list) or not roles or any(r not in allowed for r in roles):
        raise _bad(path, f"{path}: {where} roles must be a non-empty list of {', '.join(allowed)}")
    return tuple(roles)


def _grants(path, entries) -> tuple[Grant, ...]:
    if not isinstance(entries, list):
        raise _bad(path, f"{path}: [[server.grants]] must be an array of tables")
    out = []
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise _bad(path, f"{path}: grant {n} is not a table")
        _known(path, "server.grants", entry, _GRANT_KEYS)
        principal = _str(path, entry, "principal", None)
        if not principal:
            raise _bad(path, f"{path}: grant {n} has no `principal`")
        out.append(Grant(principal, _roles(path, f"grant {n}'s", entry.get("roles"), GRANT_ROLES), _str(path, entry, "policy", None),
                         _str(path, entry, "environment", None), _str(path, entry, "tenant", None)))
    return tuple(out)


def _required(path, table) -> dict[str, RequiredGates]:
    if not isinstance(table, dict):
        raise _bad(path, f"{path}: [server.required_gates] must be a table of policies")
    out = {}
    for policy, gates in table.items():
        if not isinstance(gates, dict):
            raise _bad(path, f"{path}: [server.required_gates.{policy}] must be a table")
        _known(path, f"server.required_gates.{policy}", gates, {"publish", "promote"})
        out[policy] = RequiredGates(tuple(_list(path, gates, "publish", str)), tuple(_list(path, gates, "promote", str)))
    return out


def _lifecycle(path, section: dict) -> Lifecycle | None:
    transitions, operations = section.get("transitions"), section.get("operations")
    if transitions is None and operations is None:
        return None
    for t in transitions or []:
        if not isinstance(t, dict) or t.get("from") not in STATES or t.get("to") not in STATES:
            raise _bad(path, f"{path}: each [[server.transitions]] needs `from` and `to` among {', '.join(STATES)}")
        _roles(path, "a transition's", t.get("roles"))
    for name, roles in (operations or {}).items():
        if name not in ("publish", "rollback"):
            raise _bad(path, f"{path}: [server.operations] knows `publish` and `rollback`, not `{name}`")
        _roles(path, f"operation {name}'s", roles)
    return Lifecycle.from_config(transitions, operations)


def _scopes(path, entries) -> tuple[ScopeFeatures, ...]:
    if entries is None:
        return ()
    try:
        return tuple(ScopeFeatures(s["environment"], s.get("tenant"), s.get("policy"),
                                   {k: str(v) for k, v in s.get("features", {}).items()},
                                   s.get("compatibility", "fail_closed") == "warn_only") for s in entries)
    except (KeyError, TypeError, AttributeError):
        raise _bad(path, f"{path}: each [[server.scopes]] needs `environment` and a `features` table") from None


def _oidc(path, table, at) -> OidcConfig | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise _bad(path, f"{path}: [server.oidc] must be a table")
    _known(path, "server.oidc", table, _OIDC_KEYS)
    for key in ("jwks_file", "issuer", "audience"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise _bad(path, f"{path}: [server.oidc] needs `{key}`")
    algorithms = tuple(_list(path, table, "algorithms", str)) or OidcConfig.algorithms
    if any(a.upper().startswith("HS") or a.lower() == "none" for a in algorithms):
        raise _bad(path, f"{path}: [server.oidc] algorithms must be asymmetric (RS*, ES*, PS*, EdDSA)")
    return OidcConfig(at(table["jwks_file"]), table["issuer"], table["audience"],
                      _str(path, table, "principal_claim", "sub"), algorithms,
                      _int(path, table, "leeway_seconds", 30))


def describe(config: ServerConfig) -> dict[str, Any]:
    """What the server runs with, for its start-up log line (no secrets)."""
    return {"config": str(config.source) if config.source else None, "store": _redacted(config.store),
            "bundle_dir": str(config.bundle_dir), "grants": len(config.grants),
            "trusted_keys": [str(k) for k in config.registry.trusted_keys], "oidc": bool(config.oidc)}


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
    return url

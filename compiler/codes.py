"""The catalogue of diagnostic codes: stable, documented (docs/diagnostics.md is generated
from this table by ``python -m compiler.docgen``), each with the exit class it implies.

``usage`` codes mean the command line named something that is not there (exit 2); ``input``
codes mean the input could not be read or parsed as what it claims to be (exit 3); ``integrity``
codes mean a stored hash or signature does not match (exit 4); every other error-level code is
a policy finding (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    title: str
    input: bool = False      # True: the input could not be read/parsed (exit 3)
    integrity: bool = False  # True: a stored hash or signature does not match (exit 4)
    usage: bool = False      # True: the command line named something that is not there (exit 2)

    @property
    def exit_code(self) -> int:
        return 4 if self.integrity else 3 if self.input else 2 if self.usage else 1


def _table(*codes: Code) -> dict[str, Code]:
    return {c.code: c for c in codes}


CODES: dict[str, Code] = _table(
    # --- POLC0xx: the project file, reading files -------------------------------------------
    Code("POLC000", "more diagnostics were found than are shown"),
    Code("POLC001", "no policy.toml found", input=True),
    Code("POLC002", "a file could not be read (missing, a directory, unreadable)", input=True),
    Code("POLC003", "a file is not valid UTF-8", input=True),
    Code("POLC004", "a file is larger than the limit polc reads", input=True),
    Code("POLC005", "a path points outside the project tree", input=True),
    Code("POLC006", "invalid TOML syntax", input=True),
    Code("POLC007", "a file is empty", input=True),
    Code("POLC010", "policy.toml: unknown key"),
    Code("POLC011", "policy.toml: wrong type or value"),
    Code("POLC012", "a required documentation file is missing (the doc contract, required_docs)"),
    Code("POLC020", "the output directory cannot be written", input=True),
    Code("POLC021", "retired: bundle damage is reported by the bundle package as POLC705"),
    Code("POLC022", "no pipeline stage has that name (the API's until=)", usage=True),
    Code("POLC030", "a policy file given alone is inside a project that does not compile it", usage=True),
    Code("POLC031", "policy.toml: [build] runner version bounds are not versions, or min is above max"),
    Code("POLC032", "init: the target exists and is not a directory", usage=True),
    Code("POLC033", "init: a project file could not be written", input=True),
    Code("POLC034", "validate: nothing is built yet, so only the sources were checked"),
    Code("POLC035", "validate: the head is not what the sources compile to now"),
    # --- POLC1xx: model_policy.toml ---------------------------------------------------------
    Code("POLC100", "model_policy.toml does not match its schema"),
    Code("POLC101", "wrong type"),
    Code("POLC102", "unknown key"),
    Code("POLC103", "a required key is missing"),
    Code("POLC104", "value not allowed (enum)"),
    Code("POLC105", "a role that nothing in the policy uses (a misspelling?)"),
    Code("POLC110", "empty model list for a role"),
    Code("POLC111", "model listed twice for a role"),
    Code("POLC120", "budget is not positive"),
    Code("POLC121", "cost warn_threshold is above hard_limit"),
    Code("POLC130", "malformed endpoint URL"),
    Code("POLC140", "reference to an undefined role or stage"),
    Code("POLC150", "number cannot be represented canonically (NaN, Infinity, beyond ±(2^53 − 1))"),
    Code("POLC160", "a gate parameter table is empty or malformed"),
    # --- POLC2xx: .rules files and CEL expressions (gate/rule language) ---------------------
    # POLC200-249: CEL expressions (compiler/cel). Syntax-level codes are input codes (exit 3).
    Code("POLC200", "CEL syntax error", input=True),
    Code("POLC201", "CEL: unterminated string literal", input=True),
    Code("POLC202", "CEL: invalid literal (escape, out of range number, bad UTF-8)", input=True),
    Code("POLC203", "CEL: expression nested too deeply or too large", input=True),
    Code("POLC204", "CEL: reserved word used as an identifier", input=True),
    Code("POLC205", "CEL: unsupported syntax (message construction)", input=True),
    Code("POLC206", "CEL: wrong macro arguments", input=True),
    Code("POLC210", "CEL: unknown identifier"),
    Code("POLC211", "CEL: unknown field"),
    Code("POLC212", "CEL: unknown function or no matching overload"),
    Code("POLC213", "CEL: operands of incompatible types"),
    Code("POLC214", "CEL: macro over a value that is not a list or map"),
    Code("POLC215", "CEL: wrong number of arguments"),
    Code("POLC216", "CEL: invalid type declaration"),
    Code("POLC217", "CEL: expression has the wrong result type"),
    Code("POLC218", "CEL: a constant part can only fail (1 / 0, overflow, a bad conversion, an invalid RE2 pattern)"),
    Code("POLC220", "CEL: estimated cost is over the limit"),
    Code("POLC230", "CEL: evaluation error"),
    Code("POLC231", "CEL: runtime cost budget exceeded"),
    # POLC250-299: .rules files (compiler/rules). 250-255 are input codes (exit 3).
    Code("POLC250", "rules: syntax error", input=True),
    Code("POLC251", "rules: unterminated string", input=True),
    Code("POLC252", "rules: a `{` block is never closed", input=True),
    Code("POLC253", "rules: malformed message template (unbalanced `{`/`}`)", input=True),
    Code("POLC254", "rules: a [sources].rules pattern matches no file", input=True),
    Code("POLC255", "rules: an imported file does not exist", input=True),
    Code("POLC256", "rules: import cycle"),
    Code("POLC257", "rules: invalid input type declaration"),
    Code("POLC258", "rules: unknown drift severity (INFO, WARN, BLOCK)"),
    Code("POLC260", "rules: a gate name is declared twice"),
    Code("POLC261", "rules: a drift rule id is declared twice"),
    Code("POLC262", "rules: a name is declared twice or redeclares params/old/new"),
    Code("POLC263", "rules: a gate has no condition"),
    Code("POLC264", "rules: a gate reads params but model_policy.toml has no [gates.NAME] table"),
    Code("POLC265", "rules: a [gates.NAME] table has no gate rules"),
    Code("POLC266", "rules: no such gate or drift rule in the snapshot", usage=True),
    Code("POLC267", "rules: a [gates.NAME] parameter has a type its gate cannot use"),
    Code("POLC270", "rules: the CEL engine could not check an expression (internal)"),
    Code("POLC271", "rules: the snapshot's rules block or expression IR is malformed or of an unknown format"),
    # --- POLC3xx: learning surfaces, weights, deltas, storage -------------------------------
    # POLC300-329: learning surfaces (compiler/surface). 300-302 are input codes (exit 3).
    Code("POLC300", "surface YAML syntax error", input=True),
    Code("POLC301", "surface YAML: unsafe or unsupported tag, anchor or alias", input=True),
    Code("POLC302", "surface YAML: a key appears twice in one mapping", input=True),
    Code("POLC303", "surface does not match its schema"),
    Code("POLC304", "surface: wrong type"),
    Code("POLC305", "surface: unknown key"),
    Code("POLC306", "surface: a required key is missing"),
    Code("POLC307", "surface: value not allowed (enum)"),
    Code("POLC310", "surface: unknown feature transform"),
    Code("POLC311", "surface: bounds are not finite with lower < upper"),
    Code("POLC312", "surface: a feature or safe mode is declared twice"),
    Code("POLC313", "surface: minmax feature without bounds (defaults to [0, 1])"),
    Code("POLC314", "surface: reward weight not finite or window not positive"),
    Code("POLC315", "surface: unknown symbolic_descent operator or gradient"),
    Code("POLC316", "surface: curvature control out of range"),
    Code("POLC317", "surface: safe-mode toggle is not NAME=VALUE"),
    Code("POLC318", "surface YAML: nested too deeply, or a number too long to read", input=True),
    Code("POLC319", "surface YAML: a mapping key is not a string (YAML 1.1 reads yes/no/on/off as booleans)", input=True),
    Code("POLC320", "surface changed without bumping surface_version"),
    Code("POLC321", "surface_version is lower than the previous build's"),
    Code("POLC322", "the previous build's surface could not be read; version check skipped"),
    # POLC330-339: weights (policy.weights.bin)
    Code("POLC330", "weights file cannot be read as a non-pickle .npy array", input=True),
    Code("POLC331", "weights dtype or shape not supported"),
    Code("POLC332", "weights contain NaN or infinity"),
    Code("POLC333", "weights file does not match its recorded sha256, size, dtype or shape"),
    # POLC340-349: oplus deltas and delta_log.jsonl
    Code("POLC340", "delta shape does not match the weights"),
    Code("POLC341", "delta dtype does not match the weights"),
    Code("POLC342", "delta or learning rate is NaN, infinite or out of range"),
    Code("POLC343", "delta file cannot be read as a non-pickle .npy array", input=True),
    Code("POLC344", "policy_hash_after does not match the written weights; update reverted"),
    Code("POLC345", "delta_log.jsonl is malformed", input=True),
    Code("POLC346", "delta log hash chain or replay does not match the bundles"),
    Code("POLC347", "the bundle has no weights to update"),
    # POLC350-359: bundles on disk
    Code("POLC350", "bundle, head pointer or archive not found or unreadable", input=True),
    Code("POLC351", "retired: bundle damage is reported by the bundle package as POLC704"),
    Code("POLC352", "retired: bundle damage is reported by the bundle package as POLC702/POLC703"),
    # POLC360-369: capsule store (mv2:// URIs) and dual-storage parity
    Code("POLC360", "capsule store cannot be opened or is not a polc capsule", input=True),
    Code("POLC361", "capsule and filesystem bytes differ (dual-storage parity)", integrity=True),
    Code("POLC362", "object missing from the capsule or the filesystem", integrity=True),
    Code("POLC363", "malformed mv2:// URI", input=True),
    Code("POLC364", "the capsule's event log does not chain (a row was edited, removed or reordered)", integrity=True),
    # POLC370-379: policy_hash_ledger.jsonl
    Code("POLC370", "policy_hash_ledger.jsonl is malformed", input=True),
    Code("POLC371", "a ledger row does not match the bundle on disk"),
    Code("POLC372", "the ledger hash chain is broken"),
    # POLC380-389: archives and restore
    Code("POLC380", "the archive folder already exists (archives are append-only)"),
    Code("POLC381", "archive verification failed"),
    # POLC382-389: retention (polc gc)
    Code("POLC382", "gc: another writer holds the storage lock; nothing was removed"),
    Code("POLC383", "gc: a bundle does not verify and is kept for inspection"),
    Code("POLC384", "gc: the head, ledger, a run receipt or the registry cannot be read; nothing was removed",
         input=True),
    # POLC390-399: migrations and backfill
    Code("POLC390", "migration source is not a policy_manifest@v1 policy"),
    Code("POLC391", "legacy pickled weights refused without --allow-pickle"),
    Code("POLC392", "migrated bundle failed verification; migration rolled back"),
    Code("POLC393", "unpickling legacy weights runs code from the file"),
    Code("POLC394", "migrate has no current policy to carry the legacy weights into (build first, or --policy)",
         usage=True),
    Code("POLC395", "retired: bundle damage is reported by the bundle package as POLC706"),
    Code("POLC396", "the legacy policy_hash is not the sha256 of the legacy weights", integrity=True),
    Code("POLC397", "the legacy policy.json records no policy_hash; its weights cannot be checked"),
    Code("POLC398", "a delta names no attestation root, but the policy's surface requires attested deltas",
         usage=True),
    # --- POLC4xx: drift review --------------------------------------------------------------
    # POLC400-429: diff inputs (compiler/diff/inputs.py, artifacts.py, gitrev.py)
    Code("POLC400", "diff input does not exist or cannot be read", input=True),
    Code("POLC401", "drift: NEW does not compile (a BLOCK finding carrying the compiler's diagnostics)"),
    Code("POLC402", "drift: a drift rule could not be evaluated (reported as a finding, never passed)"),
    Code("POLC403", "drift: a drift rule OLD has is gone from NEW (it still ran on this diff; WARN finding)"),
    Code("POLC410", "unknown git revision", input=True),
    Code("POLC411", "a revision was given outside a git repository", input=True),
    Code("POLC412", "a revision is missing from a shallow clone", input=True),
    Code("POLC413", "git failed or is not installed", input=True),
    Code("POLC414", "the revision has no policy project at this path", input=True),
    Code("POLC420", "diff input is not a polc snapshot, bundle or head pointer", input=True),
    Code("POLC422", "retired: bundle damage is reported by the bundle package as POLC702-POLC706"),
    Code("POLC423", "retired: bundle damage is reported by the bundle package as POLC706"),
    # POLC430-449: the review itself and the [drift] section of policy.toml
    Code("POLC430", "OLD does not compile, so there is nothing to compare against", input=True),
    Code("POLC440", "[drift] severity override is not INFO, WARN or BLOCK"),
    Code("POLC441", "[[drift.accept]] entry is incomplete or malformed; it accepts nothing"),
    Code("POLC442", "a drift approval has expired; its finding counts again"),
    Code("POLC443", "a drift approval matches no finding of this diff"),
    Code("POLC444", "[drift] names a rule no loaded drift rule has"),
    Code("POLC445", "drift rules could not be loaded; only the structural diff was computed"),
    Code("POLC446", "polc diff was given the wrong arguments"),
    Code("POLC447", "a snapshot was migrated to the current schema before comparing"),
    # POLC450-469: replaying recorded decisions in review (compiler/impact/replay*.py, polc diff --replay)
    Code("POLC450", "a --replay path does not exist, cannot be read or is not a regular file (a FIFO, a device)",
         input=True),
    Code("POLC451", "replay: the last record of a run log is torn (a write was cut off); it was not replayed"),
    Code("POLC452", "replay: a record is damaged (not a JSON object, or missing what it decides on); skipped"),
    Code("POLC453", "replay: decisions recorded under another policy than OLD were skipped (counted)"),
    Code("POLC454", "replay: recorded decisions that OLD does not answer the same way (not counted as changes)"),
    Code("POLC455", "a --replay path holds no run log (a capsule holds snapshots, not decisions)", input=True),
    Code("POLC456", "a --replay glob matches nothing", input=True),
    Code("POLC457", "replay: gate evaluations recorded without their metrics cannot be replayed"),
    Code("POLC458", "replay: no decision was replayed (none under OLD, or NEW does not compile)"),
    Code("POLC459", "decision impact: what a change does to spending and to recorded decisions (a note)"),
    # --- POLC5xx: model_config, routing weights, prompts, optimizer metadata -----------------
    # POLC500-509: prompt templates (compiler/passes/prompts.py)
    Code("POLC500", "prompt template syntax error (Jinja2)", input=True),
    Code("POLC501", "prompt template uses a variable that is not declared"),
    Code("POLC502", "declared prompt variable is never used by the template"),
    Code("POLC503", "prompt template accesses an attribute the sandbox forbids"),
    Code("POLC504", "prompt needs exactly one of `template` and `template_file`"),
    Code("POLC505", "prompt demo does not match the declared variables"),
    Code("POLC506", "prompt template uses include/extends/import (templates must be self-contained)"),
    # POLC510-519: model configuration (compiler/passes/model_config.py)
    Code("POLC510", "a routed model has no model_config entry and there is no [model_config.default]"),
    Code("POLC511", "a model_config entry that no route uses"),
    Code("POLC512", "a negative price"),
    Code("POLC513", "a model setting out of range (context window, output tokens, temperature)"),
    Code("POLC514", "a model_config entry without a provider"),
    Code("POLC515", "a retirement date that is not a date"),
    Code("POLC516", "a model retires within the warning window ([check].retirement_warning_days)"),
    Code("POLC517", "a model's retirement date has passed"),
    # POLC520-529: routing weights (compiler/passes/weights.py)
    Code("POLC520", "weights for a role that routing does not define"),
    Code("POLC521", "a weight for a model that is not a candidate of the role"),
    Code("POLC522", "a negative weight"),
    Code("POLC523", "a role's weights sum to zero"),
    Code("POLC524", "a candidate of a weighted role has no weight (it gets no traffic)"),
    # POLC530-539: optimizer metadata (compiler/passes/optimizer.py)
    Code("POLC530", "optimizer metadata needs exactly one of `name` and `file`"),
    Code("POLC531", "the optimizer file is not valid JSON", input=True),
    Code("POLC532", "the optimizer metadata does not match its schema"),
    Code("POLC533", "a dataset hash that is not a sha256 (64 hex characters)"),
    Code("POLC534", "a dataset named twice"),
    # POLC540-549: runtime lookups of these blocks (compiler/runtime/models.py, prompts.py)
    Code("POLC540", "runtime: the policy configures no such model and has no default", usage=True),
    Code("POLC541", "runtime: the policy has no prompt for this signature", usage=True),
    # POLC560-579: the budget prover (compiler/impact/prover.py, compiler/passes/budget_proof.py)
    Code("POLC560", "a stage's token budget is larger than the context window of a model routed to it"),
    Code("POLC561", "a run can spend more than hard_limit: one call costs more than the gap from warn_threshold"),
    Code("POLC562", "a routed model has no price while the policy has cost limits"),
    Code("POLC563", "polc explain budget: unknown stage", usage=True),
    # --- POLC6xx: registry ------------------------------------------------------------------
    Code("POLC600", "registry: a request does not match the public contracts schema"),
    Code("POLC601", "registry: the registry URL or its configuration is unusable"),
    Code("POLC602", "registry: the registry database cannot be opened or used", input=True),
    Code("POLC610", "retired: bundle damage is reported by the bundle package as POLC700"),
    Code("POLC611", "retired: bundle damage is reported by the bundle package as POLC702-POLC706"),
    Code("POLC612", "registry: no registered bundle by that id", usage=True),
    Code("POLC613", "registry: the bundle version is already registered with another digest"),
    Code("POLC614", "registry: the bundle belongs to another policy than the scope"),
    Code("POLC615", "registry: at resolve time, the state table disagrees with the audit log (integrity)", integrity=True),
    Code("POLC616", "registry: the scope is unknown (no event ever named it)", usage=True),
    Code("POLC617", "registry: the database refused a change made outside the registry's transitions", integrity=True),
    Code("POLC618", "registry: the bundle is already registered with another version or policy"),
    Code("POLC620", "registry: a gate receipt cannot be read or parsed", input=True),
    Code("POLC621", "registry: the gate receipt is not PASS"),
    Code("POLC622", "registry: the gate receipt names another bundle"),
    Code("POLC623", "registry: the gate receipt is not signed by a trusted key (integrity)"),
    Code("POLC624", "registry: a signing or trusted key cannot be loaded", input=True),
    Code("POLC630", "registry: the lifecycle does not allow that transition"),
    Code("POLC631", "registry: the actor's role may not perform the operation"),
    Code("POLC632", "registry: compare-and-set failed (the scope's promoted bundle is another)"),
    Code("POLC633", "registry: the scope has no promoted bundle"),
    Code("POLC634", "registry: nothing to roll back to"),
    Code("POLC635", "registry: the bundle's compatibility needs are not met by the scope"),
    Code("POLC636", "registry: a gate receipt is for a gate the policy does not require"),
    Code("POLC637", "registry: a concurrent write conflicted or the database was busy (retry)"),
    Code("POLC638", "registry: a gate the policy requires (before publish or promotion) has no PASS receipt"),
    Code("POLC639", "registry audit: the log was re-chained, truncated or rewound since a checkpoint", integrity=True),
    Code("POLC640", "registry audit: the event sequence has a gap or a duplicate"),
    Code("POLC641", "registry audit: an event does not match its hash (edited)"),
    Code("POLC642", "registry audit: an event does not link to its predecessor (deleted or inserted)"),
    Code("POLC643", "registry audit: the log does not end where the head record says"),
    Code("POLC644", "registry audit: the state table disagrees with the event log"),
    Code("POLC645", "registry audit: a bundle record does not match its registration event"),
    Code("POLC646", "registry audit: an event's indexed columns disagree with its hashed body"),
    Code("POLC647", "registry audit: a checkpoint file cannot be read or is not a checkpoint", input=True),
    Code("POLC648", "registry audit: a checkpoint's signature does not verify with the given key", integrity=True),
    Code("POLC650", "gate run: the metrics file cannot be read or parsed", input=True),
    Code("POLC651", "gate run: the gate did not pass"),
    # --- POLC7xx: runtime -------------------------------------------------------------------
    # POLC700-719: bundles and head pointers, for every reader (compiler/bundle: the one verifier)
    Code("POLC700", "bundle: a snapshot, bundle or head pointer could not be found or read", input=True),
    Code("POLC701", "bundle: a loose snapshot or head pointer is not valid JSON of its kind", input=True),
    Code("POLC702", "bundle: a snapshot's content hash or policy_id does not match, or it is not canonical", integrity=True),
    Code("POLC703", "bundle: a manifest's sha256, schema or policy section does not match", integrity=True),
    Code("POLC704", "bundle: a file is missing, unlisted, not a plain file, or does not match the manifest or snapshot", integrity=True),
    Code("POLC705", "bundle: a bundle is not the one its name (directory, pointer, annotation) says", integrity=True),
    Code("POLC706", "bundle: the head pointer names a bundle that is not there, or another one", integrity=True),
    Code("POLC707", "bundle: no bundle has this policy_bundle_id (or the prefix is too short)", usage=True),
    Code("POLC708", "bundle: a policy_bundle_id prefix matches several bundles", usage=True),
    Code("POLC709", "runtime: the snapshot's schema_version cannot be read by this runtime", input=True),
    Code("POLC710", "bundle: a head pointer is damaged (integrity)", integrity=True),
    Code("POLC711", "bundle: the head pointer is a legacy v1 policy.json (migrate it)", input=True),
    Code("POLC720", "runtime: unknown role", usage=True),
    Code("POLC721", "runtime: unknown gate", usage=True),
    Code("POLC722", "runtime: a gate cannot be built from the snapshot"),
    Code("POLC730", "runtime: an operation would exceed a budget and was refused"),
    Code("POLC731", "runtime: a budget amount is not a finite, non-negative number"),
    Code("POLC732", "runtime: unknown stage in a budget operation", usage=True),
    Code("POLC740", "runtime: a safe-mode environment variable is neither on nor off"),
    Code("POLC741", "runtime: unknown capture kind"),
    Code("POLC742", "runtime: the bundle's runner version bounds exclude this runtime's version", input=True),
    Code("POLC743", "runtime: the bundle requires features this runner does not provide", input=True),
    Code("POLC744", "runtime: no run has this id (in the workspace or the capsule's event log)", usage=True),
    Code("POLC750", "runtime: a run, its receipt or its event log cannot be read", input=True),
    Code("POLC751", "runtime: invalid run id", usage=True),
    Code("POLC752", "runtime: the run already exists"),
    Code("POLC753", "runtime: a run's policy reference is missing or malformed", input=True),
    Code("POLC754", "runtime: a captured snapshot does not match its reference (integrity)", integrity=True),
    Code("POLC755", "runtime: a run log's hash chain is broken (a record was edited, removed or reordered)",
         integrity=True),
    Code("POLC760", "runtime: hot reload refused a new snapshot; the old one stays live"),
    # POLC765-769: shadow evaluation (compiler/runtime/shadow.py)
    Code("POLC765", "runtime: with_shadow needs a loaded candidate snapshot"),
    Code("POLC766", "runtime: the shadow window is not a positive number of decisions"),
    # --- POLC8xx: registry server (polc serve), its clients and routers following a scope -------
    Code("POLC800", "server: the configuration file cannot be read or is invalid", input=True),
    Code("POLC801", "server: the request body is not JSON of the right type, or is too large"),
    Code("POLC802", "server: no valid credentials (missing, unknown, expired or revoked token)"),
    Code("POLC803", "server: an OIDC token does not verify against the configured JWKS"),
    Code("POLC804", "server: an Idempotency-Key was reused with another request"),
    Code("POLC805", "server: a mutating request has no valid Idempotency-Key"),
    Code("POLC806", "client: the registry server cannot be reached", input=True),
    Code("POLC807", "client: the registry server's answer is not a response polc understands", input=True),
    Code("POLC808", "server: an uploaded bundle does not verify", integrity=True),
    Code("POLC809", "server: no such route or method"),
    Code("POLC810", "token: no such token, or a bad expiry"),
    Code("POLC811", "router: the registry served a checkpoint older than one already seen (rewound)", integrity=True),
    Code("POLC812", "router: a bundle or answer from the registry cannot be fetched or read", input=True),
    Code("POLC813", "console: a form post came from another site, or its CSRF token is missing or stale"),
    # --- POLC9xx: OCI distribution ------------------------------------------------------------
    Code("POLC900", "oci: a reference is not oci://HOST/REPO:TAG or oci://HOST/REPO@sha256:DIGEST", usage=True),
    Code("POLC901", "oci: the registry cannot be reached (connection, TLS or time-out)", input=True),
    Code("POLC902", "oci: the registry refused the credentials (401/403)", input=True),
    Code("POLC903", "oci: no such tag, digest or repository in the registry", usage=True),
    Code("POLC904", "oci: the manifest is not a polc bundle artifact (artifact type, config or layers)", input=True),
    Code("POLC905", "oci: a manifest or layer is larger than the configured limit", input=True),
    Code("POLC906", "oci: a manifest or blob does not match its digest or size (integrity)", integrity=True),
    Code("POLC908", "oci: the registry answered with an error or a response polc cannot read", input=True),
    Code("POLC909", "oci: the Docker credentials file cannot be read", input=True),
    Code("POLC910", "oci: the registry refused to store a blob or manifest"),
    Code("POLC920", "oci: no receipt of a required gate is attached to the bundle"),
    Code("POLC921", "oci: an attached receipt cannot be read as a gate receipt", input=True),
    Code("POLC922", "oci: a receipt given to push names another bundle"),
)


def is_input_code(code: str) -> bool:
    entry = CODES.get(code)
    return bool(entry and entry.input)


def exit_code_for(diagnostics: Iterable) -> int:
    """0 when no error; 4 on an integrity failure; 3 when an input could not be read or parsed; else 1."""
    codes = [CODES[d.code].exit_code if d.code in CODES else 1 for d in diagnostics if d.is_error]
    return max(codes, default=0)

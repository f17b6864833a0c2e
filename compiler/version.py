__version__ = "0.1.0"

#: The PolicySnapshot schema this compiler writes (spec 001).
SNAPSHOT_SCHEMA_VERSION = "1.0"
#: The manifest schema this compiler writes (spec 000 §1.2).
MANIFEST_SCHEMA_VERSION = "policy_manifest@v2"

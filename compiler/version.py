__version__ = "0.1.0"

#: The PolicySnapshot schema this compiler writes (schemas/policy_snapshot.schema.json).
SNAPSHOT_SCHEMA_VERSION = "1.0"
#: The manifest schema this compiler writes (schemas/policy_manifest.schema.json).
MANIFEST_SCHEMA_VERSION = "policy_manifest@v2"

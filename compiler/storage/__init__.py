"""Long-horizon storage (docs/storage.md).

``weights`` (the non-executable weights format), ``bundles`` (read and verify a bundle,
derive a new one), ``deltas`` (oplus updates and ``delta_log.jsonl``), ``ledger``
(``policy_hash_ledger.jsonl``), ``capsule`` (the SQLite content store behind ``mv2://``),
``archive`` (rollback-safe archives and restore), ``migrations`` (manifest v1 → v2) and
``backfill`` (head pointers re-pointed to manifest identities).
"""

"""Long-horizon storage (spec 000 §1–§4, spec 001 dual storage).

``weights`` (the non-executable weights format), ``bundles`` (read and verify a bundle,
derive a new one), ``deltas`` (oplus updates and ``delta_log.jsonl``), ``ledger``
(``policy_hash_ledger.jsonl``), ``capsule`` (the SQLite content store behind ``mv2://``),
``archive`` (rollback-safe archives and restore), ``migrations`` (manifest v1 → v2) and
``backfill`` (head pointers re-pointed to manifest identities).
"""

#!/bin/bash
# Policy Config Drift Guard (spec 000 §8): lint, record a ledger snapshot, and block the commit
# whenever the change carries unapproved BLOCK drift.
#   git config core.hooksPath .githooks   (and name this file, or a wrapper, .githooks/pre-commit)
set -euo pipefail
POLC="${POLC:-polc}"
"$POLC" check
if git rev-parse --verify --quiet HEAD >/dev/null; then
  echo "[policy-drift-guard] comparing HEAD -> working tree"
  "$POLC" diff --against HEAD        # exit 1 on BLOCK: the commit stops
fi
if [ -n "${POLC_LEDGER_NOTES:-}" ]; then
  "$POLC" build >/dev/null
  "$POLC" ledger snapshot --notes "$POLC_LEDGER_NOTES"
fi

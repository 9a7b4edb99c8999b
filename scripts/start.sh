#!/usr/bin/env bash
# Sets up (idempotent) and starts one Tributary node with zero config: 127.0.0.1:9092, data under ./data.
# Extra arguments go to the daemon, e.g.  bash scripts/start.sh --override num.partitions=3
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO_ROOT/scripts/setup.sh"
# The node/pnpm setup.sh resolved (it may have installed them under /usr/local or $HOME/.local).
. "$REPO_ROOT/.tools/env.sh"
NODE_BIN="$(command -v node)"
cd "$REPO_ROOT"  # zero config keeps data under ./data, i.e. the repo's data/ (gitignored)
exec "$NODE_BIN" "$REPO_ROOT/packages/server/bin/tributary.js" "$@"

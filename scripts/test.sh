#!/usr/bin/env bash
# Sets up (idempotent), installs the e2e client deps, the Docker engine and the images, runs every
# package's typecheck, lint and tests (`pnpm test`), and ends with one line: `tests: N passed, N failed`.
# Exits non-zero on any failure.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
bash scripts/setup.sh
bash scripts/setup-test-deps.sh
. "$REPO_ROOT/.tools/env.sh"
# Docker engine and images for e2e/test/containers (after env.sh: the base image takes the node on PATH).
# When this fails the run goes on: that suite reports why (from .tools/docker/status) and fails in CI,
# where containers are required; elsewhere it skips.
bash scripts/setup-docker.sh || printf '[test] container setup failed (above); the container suite will report it\n' >&2

LOG_DIR="$REPO_ROOT/.tools/test-logs"
mkdir -p "$LOG_DIR"
LOG="$LOG_DIR/test-$(date +%Y%m%d-%H%M%S).log"
status=0
# --continue: one failing package must not hide the results of the others.
pnpm test --continue "$@" 2>&1 | tee "$LOG" || status=$?
node scripts/test-summary.ts "$LOG" "$status"

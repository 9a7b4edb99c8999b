#!/usr/bin/env bash
# Installs the Debian packages the e2e tests use (kcat, confluent-kafka-python, kafka-python and the
# python codec modules) when missing. Runs apt-get update at most once. Uses sudo only when not root.
set -euo pipefail

log() { printf '[setup-test-deps] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "not root and no sudo: install the packages below by hand"; SUDO="false"; }
  [ "$SUDO" = "false" ] || SUDO="sudo"
fi

wanted=(kcat python3-confluent-kafka python3-kafka python3-snappy python3-lz4 python3-zstandard)
missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$pkg"); fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  log "all present: ${wanted[*]}"
  exit 0
fi
if [ "$SUDO" = "false" ]; then log "missing: ${missing[*]}"; exit 1; fi

log "missing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
# Codec modules are optional: install only the ones this Debian release has.
installable=()
for pkg in "${missing[@]}"; do
  if apt-cache show "$pkg" >/dev/null 2>&1; then installable+=("$pkg"); else log "not available here, skipping: $pkg"; fi
done
if [ "${#installable[@]}" -gt 0 ]; then
  $SUDO apt-get install -y -q --no-install-recommends "${installable[@]}" >&2
fi
for mod in confluent_kafka kafka; do
  /usr/bin/python3 -c "import $mod" || { log "python module $mod still missing"; exit 1; }
done
command -v kcat >/dev/null || { log "kcat still missing"; exit 1; }
log "installed: ${installable[*]}"

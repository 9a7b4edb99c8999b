#!/usr/bin/env bash
# Idempotent container setup for the container e2e suite (e2e/test/containers): the Docker engine from
# Debian's docker.io and a compose tool, a running dockerd (vfs storage driver), a local base image holding this host's Node 24
# (no image registry is reachable from CI, so `node:24-slim` cannot be pulled) and the Tributary image built
# from the working tree with deploy/Dockerfile and BASE_IMAGE set to that base. Fast path: when the engine
# answers and both images are current, it only checks them.
#
# Needs root or sudo (installing packages, starting dockerd); the user running the tests also needs access
# to the engine's socket (root, or the docker group).
#
#   TRIB_DOCKER_BASE_IMAGE   base image tag       (default tributary-base:node24)
#   TRIB_DOCKER_IMAGE        Tributary image tag  (default tributary:test)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${TRIB_DOCKER_BASE_IMAGE:-tributary-base:node24}"
IMAGE="${TRIB_DOCKER_IMAGE:-tributary:test}"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${TRIB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
WORK_DIR="$REPO_ROOT/.tools/docker"
DOCKERD_LOG="$WORK_DIR/dockerd.log"
DOCKERD_START_TIMEOUT_S=60
NODE_MAJOR_MIN=24

# The container suite reads STATUS_FILE to say why it cannot run ("ok" after a good setup).
STATUS_FILE="$WORK_DIR/status"

log() { printf '[setup-docker] %s\n' "$*" >&2; }
# fail WHAT WHY WHAT-TO-DO
fail() {
  local message
  message="$(printf 'FAILED: %s\n  why: %s\n  fix: %s' "$1" "$2" "$3")"
  printf '%s\n' "$message" > "$STATUS_FILE" 2>/dev/null || true
  printf '%s\n' "$message" | sed 's/^/[setup-docker] /' >&2
  exit 1
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
fi
as_root() {
  [ "$SUDO" != "none" ] || fail "running '$*'" "not root and no password-less sudo" "run as root, or give this user sudo"
  $SUDO "$@"
}

mkdir -p "$WORK_DIR"
rm -f "$STATUS_FILE"

# 1. Engine, CLI (Debian's docker.io: dockerd, containerd, runc and a docker CLI with BuildKit built in) and compose.
apt_updated=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -q >&2 || fail "apt-get update" "Debian's package mirror did not answer" "check the network, then rerun"; apt_updated=1; fi
  as_root apt-get install -y -q --no-install-recommends "$@" >&2 || fail "apt-get install $*" "see the apt output above" "install the packages by hand, then rerun"
}
if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ]; then
  log "docker engine missing: installing docker.io"
  apt_install docker.io
fi

# A compose tool for the suite that runs deploy/compose files as they are: the compose plugin when the CLI
# has it, else Debian's docker-compose (1.29, Python; it speaks to the engine through its socket).
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  log "no compose tool: installing Debian's docker-compose"
  apt_install docker-compose
fi

# The CLI that builds: a docker CLI newer than 23 without the buildx plugin refuses BuildKit builds, and the
# legacy builder ignores deploy/Dockerfile.dockerignore (it would send node_modules and .git as context).
# docker.io's own 20.10 CLI has BuildKit built in.
DOCKER=docker
if ! docker buildx version >/dev/null 2>&1; then DOCKER=/usr/bin/docker; fi

# 2. A running engine.
engine_up() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }
if ! engine_up; then
  if [ -S /var/run/docker.sock ] && pgrep -x dockerd >/dev/null; then
    engine_err="$(timeout 10 "$DOCKER" info 2>&1 | tail -3 || true)"
    fail "docker info" "dockerd runs but does not answer this user: $engine_err" "run as root or add this user to the docker group"
  fi
  log "no engine answers: starting dockerd (vfs storage driver), log in $DOCKERD_LOG"
  # vfs needs no overlay support from the kernel or the filesystem under /var/lib/docker; it copies each
  # layer in full, which is slow for big images but ours are small.
  as_root sh -c "nohup dockerd --storage-driver=vfs >'$DOCKERD_LOG' 2>&1 </dev/null &"
  waited=0
  until engine_up; do
    if [ "$waited" -ge "$DOCKERD_START_TIMEOUT_S" ]; then
      tail -20 "$DOCKERD_LOG" >&2 || true
      fail "starting dockerd" "no answer on /var/run/docker.sock after ${DOCKERD_START_TIMEOUT_S} s (its log is above)" \
        "read $DOCKERD_LOG; a container runtime needs cgroups and iptables from the kernel"
    fi
    sleep 1; waited=$((waited + 1))
  done
  log "dockerd answers after ${waited} s"
fi
log "engine $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null), storage $("$DOCKER" info --format '{{.Driver}}' 2>/dev/null)"

# 3. The base image: a minimal Debian 12 (debootstrap from Debian's mirror, the same userland as node:24-slim)
#    with this host's Node 24 binary and npm. Rebuilt when the host's node version changes.
NODE_BIN="$(readlink -f "$(command -v node)")" || fail "finding node" "node is not on PATH" "run scripts/setup.sh first"
NODE_VERSION="$("$NODE_BIN" --version)"
[ "${NODE_VERSION#v}" != "$NODE_VERSION" ] && [ "$(echo "${NODE_VERSION#v}" | cut -d. -f1)" -ge "$NODE_MAJOR_MIN" ] \
  || fail "checking node" "node at $NODE_BIN is $NODE_VERSION, the image needs >= $NODE_MAJOR_MIN" "run scripts/setup.sh first"
base_version="$("$DOCKER" image inspect --format '{{index .Config.Labels "org.tributary.node-version"}}' "$BASE_IMAGE" 2>/dev/null || true)"
if [ "$base_version" != "$NODE_VERSION" ]; then
  log "base image $BASE_IMAGE ${base_version:+holds node $base_version; }building it with node $NODE_VERSION"
  command -v debootstrap >/dev/null || apt_install debootstrap
  NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$NPM_DIR/package.json" ] || fail "finding npm" "no npm package next to $(command -v npm)" "install npm (Debian's nodejs or the npm package), then rerun"
  ROOTFS="$WORK_DIR/rootfs"
  as_root rm -rf "$ROOTFS"
  started=$SECONDS
  as_root debootstrap --variant=minbase "$DEBIAN_SUITE" "$ROOTFS" "$DEBIAN_MIRROR" > "$WORK_DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK_DIR/debootstrap.log" >&2; fail "debootstrap $DEBIAN_SUITE" "see its log above ($WORK_DIR/debootstrap.log)" "check that $DEBIAN_MIRROR answers, then rerun"; }
  # Trim what a runtime image does not need: package caches, docs, manuals, translations.
  as_root sh -c "cd '$ROOTFS' && rm -rf var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* usr/share/doc/* usr/share/man/* usr/share/info/* \
    && find usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +"
  as_root mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/etc/ssl/certs"
  as_root cp "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
  # The npm package ships node with debug info; without it the image is ~20 MB smaller.
  if command -v strip >/dev/null; then as_root strip "$ROOTFS/usr/local/bin/node"; fi
  as_root cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
  as_root ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  as_root ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
  # The host reaches the npm registry through the CAs in its trust store (NODE_EXTRA_CA_CERTS, npm's
  # cafile); the image's npm and pnpm reach it the same way inside `docker build`.
  CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
  ca_env=()
  if [ -f "$CA_BUNDLE" ]; then
    as_root cp "$CA_BUNDLE" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
    ca_env=(-c "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt")
  fi
  as_root chroot "$ROOTFS" /usr/local/bin/node --version >/dev/null || fail "running node in the new root filesystem" "the binary does not run against Debian $DEBIAN_SUITE's glibc" "use a node >= $NODE_MAJOR_MIN built for glibc 2.36"
  as_root tar -C "$ROOTFS" -c . | "$DOCKER" import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "${ca_env[@]}" \
      -c "LABEL org.tributary.node-version=$NODE_VERSION" -c 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null \
    || fail "docker import $BASE_IMAGE" "the engine refused the root filesystem" "read $DOCKERD_LOG"
  as_root rm -rf "$ROOTFS"
  # A first container proves the engine can run containers at all (cgroups, namespaces, networking).
  "$DOCKER" run --rm --network none "$BASE_IMAGE" node -e 'process.exit(0)' >/dev/null 2>&1 \
    || fail "running a container from $BASE_IMAGE" "$("$DOCKER" run --rm --network none "$BASE_IMAGE" node -e 0 2>&1 | tail -3)" "read $DOCKERD_LOG"
  log "base image $BASE_IMAGE built in $((SECONDS - started)) s"
fi

# 4. The Tributary image from the working tree (layer cache makes an unchanged tree a fast no-op).
started=$SECONDS
IMAGE_LABEL="org.tributary.built-by=setup-docker"
DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain -f "$REPO_ROOT/deploy/Dockerfile" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --label "$IMAGE_LABEL" -t "$IMAGE" "$REPO_ROOT" > "$WORK_DIR/build.log" 2>&1 \
  || { tail -40 "$WORK_DIR/build.log" >&2; fail "docker build $IMAGE" "see the build output above ($WORK_DIR/build.log)" "fix the Dockerfile or the step that failed, then rerun"; }
# vfs stores every layer as a full copy (~5 GB per build of this image): drop the images earlier builds
# left untagged, only ours.
"$DOCKER" image prune -f --filter "label=$IMAGE_LABEL" >/dev/null || log "could not prune earlier untagged builds (disk use grows)"
echo ok > "$STATUS_FILE"
log "image $IMAGE ready in $((SECONDS - started)) s (base $BASE_IMAGE)"

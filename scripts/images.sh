#!/usr/bin/env bash
# Build AgentTier's sandbox images into the engine, without any container registry.
#
#   1. debian:bookworm-slim: if the engine lacks it, bootstrap a minbase rootfs with mmdebstrap
#      (tarball cached under $AGENTTIER_CACHE_DIR, default /var/cache/agenttier) and `docker import`
#      it. The rootfs gets the host's Debian apt sources and Acquire:: options, so `apt-get`
#      inside builds reaches the same mirror the host uses.
#   2. images/<name>/Dockerfile -> agenttier/<name>:dev, built with `docker build --network host`.
#      Each image carries io.agenttier.dockerfile-sha=<sha256 of images/<name>/ contents> and
#      io.agenttier.base-id=<base image id>; a build is skipped when the tag already has both.
#
# Idempotent and safe to run concurrently (serialised by a lock). Progress goes to stderr.
# Env: AGENTTIER_DOCKER_HOST (else DOCKER_HOST, else unix:///run/agenttier/docker.sock)
#      IMAGES="minimal-shell general-coding"   build a subset (space or comma separated)
#      AGENTTIER_CACHE_DIR                      where the rootfs tarball and lock live
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DOCKER_HOST=${AGENTTIER_DOCKER_HOST:-${DOCKER_HOST:-unix:///run/agenttier/docker.sock}}
# The legacy builder honours --network host everywhere and needs no buildx plugin.
export DOCKER_BUILDKIT=0
CACHE_DIR=${AGENTTIER_CACHE_DIR:-/var/cache/agenttier}
BASE_REF=debian:bookworm-slim
ROOTFS_TAR=$CACHE_DIR/debian-bookworm-minbase.tar

log() { echo "images: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

docker version >/dev/null 2>&1 || die "no engine answers at $DOCKER_HOST (run scripts/engine.sh first)"

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/images.lock"
if ! flock -n 9; then
  log "another images.sh holds $CACHE_DIR/images.lock; waiting"
  flock 9
fi

# --- which images --------------------------------------------------------------------------------
all_images=()
for d in "$ROOT"/images/*/; do
  [ -f "$d/Dockerfile" ] && all_images+=("$(basename "$d")")
done
if [ -n "${IMAGES:-}" ]; then
  read -r -a wanted <<<"${IMAGES//,/ }"
  for n in "${wanted[@]}"; do
    [ -f "$ROOT/images/$n/Dockerfile" ] || die "IMAGES names '$n' but images/$n/Dockerfile does not exist (have: ${all_images[*]})"
  done
else
  wanted=("${all_images[@]}")
fi

# --- base image ----------------------------------------------------------------------------------
# Host apt sources that describe Debian itself: skip files whose Signed-By names another keyring
# (third-party repositories such as nodesource would not verify inside the image).
host_debian_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    grep -Eq '^[[:space:]]*(deb|URIs:)[[:space:]]' "$f" || continue
    if grep -Eio 'signed-by[:=][[:space:]]*[^] ]+' "$f" | grep -viq 'debian-archive-keyring'; then
      continue
    fi
    echo "$f"
  done
}
# Host apt options that matter for reaching the mirror (proxies, snapshot Valid-Until, ...).
host_apt_options() {
  local f
  for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
    [ -f "$f" ] || continue
    if grep -Eq 'Acquire::([^ ]*::)?([Pp]roxy|Check-Valid-Until|Check-Date|AllowInsecureRepositories|Retries)' "$f"; then
      echo "$f"
    fi
  done
}

build_rootfs() {
  if ! command -v mmdebstrap >/dev/null; then
    log "installing mmdebstrap from Debian"
    # Wait (up to 5 min) for another apt/dpkg run to release its lock instead of failing at once.
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq mmdebstrap >/dev/null
  fi
  local args=(--variant=minbase --format=tar)
  # Merged /usr through symlinks, without dragging the usrmerge package (and perl) into the image.
  local hooks=/usr/share/mmdebstrap/hooks/merged-usr
  [ -d "$hooks" ] && args+=("--hook-dir=$hooks")
  # Same trimming as Docker's official -slim images.
  local p
  for p in 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
    'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/groff/*' 'path-exclude=/usr/share/info/*' \
    'path-exclude=/usr/share/lintian/*' 'path-exclude=/usr/share/linda/*' \
    'path-exclude=/usr/share/locale/*' 'path-include=/usr/share/locale/locale.alias'; do
    args+=("--dpkgopt=$p")
  done
  local f
  while read -r f; do args+=("--aptopt=$f"); done < <(host_apt_options)
  local mirrors=()
  while read -r f; do mirrors+=("$f"); done < <(host_debian_sources)
  log "bootstrapping bookworm minbase rootfs -> $ROOTFS_TAR (mirrors: ${mirrors[*]:-mmdebstrap default})"
  local tmp="$CACHE_DIR/.rootfs-$$.tar"
  rm -f "$tmp"
  if ! mmdebstrap "${args[@]}" bookworm "$tmp" "${mirrors[@]}" >&2; then
    rm -f "$tmp"
    die "mmdebstrap failed"
  fi
  mv "$tmp" "$ROOTFS_TAR"
}

if docker image inspect "$BASE_REF" >/dev/null 2>&1; then
  log "$BASE_REF present"
else
  start=$SECONDS
  [ -s "$ROOTFS_TAR" ] || build_rootfs
  log "importing $ROOTFS_TAR as $BASE_REF"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message 'mmdebstrap --variant=minbase bookworm (scripts/images.sh)' \
    "$ROOTFS_TAR" "$BASE_REF" >/dev/null
  log "$BASE_REF ready in $((SECONDS - start))s"
fi
base_id=$(docker image inspect --format '{{.Id}}' "$BASE_REF")

# --- template images -----------------------------------------------------------------------------
dir_sha() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -d' ' -f1
}
label_of() { # image label -> value ('' when missing)
  docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

built=0
for name in "${wanted[@]}"; do
  ref="agenttier/$name:dev"
  sha=$(dir_sha "$ROOT/images/$name")
  if [ "$(label_of "$ref" io.agenttier.dockerfile-sha)" = "$sha" ] && [ "$(label_of "$ref" io.agenttier.base-id)" = "$base_id" ]; then
    log "$ref up to date (dockerfile-sha ${sha:0:12})"
    continue
  fi
  # Same build already in the engine but untagged or retagged: just point the tag at it.
  existing=$(docker images -q --no-trunc \
    --filter "label=io.agenttier.dockerfile-sha=$sha" --filter "label=io.agenttier.base-id=$base_id" | head -n1)
  if [ -n "$existing" ]; then
    docker tag "$existing" "$ref"
    log "$ref re-tagged from existing build ${existing:7:12}"
    continue
  fi
  log "building $ref (dockerfile-sha ${sha:0:12})"
  start=$SECONDS
  if ! docker build --network host --force-rm \
    --label "io.agenttier.dockerfile-sha=$sha" \
    --label "io.agenttier.base-id=$base_id" \
    -t "$ref" "$ROOT/images/$name" >&2; then
    die "build of $ref failed (images/$name/Dockerfile)"
  fi
  log "$ref built in $((SECONDS - start))s"
  built=$((built + 1))
done

if [ "$built" -gt 0 ]; then
  # Superseded builds of ours that nothing references any more.
  docker image prune -f --filter label=io.agenttier.dockerfile-sha >/dev/null 2>&1 || true
fi
log "done: ${wanted[*]}"

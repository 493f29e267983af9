#!/usr/bin/env bash
# A private Podman service with a Docker-compatible API for AgentTier and its tests, beside (not
# instead of) the private dockerd of scripts/engine.sh.
#
#   bash scripts/podman.sh          install Debian's podman (when missing), start (or reuse) the
#                                   service, load the agenttier/*:dev images into it
#   bash scripts/podman.sh stop     stop the service (images stay in the data root)
#   bash scripts/podman.sh purge    stop, then delete the private storage and state
#
# The service runs as root with its own configuration, storage and state, so it touches neither
# /var/lib/containers nor /etc/containers: containers.conf and storage.conf are written under
# $AGENTTIER_PODMAN_DIR and passed through CONTAINERS_CONF / CONTAINERS_STORAGE_CONF. Nothing is
# pulled: images are copied from the Docker engine (`docker save | podman load`), reloaded only when
# their image ID differs. Containers get `--init` from catatonit (Debian package catatonit).
#
# Env: AGENTTIER_PODMAN_HOST       socket to serve (default unix://$AGENTTIER_ENGINE_DIR/podman.sock)
#      AGENTTIER_ENGINE_DIR        default /run/agenttier
#      AGENTTIER_PODMAN_DIR        config, pid file, log, runroot (default $AGENTTIER_ENGINE_DIR/podman)
#      AGENTTIER_PODMAN_DATA_ROOT  image and volume storage (default /var/lib/agenttier/podman)
#      AGENTTIER_PODMAN_LAYOUT     own-fs | shared-fs | auto (default auto: own-fs unless the data root
#                                  already holds the old layout or loop devices are missing). own-fs: the
#                                  storage is an ext4 image loop-mounted at the data root and the service
#                                  runs in a mount namespace of its own that sees it at /engine, as
#                                  scripts/engine.sh does for dockerd (a sandbox's mountinfo names no host
#                                  path; docs/security.md)
#      AGENTTIER_PODMAN_IMAGE      the own-fs image file (default $AGENTTIER_PODMAN_DATA_ROOT.img)
#      AGENTTIER_PODMAN_IMAGE_SIZE its size when made (default: the size of the disk it is on; sparse)
#      AGENTTIER_DOCKER_HOST       engine the images come from (default unix:///run/agenttier/docker.sock)
#      IMAGES="minimal-shell"      images to load (space or comma separated; default: the built-in
#                                  templates' minimal-shell, general-coding and langgraph-agent)
#
# Use it: AGENTTIER_DOCKER_HOST=unix:///run/agenttier/podman.sock (platform, integration tests) or
# AGENTTIER_PODMAN_HOST=unix:///run/agenttier/podman.sock (packages/local/src/podman.int.test.ts).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENGINE_DIR=${AGENTTIER_ENGINE_DIR:-/run/agenttier}
HOST=${AGENTTIER_PODMAN_HOST:-unix://$ENGINE_DIR/podman.sock}
SOCK=${HOST#unix://}
STATE=${AGENTTIER_PODMAN_DIR:-$ENGINE_DIR/podman}
DATA_ROOT=${AGENTTIER_PODMAN_DATA_ROOT:-/var/lib/agenttier/podman}
SOURCE=${AGENTTIER_DOCKER_HOST:-unix:///run/agenttier/docker.sock}
PIDFILE=$STATE/service.pid
LAYOUT=${AGENTTIER_PODMAN_LAYOUT:-auto}
IMAGE=${AGENTTIER_PODMAN_IMAGE:-$DATA_ROOT.img}
IMAGE_SIZE=${AGENTTIER_PODMAN_IMAGE_SIZE:-}
ENGINE_PATH=${AGENTTIER_ENGINE_PATH:-/engine}
FS_LOG=podman
MIGRATE_HINT="its images come from Docker: 'bash scripts/podman.sh purge' starts afresh; copy out any volume you keep first"
# shellcheck source=engine-fs.sh
. "$ROOT/scripts/engine-fs.sh"
LOG=$STATE/service.log
export CONTAINERS_CONF=$STATE/containers.conf
export CONTAINERS_STORAGE_CONF=$STATE/storage.conf

log() { echo "podman: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[ "$HOST" != "$SOCK" ] || die "AGENTTIER_PODMAN_HOST must be unix:///path (got $HOST)"
[ "$(id -u)" = 0 ] || die "run as root: the service is rootful (sandboxes bind-mount root-owned run dirs)"

service_pid() { # pid of our podman service, if it is running
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "podman system service .*unix://$SOCK" && echo "$pid"
}

answers() { curl -fsS --max-time 2 --unix-socket "$SOCK" http://podman/_ping >/dev/null 2>&1; }

stop_service() {
  local pid
  if ! pid=$(service_pid); then
    log "no podman service running"
    return 0
  fi
  log "stopping podman service (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || {
      rm -f "$PIDFILE" "$SOCK"
      log "stopped"
      return 0
    }
    sleep 0.5
  done
  die "podman service $pid still running after 30s"
}

case "${1:-}" in
  stop)
    stop_service
    exit 0
    ;;
  purge)
    stop_service
    if mounted_image >/dev/null; then
      # own-fs: the storage is the image; its loop device goes with the last unmount. -R: the storage
      # layer's own bind of its overlay directory shows under it on the host too.
      umount -R "$DATA_ROOT"
      mountpoint -q "$STATE/runroot" && umount "$STATE/runroot"
    elif command -v podman >/dev/null && [ -f "$CONTAINERS_STORAGE_CONF" ]; then
      # Removes containers, images and volumes of the private storage only (the env points there).
      podman system reset --force >/dev/null 2>&1 || true
    fi
    rm -rf "$STATE" "$DATA_ROOT"
    rm -f "$IMAGE"
    log "purged $STATE and $DATA_ROOT"
    exit 0
    ;;
  '') ;;
  *) die "unknown command '$1' (use: stop, purge, or nothing to start)" ;;
esac

mkdir -p "$STATE"
exec 9>"$STATE/podman.lock"
flock 9

# --- install -------------------------------------------------------------------------------------
start=$SECONDS
if ! command -v podman >/dev/null || [ ! -x /usr/libexec/podman/catatonit ]; then
  log "installing podman and catatonit from Debian"
  # Wait (up to 5 min) for another apt/dpkg run to release its lock instead of failing at once.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends podman catatonit >/dev/null
  log "installed $(podman --version) in $((SECONDS - start))s"
fi
[ -x /usr/libexec/podman/catatonit ] || die "/usr/libexec/podman/catatonit is missing: sandboxes run with --init"

# --- layout --------------------------------------------------------------------------------------
case "$LAYOUT" in auto | own-fs | shared-fs) ;; *) die "AGENTTIER_PODMAN_LAYOUT must be auto, own-fs or shared-fs (got '$LAYOUT')" ;; esac
if [ "$LAYOUT" = auto ]; then
  if old_layout_data; then
    LAYOUT=shared-fs
    log "WARNING: $DATA_ROOT holds storage of the old layout: sandboxes' /proc/self/mountinfo names it. It keeps working as it is; to start afresh in a filesystem of its own: $MIGRATE_HINT"
  elif [ ! -e "$IMAGE" ] && why=$(loop_unavailable) && [ -n "$why" ]; then
    LAYOUT=shared-fs
    log "WARNING: $why: the storage is a plain directory and sandboxes' /proc/self/mountinfo names it"
  else
    LAYOUT=own-fs
  fi
fi
init_path=/usr/libexec/podman/catatonit
if [ "$LAYOUT" = own-fs ]; then
  [ -e "$IMAGE" ] || make_image
  share_host_root
  mount_image
  # --init binds the init binary into the container: a copy on the storage's own filesystem names
  # nothing of the host (from the host's /usr its mount root is /usr/libexec/podman/catatonit).
  # Replaced only when it differs: a running service's namespace binds this very file over
  # /usr/libexec/podman/catatonit, and a new inode under the name leaves that bind on a deleted file,
  # which every later `--init` then fails to mount (ENOENT) — a second `npm test` broke all Podman
  # starts that way. A changed catatonit (an apt upgrade) restarts the service below.
  mkdir -p "$DATA_ROOT/agenttier"
  init_changed=0
  if ! cmp -s /usr/libexec/podman/catatonit "$DATA_ROOT/agenttier/catatonit"; then
    install -m 0755 /usr/libexec/podman/catatonit "$DATA_ROOT/agenttier/catatonit"
    init_changed=1
  fi
  init_path=$ENGINE_PATH/agenttier/catatonit
  graphroot=$ENGINE_PATH/storage
  # The storage is where only the service's namespace sees it: this script talks to the service.
  pm() { podman --remote --url "unix://$SOCK" "$@"; }
else
  graphroot=$DATA_ROOT/storage
  pm() { podman "$@"; }
fi

# --- configuration -------------------------------------------------------------------------------
mkdir -p "$STATE/tmp" "$STATE/networks" "$DATA_ROOT"
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
# Written by scripts/podman.sh: storage private to AgentTier's podman service.
[storage]
driver = "overlay"
graphroot = "$graphroot"
runroot = "$STATE/runroot"
EOF

# Podman sets RLIMIT_NOFILE=1048576 and RLIMIT_NPROC=4194304 in every container unless told
# otherwise; raising limits needs CAP_SYS_RESOURCE, and where root lacks it (some CI VMs and nested
# containers) every start fails with "error setting rlimit type 7: operation not permitted". Then
# pin the defaults to what the service process itself holds (Docker's containers inherit dockerd's).
ulimits_line=''
capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if [ $((0x$capbnd & (1 << 24))) -eq 0 ]; then
  ulimits_line=$(cat "$STATE/ulimits" 2>/dev/null || true)
fi
write_containers_conf() {
  cat >"$CONTAINERS_CONF" <<EOF
# Written by scripts/podman.sh: AgentTier's private podman service (root, no systemd needed).
[containers]
init_path = "$init_path"
${ulimits_line}

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$STATE/tmp"
# Each exec through the API leaves two conmon processes until this delay (default 300 s) has passed
# (containers/podman#20415); the engine-exec data plane reads the exit code right away.
exit_command_delay = 10

[network]
network_config_dir = "$STATE/networks"
EOF
}
write_containers_conf

# --- service -------------------------------------------------------------------------------------
start_service() {
  rm -f "$SOCK"
  log "starting podman system service on $HOST (storage $DATA_ROOT, log $LOG)"
  # setsid: the service outlives this script and the caller's process group (npm, CI job control).
  # cd /: it must not keep the caller's directory (a CI clone deleted later left conmon failing
  # every create with "Failed to get working directory").
  local launcher=()
  if [ "$LAYOUT" = own-fs ]; then
    mkdir -p "$STATE/engine-root" "$STATE/runroot"
    # Each container's hosts, hostname, resolv.conf and .containerenv are binds from the runroot: on a
    # filesystem of its own their mount roots name only paths inside it. A tmpfs, as /run is: volatile
    # across reboots, kept across service restarts (containers outlive them).
    mountpoint -q "$STATE/runroot" || mount -t tmpfs -o mode=0700,size=256m agenttier-podman-run "$STATE/runroot"
    # A mount namespace and root of its own, with the storage at $ENGINE_PATH (the launcher execs podman).
    launcher=(env "ENGINE_NS_FILE_COPIES=/usr/libexec/podman/catatonit=agenttier/catatonit"
      unshare --mount --propagation unchanged -- bash "$ROOT/scripts/engine-namespace.sh" "$DATA_ROOT" "$STATE/engine-root" "$ENGINE_PATH" --)
  fi
  (cd / && exec setsid nohup "${launcher[@]}" podman system service --time=0 "unix://$SOCK" </dev/null >>"$LOG" 2>&1 9>&-) &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 60); do
    if answers; then return 0; fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    sleep 0.5
  done
  log "the service did not come up; last log lines:"
  tail -20 "$LOG" >&2 || true
  exit 1
}

if pid=$(service_pid) && answers && [ "${init_changed:-0}" = 1 ]; then
  log "catatonit changed under the running service: restarting it"
  stop_service
fi
if pid=$(service_pid) && answers; then
  log "$HOST is up (pid $pid)"
else
  start_service
  if [ $((0x$capbnd & (1 << 24))) -eq 0 ]; then
    pid=$(service_pid) || die "lost the service right after starting it"
    limits() { awk -v k="$1" 'index($0, k) == 1 {print $(NF-1)}' "/proc/$pid/limits"; }
    want="default_ulimits = [\"nofile=$(limits 'Max open files'):$(limits 'Max open files')\", \"nproc=$(limits 'Max processes'):$(limits 'Max processes')\"]"
    if [ "$want" != "$ulimits_line" ]; then
      log "no CAP_SYS_RESOURCE here: pinning container ulimits to the service's own ($want); restarting"
      echo "$want" >"$STATE/ulimits"
      ulimits_line=$want
      write_containers_conf
      stop_service
      start_service
    fi
  fi
  log "ready: $(curl -fsS --unix-socket "$SOCK" http://podman/version | grep -o '"Version":"[^"]*"' | head -1)"
fi

# Docker-API clients (the local platform) learn where the service's storage is on this host from a
# volume's label: Podman's API has no daemon labels (scripts/engine.sh labels dockerd instead).
if [ "$LAYOUT" = own-fs ]; then
  marker=agenttier-host-data-root
  want=$DATA_ROOT/storage
  if [ "$(pm volume inspect --format '{{index .Labels "agenttier.io/host-data-root"}}' "$marker" 2>/dev/null)" != "$want" ]; then
    pm volume rm -f "$marker" >/dev/null 2>&1 || true
    pm volume create --label "agenttier.io/host-data-root=$want" "$marker" >/dev/null
  fi
fi

# --- images --------------------------------------------------------------------------------------
# Default: the images of the built-in templates (packages/core/src/builtin-templates.ts); the
# Kubernetes-only images under images/ (controller, sandboxd-injector) have no use here.
read -r -a wanted <<<"${IMAGES:-minimal-shell general-coding langgraph-agent}"
read -r -a wanted <<<"${wanted[*]//,/ }"
for n in "${wanted[@]}"; do
  [ -f "$ROOT/images/$n/Dockerfile" ] || die "IMAGES names '$n' but images/$n/Dockerfile does not exist"
done

docker -H "$SOURCE" version >/dev/null 2>&1 ||
  die "no Docker engine answers at $SOURCE to copy images from (run scripts/engine.sh and scripts/images.sh)"
stale=()
for name in "${wanted[@]}"; do
  ref="agenttier/$name:dev"
  src=$(docker -H "$SOURCE" image inspect --format '{{.Id}}' "$ref" 2>/dev/null) ||
    die "$ref is not in $SOURCE; build it with scripts/images.sh"
  have=$(pm image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
  if [ "sha256:$have" = "$src" ]; then
    log "$ref up to date (${src:7:12})"
  else
    stale+=("$ref")
  fi
done
if [ ${#stale[@]} -gt 0 ]; then
  log "loading ${stale[*]} from $SOURCE"
  start=$SECONDS
  docker -H "$SOURCE" save "${stale[@]}" | pm load -q >/dev/null
  # Earlier loads of the same tags are now dangling.
  pm image prune -f --filter label=io.agenttier.dockerfile-sha >/dev/null 2>&1 || true
  log "loaded in $((SECONDS - start))s"
fi
log "done: $HOST serves ${wanted[*]}"

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
    if command -v podman >/dev/null && [ -f "$CONTAINERS_STORAGE_CONF" ]; then
      # Removes containers, images and volumes of the private storage only (the env points there).
      podman system reset --force >/dev/null 2>&1 || true
    fi
    rm -rf "$STATE" "$DATA_ROOT"
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

# --- configuration -------------------------------------------------------------------------------
mkdir -p "$STATE/tmp" "$STATE/networks" "$DATA_ROOT"
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
# Written by scripts/podman.sh: storage private to AgentTier's podman service.
[storage]
driver = "overlay"
graphroot = "$DATA_ROOT/storage"
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
init_path = "/usr/libexec/podman/catatonit"
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
  (cd / && exec setsid nohup podman system service --time=0 "unix://$SOCK" </dev/null >>"$LOG" 2>&1 9>&-) &
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
  have=$(podman image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
  if [ "sha256:$have" = "$src" ]; then
    log "$ref up to date (${src:7:12})"
  else
    stale+=("$ref")
  fi
done
if [ ${#stale[@]} -gt 0 ]; then
  log "loading ${stale[*]} from $SOURCE"
  start=$SECONDS
  docker -H "$SOURCE" save "${stale[@]}" | podman load -q >/dev/null
  # Earlier loads of the same tags are now dangling.
  podman image prune -f --filter label=io.agenttier.dockerfile-sha >/dev/null 2>&1 || true
  log "loaded in $((SECONDS - start))s"
fi
log "done: $HOST serves ${wanted[*]}"

#!/usr/bin/env bash
# Ensure a Docker-API engine is reachable for AgentTier and its tests.
# If AGENTTIER_DOCKER_HOST already answers, use it. Otherwise install Debian's docker.io (when
# missing) and start a private dockerd with its own data-root and unix socket, no bridge and no
# iptables: sandboxes run with network "none", nothing needs NAT.
#
#   bash scripts/engine.sh          start (or reuse) the engine
#   bash scripts/engine.sh stop     stop the private dockerd (images stay in the data-root)
#   bash scripts/engine.sh migrate  move a data root of the old layout into the new one (engine stopped)
#
# Layout of a new data root ("own-fs"): an ext4 filesystem in a sparse image file, loop-mounted at
# the data root, and dockerd in a mount namespace of its own that sees it at $AGENTTIER_ENGINE_PATH
# (/engine) only (scripts/engine-namespace.sh): a sandbox's /proc/self/mountinfo then names no host
# path (docs/security.md, "Mount information: the engine's own filesystem and namespace"). A data
# root that already holds an engine's files keeps the old layout ("shared-fs"), with a warning, until
# `bash scripts/engine.sh migrate`.
#
# Env: AGENTTIER_DOCKER_HOST        engine to use (default unix://$AGENTTIER_ENGINE_DIR/docker.sock)
#      AGENTTIER_ENGINE_DIR         socket, pid file, exec-root and log (default /run/agenttier)
#      AGENTTIER_ENGINE_DATA_ROOT   images and containers (default /var/lib/agenttier/docker)
#      AGENTTIER_ENGINE_LAYOUT      own-fs | shared-fs | auto (default auto: own-fs unless the data
#                                   root already holds the old layout or loop devices are missing)
#      AGENTTIER_ENGINE_IMAGE       the own-fs image file (default $AGENTTIER_ENGINE_DATA_ROOT.img)
#      AGENTTIER_ENGINE_IMAGE_SIZE  its size when made (default: the size of the filesystem it is on;
#                                   sparse, so the host spends only what the engine writes)
#      AGENTTIER_ENGINE_PATH        where dockerd sees its data root in its namespace (default /engine)
set -euo pipefail
SOCK_DIR=${AGENTTIER_ENGINE_DIR:-/run/agenttier}
SOCK=$SOCK_DIR/docker.sock
PIDFILE=$SOCK_DIR/dockerd.pid
DATA_ROOT=${AGENTTIER_ENGINE_DATA_ROOT:-/var/lib/agenttier/docker}
DATA_ROOT=${DATA_ROOT%/}
LAYOUT=${AGENTTIER_ENGINE_LAYOUT:-auto}
IMAGE=${AGENTTIER_ENGINE_IMAGE:-$DATA_ROOT.img}
ENGINE_PATH=${AGENTTIER_ENGINE_PATH:-/engine}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DOCKER_HOST=${AGENTTIER_DOCKER_HOST:-unix://$SOCK}

case "$LAYOUT" in auto | own-fs | shared-fs) ;; *)
  echo "engine: AGENTTIER_ENGINE_LAYOUT must be auto, own-fs or shared-fs (got '$LAYOUT')" >&2
  exit 2
  ;;
esac

dockerd_pid() { # pid of our private dockerd, if it is running
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

# The own-fs layout's helpers (mounted_image, old_layout_data, make_image, mount_image, ...).
IMAGE_SIZE=${AGENTTIER_ENGINE_IMAGE_SIZE:-}
FS_LOG=engine
MIGRATE_HINT="move them, or see 'bash scripts/engine.sh migrate'"
# shellcheck source=engine-fs.sh
. "$HERE/engine-fs.sh"

if [ "${1:-}" = stop ]; then
  if pid=$(dockerd_pid); then
    echo "engine: stopping private dockerd (pid $pid)" >&2
    kill -TERM "$pid"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || {
        echo "engine: stopped" >&2
        exit 0
      }
      sleep 0.5
    done
    echo "engine: dockerd $pid still running after 30s" >&2
    exit 1
  fi
  echo "engine: no private dockerd running" >&2
  exit 0
fi

answers() { docker -H "$1" version >/dev/null 2>&1; }

if [ "${1:-}" = migrate ]; then
  # Copies the old layout's data root into a new image, keeps the old directory under a new name
  # (delete it once the engine works), and mounts the image in its place. Nothing is deleted.
  if pid=$(dockerd_pid); then
    echo "engine: dockerd (pid $pid) is running on this data root: stop it first (bash scripts/engine.sh stop)" >&2
    exit 1
  fi
  if ! old_layout_data; then
    echo "engine: $DATA_ROOT holds no old-layout data root (empty, missing, or $IMAGE exists): nothing to migrate" >&2
    exit 0
  fi
  # dockerd leaves its data root bound onto itself (a shared mount) when it was killed.
  while mountpoint -q "$DATA_ROOT"; do umount "$DATA_ROOT"; done
  used=$(du -sx -B1 "$DATA_ROOT" | cut -f1)
  free=$(df -B1 --output=avail "$(dirname "$IMAGE")" | tail -1 | tr -d ' ')
  [ "$used" -lt "$free" ] || {
    echo "engine: the copy needs $used bytes; $(dirname "$IMAGE") has $free free" >&2
    exit 1
  }
  kept=$DATA_ROOT.old-layout-$(date -u +%Y%m%dT%H%M%SZ)
  make_image
  staging=$(mktemp -d "$(dirname "$IMAGE")/.engine-migrate.XXXXXX")
  mount -t ext4 -o loop "$IMAGE" "$staging"
  echo "engine: copying $DATA_ROOT ($used bytes) into $IMAGE" >&2
  # -a keeps hard links, owners, modes, xattrs (overlayfs's) and device nodes (its whiteouts).
  if ! cp -a "$DATA_ROOT/." "$staging/"; then
    umount "$staging" && rmdir "$staging"
    mv "$IMAGE" "$IMAGE.failed-$$"
    echo "engine: copy failed; $DATA_ROOT is untouched (the partial image is $IMAGE.failed-$$)" >&2
    exit 1
  fi
  umount "$staging" && rmdir "$staging"
  mv "$DATA_ROOT" "$kept"
  mkdir -p "$DATA_ROOT"
  mount_image
  echo "engine: migrated. The old data root is kept at $kept: delete it once 'bash scripts/engine.sh' works." >&2
  exit 0
fi

if command -v docker >/dev/null && answers "$DOCKER_HOST"; then
  echo "engine: $DOCKER_HOST is up" >&2
  exit 0
fi

mkdir -p "$SOCK_DIR"
# One starter at a time (test.sh and up.sh may race).
exec 9>"$SOCK_DIR/engine.lock"
flock 9

wait_ready() {
  for _ in $(seq 1 120); do
    if answers "unix://$SOCK"; then
      echo "engine: ready" >&2
      if [ "$DOCKER_HOST" != "unix://$SOCK" ]; then
        echo "engine: note: AGENTTIER_DOCKER_HOST=$DOCKER_HOST did not answer; the private engine is unix://$SOCK" >&2
      fi
      exit 0
    fi
    if [ -n "${1:-}" ] && ! kill -0 "$1" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "engine: dockerd did not come up; last log lines:" >&2
  tail -20 "$SOCK_DIR/dockerd.log" >&2 || true
  exit 1
}

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v docker >/dev/null || need_pkgs+=(docker.io)
command -v mmdebstrap >/dev/null || need_pkgs+=(mmdebstrap)
command -v runsc >/dev/null || need_pkgs+=(runsc)
# Size-limited workspaces (storage.size): an ext4 image per sandbox, loop-mounted by `agenttier up`.
command -v mkfs.ext4 >/dev/null || need_pkgs+=(e2fsprogs)
command -v losetup >/dev/null || need_pkgs+=(mount)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  mapfile -t need_pkgs < <(printf '%s\n' "${need_pkgs[@]}" | sort -u)
  echo "engine: installing ${need_pkgs[*]} from Debian" >&2
  # Wait (up to 5 min) for another apt/dpkg run to release its lock instead of failing at once.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# Started by someone else (or still starting): wait for it instead of starting a second one.
if pid=$(dockerd_pid); then
  echo "engine: private dockerd (pid $pid) is starting; waiting" >&2
  wait_ready "$pid"
fi

# Which layout this start uses (see the header).
if [ "$LAYOUT" = auto ]; then
  if old_layout_data; then
    LAYOUT=shared-fs
    echo "engine: WARNING: $DATA_ROOT holds a data root of the old layout: sandboxes' /proc/self/mountinfo names it (and the engine's paths under it). It keeps working as it is; to move it into a filesystem of its own, once: bash scripts/engine.sh stop && bash scripts/engine.sh migrate && bash scripts/engine.sh (docs/development.md)" >&2
  elif [ ! -e "$IMAGE" ] && why=$(loop_unavailable) && [ -n "$why" ]; then
    LAYOUT=shared-fs
    echo "engine: WARNING: $why: the data root is a plain directory and sandboxes' /proc/self/mountinfo names it" >&2
  else
    LAYOUT=own-fs
  fi
fi

mkdir -p "$DATA_ROOT" /etc/agenttier
# runsc (gVisor): --network=none because the engine has no bridge; --host-uds=create lets sandboxd
# create its unix socket on the bind-mounted run dir so the host can connect (docs/gvisor.md).
# A running dockerd keeps its old settings: `bash scripts/engine.sh stop && bash scripts/engine.sh`.
cat >/etc/agenttier/daemon.json <<JSON
{
  "runtimes": {
    "runsc": {
      "path": "$(command -v runsc || echo /usr/bin/runsc)",
      "runtimeArgs": ["--network=none", "--host-uds=create"]
    }
  }
}
JSON
dockerd_args=(
  --host "unix://$SOCK"
  --exec-root "$SOCK_DIR/exec"
  --pidfile "$PIDFILE"
  --config-file /etc/agenttier/daemon.json
  --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false
)
if [ "$LAYOUT" = own-fs ]; then
  [ -e "$IMAGE" ] || make_image
  share_host_root
  mount_image
  new_root=$SOCK_DIR/engine-root
  mkdir -p "$new_root"
  echo "engine: starting private dockerd on $SOCK (data-root $DATA_ROOT, a filesystem of its own that dockerd sees at $ENGINE_PATH in its own mount namespace; log $SOCK_DIR/dockerd.log)" >&2
  # The label tells clients (the local platform) where the engine's $ENGINE_PATH is on the host.
  launcher=(unshare --mount --propagation unchanged -- bash "$HERE/engine-namespace.sh" "$DATA_ROOT" "$new_root" "$ENGINE_PATH" --)
  dockerd_args+=(--data-root "$ENGINE_PATH" --label "agenttier.io/host-data-root=$DATA_ROOT")
  # `docker run --init` binds the init binary into the container: from the host's /usr its mount
  # root would be /usr/bin/tini-static; a copy on the engine's own filesystem names nothing of the host.
  if init=$(command -v docker-init); then
    mkdir -p "$DATA_ROOT/agenttier"
    install -m 0755 "$(readlink -f "$init")" "$DATA_ROOT/agenttier/docker-init"
    dockerd_args+=(--init-path "$ENGINE_PATH/agenttier/docker-init")
  fi
else
  launcher=()
  echo "engine: starting private dockerd on $SOCK (data-root $DATA_ROOT, log $SOCK_DIR/dockerd.log)" >&2
  dockerd_args+=(--data-root "$DATA_ROOT")
fi
# setsid: the daemon outlives this script and the caller's process group (npm, CI job control).
# The launcher execs dockerd: the pid started here is dockerd's.
setsid nohup "${launcher[@]}" dockerd "${dockerd_args[@]}" \
  </dev/null >>"$SOCK_DIR/dockerd.log" 2>&1 9>&- &
wait_ready "$!"

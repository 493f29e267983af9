#!/usr/bin/env bash
# Ensure a Docker-API engine is reachable for AgentTier and its tests.
# If AGENTTIER_DOCKER_HOST already answers, use it. Otherwise install Debian's docker.io (when
# missing) and start a private dockerd with its own data-root and unix socket, no bridge and no
# iptables: sandboxes run with network "none", nothing needs NAT.
#
#   bash scripts/engine.sh          start (or reuse) the engine
#   bash scripts/engine.sh stop     stop the private dockerd (images stay in the data-root)
#
# Env: AGENTTIER_DOCKER_HOST        engine to use (default unix://$AGENTTIER_ENGINE_DIR/docker.sock)
#      AGENTTIER_ENGINE_DIR         socket, pid file, exec-root and log (default /run/agenttier)
#      AGENTTIER_ENGINE_DATA_ROOT   images and containers (default /var/lib/agenttier/docker)
set -euo pipefail
SOCK_DIR=${AGENTTIER_ENGINE_DIR:-/run/agenttier}
SOCK=$SOCK_DIR/docker.sock
PIDFILE=$SOCK_DIR/dockerd.pid
DATA_ROOT=${AGENTTIER_ENGINE_DATA_ROOT:-/var/lib/agenttier/docker}
export DOCKER_HOST=${AGENTTIER_DOCKER_HOST:-unix://$SOCK}

dockerd_pid() { # pid of our private dockerd, if it is running
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

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
echo "engine: starting private dockerd on $SOCK (data-root $DATA_ROOT, log $SOCK_DIR/dockerd.log)" >&2
# setsid: the daemon outlives this script and the caller's process group (npm, CI job control).
setsid nohup dockerd \
  --host "unix://$SOCK" \
  --data-root "$DATA_ROOT" \
  --exec-root "$SOCK_DIR/exec" \
  --pidfile "$PIDFILE" \
  --config-file /etc/agenttier/daemon.json \
  --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
  </dev/null >>"$SOCK_DIR/dockerd.log" 2>&1 9>&- &
wait_ready "$!"

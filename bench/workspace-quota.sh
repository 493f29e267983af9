#!/usr/bin/env bash
# What a size-limited workspace costs next to a plain engine volume, side by side in one run:
# create time (volume create vs image + mkfs.ext4 + loop mount + volume create) and synced write
# throughput of 1 GiB from inside a locked-down container. Needs root and the private engine.
#   bash bench/workspace-quota.sh [runs]      (default 3)
set -euo pipefail
D="docker -H ${AGENTTIER_DOCKER_HOST:-unix:///run/agenttier/docker.sock}"
IMG=agenttier/minimal-shell:dev
RUNS=${1:-3}
W=$(mktemp -d /tmp/agenttier-bench-quota-XXXXXX)
mkdir -p "$W/mnt"
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
cleanup() {
  $D volume rm -f bench-quota-plain bench-quota-loop >/dev/null 2>&1 || true
  umount "$W/mnt" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
write() { # volume → "N MB/s"
  $D run --rm --network none -u 1000:1000 --read-only -v "$1:/workspace" $IMG \
    sh -c 'dd if=/dev/zero of=/workspace/f bs=1M count=1024 conv=fdatasync 2>&1 | tail -1' | sed 's/.*, //'
}
for i in $(seq "$RUNS"); do
  t=$(date +%s%N)
  $D volume create bench-quota-plain >/dev/null
  plain_create=$(ms "$t")
  t=$(date +%s%N)
  truncate -s 10G "$W/ws.img"
  mkfs.ext4 -q -F -m 0 -E root_owner=1000:1000,lazy_itable_init=1,lazy_journal_init=1 "$W/ws.img"
  mount -t ext4 -o loop,nosuid,nodev,noatime,noinit_itable "$W/ws.img" "$W/mnt"
  losetup --direct-io=on "$(losetup -j "$W/ws.img" -n -O NAME)"
  rmdir "$W/mnt/lost+found"
  $D volume create --driver local --opt type=none --opt o=bind --opt device="$W/mnt" bench-quota-loop >/dev/null
  loop_create=$(ms "$t")
  echo "run $i: create plain ${plain_create} ms, loop ${loop_create} ms; write 1 GiB (fdatasync) plain $(write bench-quota-plain), loop $(write bench-quota-loop)"
  $D volume rm bench-quota-plain bench-quota-loop >/dev/null
  umount "$W/mnt"
  rm -f "$W/ws.img"
done

# Sourced by scripts/engine.sh and scripts/podman.sh: the "own-fs" layout of an engine's data root,
# an ext4 filesystem in a sparse image file, loop-mounted at the data root as a shared mount, which
# the engine sees at a path of its own in a mount namespace of its own (scripts/engine-namespace.sh).
# docs/security.md, "Mount information: the engine's own filesystem and namespace".
#
# The caller sets: DATA_ROOT, IMAGE, IMAGE_SIZE (bytes; empty = the size of the disk IMAGE is on),
# FS_LOG (message prefix, e.g. "engine") and MIGRATE_HINT (what to run for an old-layout data root).

# The image file backing the data root mount, if the data root is a loop mount.
mounted_image() {
  local dev
  dev=$(findmnt -n -o SOURCE --mountpoint "$DATA_ROOT" 2>/dev/null) || return 1
  case "$dev" in /dev/loop*) losetup -n -O BACK-FILE "$dev" 2>/dev/null | sed 's/ *(deleted)$//' ;; *) return 1 ;; esac
}

# A data root with an engine's files in it, not on its own image: the old layout.
old_layout_data() {
  [ ! -e "$IMAGE" ] && [ -d "$DATA_ROOT" ] && [ -n "$(ls -A "$DATA_ROOT" 2>/dev/null)" ]
}

make_image() {
  local size tmp
  size=${IMAGE_SIZE:-$(df -B1 --output=size "$(dirname "$IMAGE")" | tail -1 | tr -d ' ')}
  echo "$FS_LOG: making the engine's filesystem: $IMAGE (ext4, sparse, size $size)" >&2
  tmp=$IMAGE.tmp-$$
  truncate -s "$size" "$tmp"
  # -m 0: no blocks reserved for root (everything here is root's); lazy init: made in a second.
  mkfs.ext4 -q -F -m 0 -L agenttier-engine -E lazy_itable_init=1,lazy_journal_init=1 "$tmp"
  mv "$tmp" "$IMAGE"
}

# Mounts the image at the data root (once; again after a reboot) and makes it a shared mount.
mount_image() {
  local have dev
  mkdir -p "$DATA_ROOT"
  if have=$(mounted_image); then
    [ "$have" = "$(readlink -f "$IMAGE")" ] || {
      echo "$FS_LOG: $DATA_ROOT is a loop mount of $have, not of $IMAGE" >&2
      exit 1
    }
  else
    [ -z "$(ls -A "$DATA_ROOT")" ] || {
      echo "$FS_LOG: $DATA_ROOT is not empty and $IMAGE is not mounted there: refusing to hide its files ($MIGRATE_HINT)" >&2
      exit 1
    }
    # discard: blocks the engine frees go back to the host (holes punched in the sparse image). The
    # loop device mount(8) attaches goes away with the last unmount.
    mount -t ext4 -o loop,noatime,discard "$IMAGE" "$DATA_ROOT"
    # Direct I/O: without it every block is cached twice (the engine's files and the image file).
    dev=$(findmnt -n -o SOURCE --mountpoint "$DATA_ROOT")
    losetup --direct-io=on "$dev" || echo "$FS_LOG: note: no direct I/O on $dev" >&2
  fi
  mount --make-shared "$DATA_ROOT"
}

# Mounts the host makes later (loop workspaces under the data dir) must reach the engine's
# namespace, which receives them only from shared mounts. The host's / is shared on systemd
# machines; make it so where it is not (containers, VMs without systemd). Only / itself: a data dir
# on another private mount needs `mount --make-shared <that mount>` (docs/development.md).
share_host_root() {
  # "private", or "private,slave" in a container whose / receives from its host's: neither sends.
  case "$(findmnt -n -o PROPAGATION --mountpoint /)" in *shared*) return 0 ;; esac
  echo "$FS_LOG: the host's / is not a shared mount; making it shared (mount --make-shared /, as systemd does at boot) so the engine's namespace receives later mounts" >&2
  mount --make-shared /
}

loop_unavailable() { # why loop devices cannot be used here, or nothing
  [ -e /dev/loop-control ] || {
    echo "no /dev/loop-control"
    return
  }
  losetup -f >/dev/null 2>&1 || echo "no free loop device (losetup -f)"
}

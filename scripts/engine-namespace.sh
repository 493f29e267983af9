#!/usr/bin/env bash
# Runs inside the private engine's own mount namespace (scripts/engine.sh starts it under
# `unshare --mount --propagation unchanged`) and then execs the engine (dockerd) there.
#
#   engine-namespace.sh <host data root> <empty host directory> <engine path> -- <command...>
#
# Env: ENGINE_NS_FILE_COPIES  "<host file>=<path under the engine path> ...": in the namespace, each
#      host file is covered by a bind of its copy on the engine's filesystem. For binaries the engine
#      binds into containers by their host path (Podman's catatonit for --init): the mount's root then
#      names the copy's path inside the engine's filesystem, not the host's.
#
# It gives the engine a root of its own: a small tmpfs (mounted on the empty host directory) holding
# a bind of every top-level entry of the host's / plus <engine path> (e.g. /engine), a bind of the
# engine's data filesystem (a loop-mounted ext4 image, mounted on the host at <host data root>),
# then pivot_root into it. The engine passes <engine path>/... to overlayfs and sandboxes' bind
# mounts are relative to the data filesystem's own root, so a sandbox's /proc/self/mountinfo names
# no host path (docs/security.md, "Mount information: the engine's own filesystem and namespace").
#
# Propagation: the host's / must be shared (engine.sh sees to it). Every mount here becomes a slave
# of the host's (mounts the host makes later, such as loop workspaces under the data dir, reach the
# engine; the engine's own mounts stay here), except <engine path>, which stays a peer of the host's
# data root mount: the overlay and volume mounts the engine makes there show on the host under
# <host data root>, where the router reaches volume directories (the engine names the host path in
# its `agenttier.io/host-data-root` label).
set -euo pipefail

HOST_DATA_ROOT=$1
NEW_ROOT=$2
ENGINE_PATH=$3
[ "$4" = -- ] || {
  echo "engine-namespace: usage: $0 <host data root> <empty dir> <engine path> -- <command...>" >&2
  exit 2
}
shift 4

die() {
  echo "engine-namespace: ERROR: $*" >&2
  exit 1
}
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] || die "not in a mount namespace of its own"
mountpoint -q "$HOST_DATA_ROOT" || die "$HOST_DATA_ROOT is not a mount point (the engine's data filesystem)"

# 1. Everything but the data root mount receives from the host and sends nothing back. findmnt's raw
#    output escapes blanks as \x20; printf %b turns them back.
while read -r target; do
  target=$(printf '%b' "$target")
  [ "$target" = "$HOST_DATA_ROOT" ] && continue
  mount --make-slave "$target" 2>/dev/null || true
done < <(findmnt -rn -o TARGET)

# 2. The new root: a tmpfs (its parent is a slave now, so the host never sees it).
mount -t tmpfs -o mode=0755,size=1m agenttier-engine-root "$NEW_ROOT"
mkdir "$NEW_ROOT/${ENGINE_PATH#/}"
# A bind of a shared mount joins its peer group: the engine's mounts under it show on the host too.
mount --bind "$HOST_DATA_ROOT" "$NEW_ROOT/${ENGINE_PATH#/}"

# 3. The host's top-level entries, as they are: directories bound recursively (then made slaves),
#    symbolic links copied, files bound.
shopt -s dotglob nullglob
for entry in /*; do
  name=${entry#/}
  [ "$entry" = "$ENGINE_PATH" ] && die "the host has $ENGINE_PATH; choose another AGENTTIER_ENGINE_PATH"
  if [ -L "$entry" ]; then
    ln -s "$(readlink "$entry")" "$NEW_ROOT/$name"
  elif [ -d "$entry" ]; then
    mkdir "$NEW_ROOT/$name"
    mount --rbind "$entry" "$NEW_ROOT/$name"
    mount --make-rslave "$NEW_ROOT/$name"
  elif [ -e "$entry" ]; then
    touch "$NEW_ROOT/$name"
    mount --bind "$entry" "$NEW_ROOT/$name"
  fi
done
# The recursive bind of the directory holding NEW_ROOT copied the new root's tmpfs into itself.
nested=$NEW_ROOT$NEW_ROOT
while mountpoint -q "$nested"; do umount -l "$nested"; done
for pair in ${ENGINE_NS_FILE_COPIES:-}; do
  host_file=$(readlink -f "${pair%%=*}")
  copy=$NEW_ROOT/${ENGINE_PATH#/}/${pair#*=}
  [ -f "$host_file" ] && [ -f "$copy" ] || die "ENGINE_NS_FILE_COPIES: $pair: both files must exist"
  mount --bind "$copy" "$NEW_ROOT$host_file"
done

# 4. Switch roots; the old one (the host's whole tree as this namespace copied it) goes away here.
cd "$NEW_ROOT"
mkdir .old-root
pivot_root . .old-root
cd /
umount -l /.old-root
rmdir /.old-root
exec "$@"

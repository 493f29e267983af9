#!/bin/sh
# Copies sandboxd, Node and tini into the emptyDir shared with the sandbox container ($1).
#
#   agenttier-inject TARGET [--token SECRET_FILE COPY]
#
# --token (Pod Security baseline, docs/kubernetes.md "Pod security"): run as root (uid 0, no
# capability), it also copies sandboxd's token from the Secret volume, which only this container
# mounts, to COPY in a memory emptyDir as a root-only file (mode 0400). The kubelet applied fsGroup to
# that volume when it set it up, before this file existed, so the file keeps its owner and mode;
# agenttier-launch reads it as root in the sandbox container, where the sandbox user cannot.
set -eu
usage='usage: agenttier-inject <target-dir> [--token <secret-file> <copy>]'
target=${1:?$usage}
token_src='' token_dst=''
if [ "$#" -gt 1 ]; then
  [ "$#" -eq 4 ] && [ "$2" = --token ] || { echo "$usage" >&2; exit 2; }
  token_src=$3 token_dst=$4
  # Checked before anything is copied: a copy this user could not make root-only is no copy.
  [ "$(id -u)" = 0 ] || { echo "agenttier-inject: --token must run as root (uid 0) to make a root-only copy" >&2; exit 1; }
  test -x /agenttier/sandboxd/agenttier-launch || [ -e /placeholder ] || {
    echo "agenttier-inject: the bundle has no agenttier-launch (built without a C compiler); the baseline pod needs it (or run the controller with --sandbox-pod-security restricted)" >&2
    exit 1
  }
fi
if [ -e /placeholder ]; then
  echo "this sandboxd-injector image was built without the repository; build it with: docker build -f images/sandboxd-injector/Dockerfile ." >&2
  exit 1
fi
# Ownership cannot be kept by a non-root user; modes and symlinks are. The entries are copied, not
# the directory itself: the target is the kubelet's emptyDir, owned by root, and only its owner may
# set its times (`cp /agenttier/. target` fails on every real kubelet: "preserving times for
# '/target/.': Operation not permitted"). /agenttier has no dot-entries at its top.
cp -R -P --preserve=mode,timestamps /agenttier/* "$target"/
test -x "$target/node/bin/node" && test -x "$target/bin/tini" && test -f "$target/sandboxd/sandboxd.mjs"
# The exec containment (agenttier-reaper) and sandboxd's non-dumpable switch (agenttier-prctl.node) come
# with the bundle when it was built with a C compiler; say so when they are missing (sandboxd still runs).
for f in sandboxd/agenttier-reaper sandboxd/agenttier-prctl.node; do
  test -e "$target/$f" || echo "agenttier-inject: WARNING: $f is missing; rebuild the bundle with a C compiler" >&2
done
if [ -n "$token_src" ]; then
  (
    umask 077
    tmp="$token_dst.tmp"
    rm -f "$tmp"
    cat "$token_src" >"$tmp"
    chmod 0400 "$tmp"
    mv -f "$tmp" "$token_dst"
  )
  echo "sandboxd token copied to $token_dst (root, 0400)"
fi
echo "sandboxd injected into $target"

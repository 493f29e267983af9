#!/bin/sh
# Copies sandboxd, Node and tini into the emptyDir shared with the sandbox container ($1).
set -eu
target=${1:?usage: agenttier-inject <target-dir>}
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
echo "sandboxd injected into $target"

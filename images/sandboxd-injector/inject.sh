#!/bin/sh
# Copies sandboxd, Node and tini into the emptyDir shared with the sandbox container ($1).
set -eu
target=${1:?usage: agenttier-inject <target-dir>}
if [ -e /placeholder ]; then
  echo "this sandboxd-injector image was built without the repository; build it with: docker build -f images/sandboxd-injector/Dockerfile ." >&2
  exit 1
fi
# Ownership cannot be kept by a non-root user; modes and symlinks are.
cp -R -P --preserve=mode,timestamps /agenttier/. "$target"/
test -x "$target/node/bin/node" && test -x "$target/bin/tini" && test -f "$target/sandboxd/sandboxd.mjs"
echo "sandboxd injected into $target"

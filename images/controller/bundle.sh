#!/bin/sh
# Bundles `agenttier controller|router` (packages/operator/src/main.ts) into one ES module with esbuild
# from node_modules: no network, no registry. Run from the repository root after `npm ci`.
#
#   sh images/controller/bundle.sh OUTFILE
#
# The Dockerfile beside it runs this in its build stage; scripts/kube-node.sh runs it on the host and
# builds the image from a small context holding only the bundle and Node (the repository with its
# node_modules would be gigabytes of build context).
set -eu
out=${1:?usage: bundle.sh OUTFILE}
[ -x node_modules/.bin/esbuild ] || { echo "run npm ci first (node_modules/.bin/esbuild is missing)" >&2; exit 1; }
# node-pty and other native modules are never loaded by the controller or the router.
node_modules/.bin/esbuild packages/operator/src/main.ts --bundle --platform=node --target=node24 --format=esm \
  --outfile="$out" --log-level=warning --external:node-pty --external:esbuild --external:cpu-features '--external:*.node' \
  "--banner:js=import { createRequire as agenttierRequire } from 'node:module'; import { fileURLToPath as agenttierPath } from 'node:url'; import { dirname as agenttierDirname } from 'node:path'; const require = agenttierRequire(import.meta.url); const __filename = agenttierPath(import.meta.url); const __dirname = agenttierDirname(__filename);"

#!/usr/bin/env bash
# Start AgentTier locally (`npm run up`): dependencies, private engine, images, then the CLI's
# `up` command with any extra arguments (`npm run up -- --port 8080`).
# Env: AGENTTIER_DOCKER_HOST (default unix:///run/agenttier/docker.sock), IMAGES (subset to build).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "up: installing dependencies (npm ci)" >&2
  # Fallback as in scripts/test.sh: a lock without other platforms' optional packages.
  npm ci --no-audit --no-fund || npm install --no-save --no-audit --no-fund
fi
# Node 24 from the `node` devDependency, as under `npm run`.
export PATH="$ROOT/node_modules/.bin:$PATH"
export AGENTTIER_DOCKER_HOST=${AGENTTIER_DOCKER_HOST:-unix:///run/agenttier/docker.sock}

bash scripts/engine.sh
bash scripts/images.sh
# sandboxd (the daemon inside every sandbox) and its node-pty build for Node 24.
npm run build -w @agenttier/sandboxd >&2
# The web UI the router serves at http://127.0.0.1:8080/ (skipped when its build is newer than its sources).
if [ ! -f packages/web/dist/index.html ] || [ -n "$(find packages/web/src packages/web/index.html packages/sdk/src -newer packages/web/dist/index.html -print -quit)" ]; then
  npm run build -w @agenttier/web >&2
fi
exec node_modules/.bin/tsx packages/cli/src/main.ts up "$@"

#!/usr/bin/env bash
# The whole test run (`npm test`): dependencies, engine, images, then format, lint, typecheck and
# vitest (unit + integration). Fails fast, naming the step that failed.
#
# Env: AGENTTIER_DOCKER_HOST  engine for images and integration tests
#                             (default unix:///run/agenttier/docker.sock, started by scripts/engine.sh)
#      IMAGES                 subset of images/ to build (default: all)
#      SKIP_LINT=1            skip prettier and eslint
#      SKIP_PODMAN=1          do not start Podman (its integration tests are then skipped)
#      SKIP_KUBE=1            do not start real Kubernetes API servers (scripts/kube.sh)
# Extra arguments go to `vitest run` (e.g. `npm test -- --project unit`).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

current=''
step() {
  current=$1
  printf '\n==> [test] %s\n' "$1" >&2
  step_start=$SECONDS
}
fail() {
  printf '\n==> [test] FAILED at step: %s (exit %s)\n' "$current" "$1" >&2
  exit "$1"
}
run() { # run a command as part of the current step; stop everything if it fails
  "$@"
  local rc=$?
  [ "$rc" -eq 0 ] || fail "$rc"
}
done_step() { printf '==> [test] %s ok (%ss)\n' "$current" "$((SECONDS - step_start))" >&2; }

total_start=$SECONDS

# `npm ci`, except when the registry mirror lacks other platforms' optional packages (e.g.
# @rollup/rollup-darwin-arm64): npm then cannot record them in package-lock.json and `npm ci`
# refuses the lock as "not in sync". `npm install --no-save` installs the same locked versions
# without rewriting package-lock.json.
npm_ci() {
  local log rc
  log=$(mktemp)
  npm ci --no-audit --no-fund 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] && grep -q 'can only install packages when your package.json and package-lock.json' "$log"; then
    echo '==> [test] npm ci rejected the lock file (platform optional packages missing from it);' \
      'installing the locked versions with npm install --no-save' >&2
    npm install --no-save --no-audit --no-fund
    rc=$?
  fi
  rm -f "$log"
  return "$rc"
}

step 'npm ci'
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  run npm_ci
else
  echo 'node_modules is up to date with package-lock.json; skipping' >&2
fi
done_step

# The repository targets Node 24: the `node` devDependency provides it in node_modules/.bin.
# `npm test` already puts that first on PATH; make direct `bash scripts/test.sh` runs behave the same.
export PATH="$ROOT/node_modules/.bin:$PATH"
node_version=$(node --version 2>/dev/null || echo none)
major=${node_version#v}
major=${major%%.*}
if ! [ "$major" -ge 24 ] 2>/dev/null; then
  current='node >= 24'
  echo "tests need Node >= 24 but PATH resolves node to $node_version; is node_modules/.bin/node installed (npm ci)?" >&2
  fail 1
fi

export AGENTTIER_DOCKER_HOST=${AGENTTIER_DOCKER_HOST:-unix:///run/agenttier/docker.sock}

step 'engine (scripts/engine.sh)'
run bash scripts/engine.sh
done_step

step 'images (scripts/images.sh)'
run bash scripts/images.sh
done_step

# The local platform's second engine: Podman's Docker-compatible API (podman.int.test.ts). Its own
# service, storage and socket beside the private dockerd; the test image is copied over, not pulled.
step 'podman (scripts/podman.sh)'
if [ "${SKIP_PODMAN:-}" = 1 ]; then
  echo 'SKIP_PODMAN=1: the Podman integration tests will be skipped' >&2
else
  run env IMAGES=minimal-shell bash scripts/podman.sh
  export AGENTTIER_PODMAN_HOST=${AGENTTIER_PODMAN_HOST:-unix:///run/agenttier/podman.sock}
fi
done_step

# The browser attack tests (packages/server/src/http/browser-attacks.test.ts) drive Debian's Chromium.
step 'browser (scripts/browser.sh)'
run bash scripts/browser.sh
done_step

# sandboxd runs inside every sandbox: bundle it (esbuild) and compile node-pty for Node 24 once,
# before tests start platforms in parallel.
step 'sandboxd bundle (npm run build -w @agenttier/sandboxd)'
run npm run build -w @agenttier/sandboxd
done_step

# The web UI (packages/web): type-checked with the DOM lib, built by Vite into packages/web/dist (which
# the router serves at /, and the e2e tests load), and its first-page JavaScript checked against budget.
step 'web UI build (npm run build -w @agenttier/web)'
run npm run build -w @agenttier/web
done_step

if [ "${SKIP_LINT:-}" = 1 ]; then
  echo '==> [test] SKIP_LINT=1: skipping prettier and eslint' >&2
else
  step 'format (prettier --check .)'
  run npx --no -- prettier --check .
  done_step

  step 'lint (eslint .)'
  run npx --no -- eslint .
  done_step
fi

step 'typecheck (tsc -p tsconfig.json)'
run npx --no -- tsc -p tsconfig.json
done_step

step 'vitest run'
echo "node $(node --version) ($(command -v node)), engine $AGENTTIER_DOCKER_HOST" >&2
run npx --no -- vitest run "$@"
done_step

# The Python SDK (sdks/python) against a real `agenttier up` its conftest starts on a free port. Only
# Debian's Python packages are used (python3-httpx, python3-websockets for terminals, python3-pytest,
# and mypy for the strict type check), with Debian's python3.
step 'python sdk (mypy --strict, pytest sdks/python)'
if ! /usr/bin/python3 -c 'import httpx, pytest, websockets' 2>/dev/null || ! command -v mypy >/dev/null; then
  run apt-get -o DPkg::Lock::Timeout=300 install -y python3-httpx python3-pytest python3-websockets mypy
fi
run env MYPY_CACHE_DIR=/dev/null /usr/bin/python3 -m mypy --strict --python-version 3.11 sdks/python/src/agenttier
run env PYTHONPATH="$ROOT/sdks/python/src:$ROOT/sdks/python/tests" PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider sdks/python/tests
done_step

# The same Kubernetes suites against real API servers (the oldest and newest supported releases),
# started on loopback from ../shared/kube and stopped again (scripts/kube.sh).
step 'kube (scripts/kube.sh: real kube-apiserver v1.26.1 and v1.32.13)'
if [ "${SKIP_KUBE:-}" = 1 ]; then
  echo 'SKIP_KUBE=1: the real-API-server runs are skipped' >&2
else
  run bash scripts/kube.sh
fi
done_step

printf '\n==> [test] all steps passed in %ss\n' "$((SECONDS - total_start))" >&2

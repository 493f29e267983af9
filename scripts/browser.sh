#!/usr/bin/env bash
# Debian's Chromium for the browser attack tests (playwright-core drives /usr/bin/chromium; nothing is
# downloaded by a test tool). Installs it when missing, waiting for another apt/dpkg run's lock.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) present" >&2
  exit 0
fi
echo 'browser: installing chromium from Debian' >&2
apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null
/usr/bin/chromium --version >&2

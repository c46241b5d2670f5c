#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the studio's browser tests (playwright-core drives
# it; it downloads no browser of its own). Installed when absent, as root; quiet when present.
set -euo pipefail

CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] && exit 0

echo "chromium missing: installing Debian's chromium package" >&2
if [ "$(id -u)" != 0 ]; then
  echo "error: not root; install chromium yourself (apt-get install chromium) or set CHROMIUM_PATH" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another install may hold the dpkg lock: wait for it rather than fail.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
[ -x "$CHROMIUM" ]

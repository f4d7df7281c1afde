#!/usr/bin/env bash
# Debian's chromium for the browser test (tests/browser, marker `browser`), installed only when
# missing. Never downloads a browser build of its own: playwright drives /usr/bin/chromium.
#   .ci/ensure_chromium.sh        install if missing, print the version
set -euo pipefail

CHROMIUM="${VIGIA_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# the packaged wrapper prints a harmless shell warning on some machines; keep only the version line
"$CHROMIUM" --version 2>/dev/null | grep -i chromium

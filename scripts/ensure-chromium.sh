#!/usr/bin/env bash
# Headless Chromium for the emulator console's browser test (Debian's package; tests never download a browser).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then exit 0; fi
echo "==> installing Debian's chromium for the browser test"
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "Chromium is missing: install Debian's 'chromium' package (sudo apt-get install chromium) and re-run." >&2
  exit 1
fi

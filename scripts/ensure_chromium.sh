#!/usr/bin/env bash
# The report and Data Docs tests open the HTML in a real headless Chromium (Debian's package).
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests (one time)..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
else
  echo "chromium is not installed: the browser tests will fail. Install it: sudo apt-get install chromium" >&2
fi

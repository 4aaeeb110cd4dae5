#!/usr/bin/env bash
# Make sure headless Chromium is at /usr/bin/chromium for the browser tests (Playwright drives
# Debian's Chromium; `playwright install` is never used). Installs the Debian `chromium` and
# `chromium-driver` packages when missing; needs root (or passwordless sudo) and apt-get.
set -u

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is missing and apt-get is not available: install Chromium at /usr/bin/chromium;" \
       "browser tests will be skipped (or fail with CI=true)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "Chromium is missing and this user cannot install packages: run" \
         "'sudo apt-get install -y chromium chromium-driver'; browser tests will be skipped"
    exit 0
  fi
fi

echo "installing Chromium (Debian packages chromium, chromium-driver)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || echo "apt-get update failed; trying the install with the cached lists"
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver \
  || echo "installing Chromium failed: browser tests will be skipped (or fail with CI=true)"
exit 0

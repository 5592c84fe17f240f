#!/bin/sh
# Install Debian's prometheus (the server and promtool, for the tests of the dashboard's
# queries and of the alert rules) if it is missing. Idempotent and quiet: does nothing when
# both binaries exist. Only the binaries are used: the package's service is not started by
# the tests (on a machine run by systemd the package enables it: `systemctl disable --now
# prometheus` if you do not want it). Needs root or sudo.
set -eu

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_prometheus.sh: apt-get not found; install prometheus so that prometheus and promtool are on PATH" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v prometheus >/dev/null && command -v promtool >/dev/null

#!/usr/bin/env bash
# Run the Python 3.11 the hub is built for, installing Debian's when the machine has none.
set -euo pipefail
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    exec "$candidate" "$@"
  fi
done
echo "No Python 3.11 with venv found; installing Debian's python3.11 and python3.11-venv" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq python3.11 python3.11-venv >/dev/null
exec python3.11 "$@"

#!/usr/bin/env bash
# Debian packages the hub's tests and demo need, installed when missing (the machine runs as root).
set -euo pipefail
# command -> Debian package: the partner servers the tests start on 127.0.0.1, and rclone, the
# baseline of bench/transfer.py.
declare -A NEEDED=(
  [sshd]=openssh-server
  [ssh-keygen]=openssh-client
  [dovecot]="dovecot-imapd dovecot-pop3d"
  [rclone]=rclone
  [openssl]=openssl
  [pkill]=procps
  [useradd]=passwd
  [docker-compose]=docker-compose  # `docker-compose config` validates docker-compose.yaml (tests/test_compose_file.py)
  [chromium]=chromium  # the headless browser of tests/test_dashboard_browser.py (driven over the DevTools protocol)
  [gcc]=gcc  # compiles the conversion modules (plugins/invoice_hub/compiled.py)
)
missing=()
for command in "${!NEEDED[@]}"; do
  command -v "$command" >/dev/null || [ -x "/usr/sbin/$command" ] || missing+=(${NEEDED[$command]})
done
# Another apt-get (unattended upgrades, a colleague's install) may hold apt's locks: wait for it, up to
# LOCK_WAIT seconds, instead of failing at once. DPkg::Lock::Timeout makes `install` wait for dpkg's
# lock, but `update` takes /var/lib/apt/lists/lock without honouring it, so a run that failed on a
# lock is tried again until the deadline; any other failure ends the script at once.
LOCK_WAIT=${INVOICE_HUB_APT_LOCK_WAIT:-600}
apt_get() {
  local deadline=$((SECONDS + LOCK_WAIT)) log status
  log=$(mktemp)
  while true; do
    status=0
    apt-get -o DPkg::Lock::Timeout="$LOCK_WAIT" "$@" 2>"$log" || status=$?
    if [ $status -eq 0 ] || ! grep -q "Could not get lock" "$log" || [ $SECONDS -ge $deadline ]; then
      cat "$log" >&2
      rm -f "$log"
      return $status
    fi
    echo "apt-get $1: another apt-get holds apt's lock; waiting (up to ${LOCK_WAIT} s in all)" >&2
    sleep 5
  done
}
# ... and Python's headers for the same: a Debian Python has them in a package of their own.
python_include=$("$(dirname "$0")/python.sh" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
if [ ! -f "$python_include/Python.h" ]; then
  missing+=(python3.11-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

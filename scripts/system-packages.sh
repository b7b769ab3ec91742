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
)
missing=()
for command in "${!NEEDED[@]}"; do
  command -v "$command" >/dev/null || [ -x "/usr/sbin/$command" ] || missing+=(${NEEDED[$command]})
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

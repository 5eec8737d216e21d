#!/usr/bin/env bash
# Installs every Debian 12 package the relay needs to build, run and test.
# Idempotent: packages already present are left alone; apt is only asked when
# something is missing.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libssl-dev libcurl4-openssl-dev libyaml-cpp-dev libfmt-dev
  libcli11-dev doctest-dev libcrypt-dev libsystemd-dev
  # run and test: the Office 365 stand-in and the clients that talk to the relay
  openssl ca-certificates python3 python3-cryptography python3-pytest swaks curl
  # operations tests: systemd-analyze (unit checks), promtool (metrics format)
  systemd prometheus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

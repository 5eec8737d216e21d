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
  openssl ca-certificates python3 python3-cryptography python3-pytest swaks libnet-ssleay-perl curl
  python3-jsonschema python3-yaml  # conf/relay.schema.json checked against the shipped configs (tests)
  # interoperability tests: real clients downstream ...
  msmtp fetchmail isync libsasl2-modules  # (mbsync: Cyrus SASL PLAIN for AUTHENTICATE PLAIN)
  # ... and real servers upstream (Dovecot for IMAP/POP3/LMTP and SASL,
  # Postfix for submission), started by the tests on 127.0.0.1 only
  dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix
  # operations tests: systemd-analyze (unit checks), promtool (metrics format)
  systemd prometheus
  # hardening: a real HAProxy in front (PROXY v1/v2), libFuzzer for the fuzz targets
  haproxy clang libclang-rt-14-dev
  # man pages: generated at build time, checked with groff -ww and man -l (tests/integration/test_man_pages.py)
  groff-base man-db
  # egress proxy tests: a real HTTP CONNECT proxy on 127.0.0.1 (tests/integration/proxy_fixtures.py)
  tinyproxy
  # the Debian package: build it (scripts/package.sh), check it (lintian), and
  # install it into a clean Debian 12 root (tests/package/test_deb.sh)
  debhelper dpkg-dev fakeroot lintian mmdebstrap
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

# Installing Dovecot or Postfix would start system-wide mail services on
# every address (and Postfix's postinst asks what kind of mail system this
# is). The tests start their own instances on 127.0.0.1 with generated
# configs, so: no service starts during the install (policy-rc.d exit 101,
# removed afterwards unless it was already there), and Postfix gets
# "No configuration".
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# written by xoauth2-relay scripts/install-deps.sh during apt-get install\nexit 101\n' \
    | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
printf 'postfix postfix/main_mailer_type select No configuration\n' | $sudo debconf-set-selections

$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# The Debian package as an admin meets it: builds the .deb with
# scripts/package.sh (or takes one: --deb PATH), makes a clean Debian 12
# root with mmdebstrap (packages from deb.debian.org, or $XR_DEBIAN_MIRROR),
# and runs tests/package/in_root.sh in it: apt install, --version,
# check-config on the shipped example and on the skeleton, man -l,
# systemd-analyze verify, the conffile, upgrade, remove, purge.
# The root is thrown away afterwards; nothing is cached. Needs root (or an
# unprivileged user namespace: XR_MMDEBSTRAP_MODE=unshare) and the network.
#
#   tests/package/test_deb.sh [--deb dist/xoauth2-relay_0.1.0_amd64.deb]
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
start=$(date +%s)

deb=""
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test_deb.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/xoauth2-relay-debtest.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -z "$deb" ]; then
  scripts/package.sh --out "$work/dist"
  deb=$(ls "$work"/dist/xoauth2-relay_*.deb)
fi
built=$(date +%s)

in="$work/in"
mkdir -p "$in"
cp "$deb" tests/package/in_root.sh "$in/"
# The same package one version up (+test1), for the upgrade: repacked, not
# rebuilt, so that upgrading costs no second build.
version=$(dpkg-deb -f "$deb" Version)
mkdir "$work/up"
dpkg-deb -R "$deb" "$work/up/root"
sed -i "s/^Version: .*/Version: ${version}+test1/" "$work/up/root/DEBIAN/control"
dpkg-deb -b "$work/up/root" "$in/xoauth2-relay_${version}+test1_amd64.deb" >/dev/null
# The listeners' certificate the shipped example names (tls/relay.crt).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=relay.contoso.local \
  -keyout "$in/relay.key" -out "$in/relay.crt" 2>/dev/null

mirror=${XR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${XR_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
echo "=== package test: clean Debian 12 root (mmdebstrap --mode=${XR_MMDEBSTRAP_MODE:-auto}, $mirror)"
# minbase plus man-db (an admin's machine reads man pages); everything the
# package needs comes from its own Depends when apt installs it.
mmdebstrap --mode="${XR_MMDEBSTRAP_MODE:-auto}" --variant=minbase --include=man-db \
  --customize-hook="copy-in $in /root" \
  --customize-hook='chroot "$1" /root/in/in_root.sh /root/in/'"$(basename "$deb")"' /root/in/xoauth2-relay_'"${version}"'+test1_amd64.deb' \
  bookworm /dev/null \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"

end=$(date +%s)
echo "=== package test passed: build $((built - start)) s, clean root + checks $((end - built)) s, total $((end - start)) s"

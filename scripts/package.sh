#!/usr/bin/env bash
# Builds the Debian package from this tree: dist/xoauth2-relay_<version>_amd64.deb
# (or into the directory given with --out), then runs lintian on it.
#
#   scripts/package.sh [--out DIR] [--keep]
#
# The build happens in a copy of the tree under a temporary directory (the
# source tree gets no build files), with debian/ and dpkg-buildpackage: a
# Release build without tests, warnings not errors. --keep leaves that copy
# (and prints where) for looking at debian/xoauth2-relay/ or re-running
# single dh steps. Build dependencies: scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

out=dist
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

# One version: CMake's project(VERSION). debian/changelog's newest entry must
# say the same (a native package's version is the changelog's).
version=$(sed -n 's/^project(xoauth2-relay VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
changelog_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ -z "$version" ] || [ "$version" != "$changelog_version" ]; then
  echo "package.sh: CMakeLists.txt says version '${version}', debian/changelog says '${changelog_version}'." >&2
  echo "  Add a changelog entry for the new version, e.g.: dch -v ${version:-X.Y.Z} 'New release.' && dch -r ''" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xoauth2-relay-package.XXXXXX")
if [ "$keep" = 0 ]; then trap 'rm -rf "$work"' EXIT; fi
tree="$work/xoauth2-relay-$version"
mkdir -p "$tree"

# The tree's files as git sees them (tracked and new, not ignored: no build
# directories); a copy without git falls back to everything but build*/ and dist/.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$src" ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar -C "$src" --null -T - -cf - | tar -C "$tree" -xf -
else
  tar -C "$src" --exclude='./build*' --exclude=./dist --exclude=./.git -cf - . | tar -C "$tree" -xf -
fi

jobs=${XR_JOBS:-$(nproc)}
echo "=== package: dpkg-buildpackage in $tree ($jobs jobs)"
start=$(date +%s)
(cd "$tree" && dpkg-buildpackage -b -us -uc -J"$jobs")
echo "=== package: built in $(( $(date +%s) - start )) s"

deb="xoauth2-relay_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb"
cp "$work/$deb" "$out/"
echo "=== package: $out/$deb"
dpkg-deb --info "$out/$deb" | sed -n '/Package:/,$p'

echo "=== package: lintian"
# Errors fail the build; warnings and the rest are shown. Overrides, each
# with its reason: debian/xoauth2-relay.lintian-overrides.
lintian --fail-on error --display-info "$out/$deb"
echo "=== package: lintian: no errors"
if [ "$keep" = 1 ]; then echo "=== package: build tree kept in $tree"; fi

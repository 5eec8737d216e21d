#!/bin/bash
# Runs inside a clean Debian 12 root (made by tests/package/test_deb.sh with
# mmdebstrap): installs the package with apt as an admin would, and checks
# what the admin gets. Arguments: the .deb, the same package one version up.
# Each check prints "ok: ..." or stops the test with "FAIL: ...".
set -euo pipefail
deb=$1
deb_up=$2
here=$(dirname "$0")

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# "user:group mode" of a path, e.g. "root:xoauth2-relay 750".
owner_mode() { stat -c '%U:%G %a' "$1"; }
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq

# No systemd runs in this root. To see what the maintainer scripts ask of a
# running one, pretend it runs (/run/systemd/system, which they test) and
# record their deb-systemd-invoke calls (start, stop, try-restart) instead of
# making them.
mkdir -p /run/systemd/system
calls=/tmp/systemd-calls.log
printf '#!/bin/sh\necho "deb-systemd-invoke $*" >>%s\n' "$calls" >/usr/local/sbin/deb-systemd-invoke
# systemctl works offline here (enable, preset) except for asking the running
# relay: is-active answers "active", as if the relay ran.
printf '#!/bin/sh\nif [ "$1" = is-active ]; then echo "systemctl $*" >>%s; exit 0; fi\nexec /usr/bin/systemctl "$@"\n' \
  "$calls" >/usr/local/sbin/systemctl
chmod 755 /usr/local/sbin/deb-systemd-invoke /usr/local/sbin/systemctl
# apt runs dpkg with its own PATH (DPkg::Path); the stubs go first.
echo 'DPkg::Path "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin";' >/etc/apt/apt.conf.d/99stub-systemd
: >"$calls"
echo "=== install: apt-get install ./$(basename "$deb")"
apt-get install -y -q "$deb" >/tmp/install.log 2>&1 || { cat /tmp/install.log; fail "apt-get install"; }
cat /tmp/install.log | sed -n '/xoauth2-relay is installed/,/See xoauth2-relay(8)/p'
grep -q "xoauth2-relay is installed but not enabled or started" /tmp/install.log \
  || { cat /tmp/install.log; fail "the postinst did not say why the relay is not started"; }
grep -q "no tenant is configured\|has no settings" /tmp/install.log || fail "the postinst did not show check-config's reason"
! grep -q 'deb-systemd-invoke start' "$calls" || fail "the skeleton config was started: $(cat "$calls")"
ok "installed with apt (dependencies from the mirror); the skeleton config keeps it from starting and the admin is told what to do"

version=$(dpkg-query -W -f='${Version}' xoauth2-relay)
[ "$(xoauth2-relay --version)" = "xoauth2-relay $version" ] || fail "--version: $(xoauth2-relay --version)"
ok "xoauth2-relay --version: $(xoauth2-relay --version)"

getent passwd xoauth2-relay >/dev/null || fail "no xoauth2-relay user"
[ "$(owner_mode /etc/xoauth2-relay)" = "root:xoauth2-relay 750" ] || fail "/etc/xoauth2-relay is $(owner_mode /etc/xoauth2-relay)"
[ "$(owner_mode /etc/xoauth2-relay/secrets)" = "root:xoauth2-relay 750" ] || fail "secrets/ is $(owner_mode /etc/xoauth2-relay/secrets)"
[ "$(owner_mode /var/spool/xoauth2-relay)" = "xoauth2-relay:xoauth2-relay 700" ] || fail "spool is $(owner_mode /var/spool/xoauth2-relay)"
ok "sysusers.d made the user, tmpfiles.d the directories: /etc/xoauth2-relay 750 root:xoauth2-relay, spool 700"

dpkg-query -W -f='${Conffiles}\n' xoauth2-relay | grep -q '^ /etc/xoauth2-relay/relay.yaml ' \
  || fail "relay.yaml is not a conffile: $(dpkg-query -W -f='${Conffiles}' xoauth2-relay)"
dpkg-query -W -f='${Conffiles}\n' xoauth2-relay | grep -q '^ /etc/default/xoauth2-relay ' \
  || fail "/etc/default/xoauth2-relay is not a conffile"
grep -q '^EnvironmentFile=-/etc/default/xoauth2-relay$' /lib/systemd/system/xoauth2-relay.service \
  || fail "the unit does not read /etc/default/xoauth2-relay"
ok "/etc/xoauth2-relay/relay.yaml and /etc/default/xoauth2-relay (HTTPS_PROXY, NO_PROXY for the unit) are conffiles"
if out=$(xoauth2-relay check-config 2>&1); then fail "check-config accepts the skeleton: $out"; fi
grep -q "xoauth2-relay init" <<<"$out" || fail "check-config on the skeleton does not point to init: $out"
ok "check-config refuses the skeleton: $out"

wants=/etc/systemd/system/multi-user.target.wants/xoauth2-relay.service
[ ! -e "$wants" ] || fail "the unit is enabled with the skeleton config (it would fail at every boot)"
ok "the unit is not enabled while the config is the skeleton (no failed unit at every boot)"

# The shipped example, with the files it names (a client secret and the
# listeners' certificate) next to it, as its comments ask.
example=/usr/share/doc/xoauth2-relay/examples/relay.yaml
[ -f "$example" ] || fail "no $example"
exdir=$(dirname "$example")
install -d -m 0750 "$exdir/secrets" "$exdir/tls"
install -m 0600 /dev/null "$exdir/secrets/contoso.secret"
echo "example-secret" >"$exdir/secrets/contoso.secret"
install -m 0600 "$here/relay.key" "$exdir/tls/relay.key"
install -m 0644 "$here/relay.crt" "$exdir/tls/relay.crt"
out=$(xoauth2-relay check-config --config "$example" 2>&1) || fail "check-config $example: $out"
ok "check-config --config $example: $out"
rm -r "$exdir/secrets" "$exdir/tls"
example_copy=/root/example-relay.yaml
cp "$example" "$example_copy"

for page in /usr/share/man/man8/xoauth2-relay.8.gz /usr/share/man/man5/relay.yaml.5.gz; do
  [ -f "$page" ] || fail "no man page $page"
  # groff's warnings (bad macros, unknown escapes) go to stderr.
  err=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/tmp/page.txt) || fail "man -l $page: $err"
  [ -z "$err" ] || fail "man -l $page warns: $err"
  [ "$(wc -l </tmp/page.txt)" -gt 20 ] || fail "man -l $page is nearly empty"
  ok "man -l $page ($(wc -l </tmp/page.txt) lines, no warnings)"
done
[ -f /usr/share/bash-completion/completions/xoauth2-relay ] || fail "no bash completion"
bash -n /usr/share/bash-completion/completions/xoauth2-relay || fail "bash completion has a syntax error"
ok "bash completion installed"

unit=/lib/systemd/system/xoauth2-relay.service
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
! grep -q 'xoauth2-relay' <<<"$out" || fail "systemd-analyze verify complains: $out"
ok "systemd-analyze verify $unit"

echo "=== the admin's first step: xoauth2-relay init writes over the skeleton"
# The README's next command after the install. init never overwrites a
# config, except one that holds only comments: the skeleton.
echo "downloaded-secret-value" >/root/downloaded.secret
printf 'device-password\n' | xoauth2-relay init --non-interactive --config /etc/xoauth2-relay/relay.yaml \
    --tenant-id 5f3c1a2b-0000-4000-8000-000000000001 --client-id 8a1b2c3d-0000-4000-8000-000000000002 \
    --client-secret-file /root/downloaded.secret --user scanner01 --password-stdin \
    --mailbox scanner@contoso.com --listen 127.0.0.1:2525 >/tmp/init.log 2>&1 \
  || { cat /tmp/init.log; fail "init on the skeleton"; }
! grep -q "downloaded-secret-value\|device-password" /tmp/init.log || fail "init printed a secret"
out=$(setpriv --reuid=xoauth2-relay --regid=xoauth2-relay --init-groups xoauth2-relay check-config 2>&1) \
  || fail "check-config as the relay's user after init: $out"
ok "init replaced the skeleton; check-config as the relay's user (as ExecStartPre= runs it): $out"
# The README's next step, systemctl enable --now, as the link it makes (no
# systemd runs here to start anything).
mkdir -p "$(dirname "$wants")"
ln -s /lib/systemd/system/xoauth2-relay.service "$wants"

echo "=== upgrade: edited config, a spooled message and state survive"
echo "# edited by the admin" >>/etc/xoauth2-relay/relay.yaml
install -o xoauth2-relay -g xoauth2-relay -m 0600 /dev/null /var/spool/xoauth2-relay/queued.eml
# /var/lib/xoauth2-relay is the unit's StateDirectory=: systemd makes it when
# the relay first starts (no systemd runs here, so the test does).
install -d -o xoauth2-relay -g xoauth2-relay -m 0755 /var/lib/xoauth2-relay
install -o xoauth2-relay -g xoauth2-relay -m 0600 /dev/null /var/lib/xoauth2-relay/state
apt-get install -y -q --reinstall "$deb" >/tmp/reinstall.log 2>&1 || { cat /tmp/reinstall.log; fail "reinstall"; }
: >"$calls"
apt-get install -y -q "$deb_up" >/tmp/upgrade.log 2>&1 || { cat /tmp/upgrade.log; fail "upgrade"; }
# A running relay is restarted on the new binary; a stopped one stays stopped.
grep -qE "^deb-systemd-invoke try-restart '?xoauth2-relay.service" "$calls" \
  || fail "the upgrade does not try-restart the relay: $(cat "$calls")"
! grep -qE "deb-systemd-invoke (start|stop)" "$calls" || fail "the upgrade starts or stops the relay: $(cat "$calls")"
new_version=$(dpkg-query -W -f='${Version}' xoauth2-relay)
[ "$new_version" != "$version" ] || fail "still version $version after the upgrade"
! grep -q "not started" /tmp/upgrade.log || fail "an upgrade printed the first-install message"
tail -n1 /etc/xoauth2-relay/relay.yaml | grep -q "edited by the admin" || fail "the upgrade lost the edited relay.yaml"
[ ! -e /etc/xoauth2-relay/relay.yaml.dpkg-new ] && [ ! -e /etc/xoauth2-relay/relay.yaml.dpkg-dist ] || fail "conffile prompt files left"
for f in /var/spool/xoauth2-relay/queued.eml /var/lib/xoauth2-relay/state /etc/xoauth2-relay/secrets/contoso.secret; do
  [ -f "$f" ] || fail "the upgrade lost $f"
done
[ "$(owner_mode /etc/xoauth2-relay)" = "root:xoauth2-relay 750" ] || fail "after upgrade /etc/xoauth2-relay is $(owner_mode /etc/xoauth2-relay)"
ok "reinstall of $version, then upgrade to $new_version: relay try-restarted; edited relay.yaml, spool, state and secrets kept"

# A config the new version refuses: restarting would stop the running relay
# and fail its ExecStartPre=, leaving none. The upgrade keeps it running.
cp /etc/xoauth2-relay/relay.yaml /root/relay.yaml.good
echo "no_such_key: 1" >>/etc/xoauth2-relay/relay.yaml
: >"$calls"
apt-get install -y -q --reinstall "$deb_up" >/tmp/upgrade2.log 2>&1 || { cat /tmp/upgrade2.log; fail "upgrade with a refused config"; }
! grep -q "deb-systemd-invoke" "$calls" || fail "an upgrade with a refused config touched the relay: $(cat "$calls")"
grep -q "was NOT (re)started" /tmp/upgrade2.log || { cat /tmp/upgrade2.log; fail "the upgrade did not say why the relay was not restarted"; }
grep -q "no_such_key" /tmp/upgrade2.log || fail "the upgrade did not show check-config's reason"
cp /root/relay.yaml.good /etc/xoauth2-relay/relay.yaml
ok "an upgrade whose binary refuses the config does not restart (stop) the running relay, and says why"

echo "=== remove: the service is stopped, data and configuration stay"
apt-get remove -y -q xoauth2-relay >/tmp/remove.log 2>&1 || { cat /tmp/remove.log; fail "remove"; }
grep -qE "^deb-systemd-invoke stop '?xoauth2-relay.service" "$calls" || fail "remove does not stop the relay: $(cat "$calls")"
[ ! -e /usr/bin/xoauth2-relay ] || fail "the binary is still there after remove"
for f in /etc/xoauth2-relay/relay.yaml /var/spool/xoauth2-relay/queued.eml /var/lib/xoauth2-relay/state; do
  [ -f "$f" ] || fail "remove deleted $f"
done
ok "apt-get remove: the relay is stopped, the binary gone; relay.yaml, spool and state kept"

# Installing it again after a remove (dpkg passes the old version, as for an
# upgrade) starts the relay again: the remove stopped it while it ran.
grep -q "systemctl is-active" "$calls" || fail "remove did not ask whether the relay ran: $(cat "$calls")"
: >"$calls"
apt-get install -y -q "$deb_up" >/tmp/reinstall2.log 2>&1 || { cat /tmp/reinstall2.log; fail "install after remove"; }
grep -qE "^deb-systemd-invoke start '?xoauth2-relay.service" "$calls" \
  || fail "install after remove did not start the relay: $(cat "$calls")"
[ -L "$wants" ] || fail "install after remove: the unit is not enabled"
ok "install again after remove: the relay the remove stopped is started again, still enabled"
apt-get remove -y -q xoauth2-relay >/tmp/remove2.log 2>&1 || { cat /tmp/remove2.log; fail "second remove"; }

echo "=== purge: the relay's data goes"
apt-get purge -y -q xoauth2-relay >/tmp/purge.log 2>&1 || { cat /tmp/purge.log; fail "purge"; }
for d in /var/spool/xoauth2-relay /var/lib/xoauth2-relay /etc/xoauth2-relay/relay.yaml; do
  [ ! -e "$d" ] || fail "purge left $d"
done
# A secret the admin put there is not the package's to delete; it says so.
[ -f /etc/xoauth2-relay/secrets/contoso.secret ] || fail "purge deleted the admin's secret file"
grep -q "kept /etc/xoauth2-relay" /tmp/purge.log || fail "purge did not say why /etc/xoauth2-relay is kept"
status=$(dpkg-query -W -f='${db:Status-Status}' xoauth2-relay 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = "not-installed" ] || fail "after purge dpkg says: $status"
ok "apt-get purge: spool, state and relay.yaml removed; the admin's secret kept (and said so)"

echo "=== first install with a complete configuration already in place: the relay starts"
# As configuration management would: relay.yaml and its files before the package.
# Secret and key 0600 and owned by the relay's user (the example says so;
# the postinst checks the configuration as that user, like the unit does).
install -d /etc/xoauth2-relay/tls
cp "$here/relay.crt" /etc/xoauth2-relay/tls/relay.crt
install -o xoauth2-relay -m 0600 "$here/relay.key" /etc/xoauth2-relay/tls/relay.key
echo "example-secret" >/etc/xoauth2-relay/secrets/contoso.secret
chown xoauth2-relay /etc/xoauth2-relay/secrets/contoso.secret
cp "$example_copy" /etc/xoauth2-relay/relay.yaml
: >"$calls"
apt-get install -y -q -o Dpkg::Options::=--force-confold "$deb" >/tmp/install2.log 2>&1 \
  || { cat /tmp/install2.log; fail "install over a complete configuration"; }
grep -qE "^deb-systemd-invoke start '?xoauth2-relay.service" "$calls" || fail "the relay was not started: $(cat "$calls")"
[ -L "$wants" ] || fail "a complete configuration: the unit is not enabled"
! grep -q "not started" /tmp/install2.log || fail "the postinst says not started: $(cat /tmp/install2.log)"
cmp -s "$example_copy" /etc/xoauth2-relay/relay.yaml || fail "the install replaced the admin's relay.yaml"
ok "first install over a complete relay.yaml: the admin's file kept, check-config passes, the relay is enabled and started"
echo "=== all package checks passed"

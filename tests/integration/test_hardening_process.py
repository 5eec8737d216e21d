"""Process and file hardening, against the real binary: a relay started as
root outside systemd drops to server.user after binding (or refuses to start
when that user is missing), is not dumpable, and secret or key files open to
group or others, or not regular files, are refused with the fix."""
import os
import pwd
import shutil
import smtplib
import stat
import subprocess

import pytest

from relay_helpers import tls_context, wait_for_log

DROP_USER = "xr-test-drop"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="starts the relay as root")


@pytest.fixture(scope="module")
def drop_user():
    """An unprivileged system user for the relay to become (made if missing)."""
    try:
        return pwd.getpwnam(DROP_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    subprocess.run([useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", DROP_USER],
                   check=True, capture_output=True)
    return pwd.getpwnam(DROP_USER)


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


def test_root_drops_to_server_user_after_binding_and_still_serves(standin, relay, drop_user):
    r = relay(server={"hostname": "relay.test", "user": DROP_USER})
    assert wait_for_log(r, "event=dropped_privileges"), r.redacted_tail()
    status = proc_status(r.proc.pid)
    # real, effective, saved and filesystem ids: all the user's, none root's.
    assert status["Uid"] == [str(drop_user.pw_uid)] * 4, status["Uid"]
    assert status["Gid"] == [str(drop_user.pw_gid)] * 4, status["Gid"]
    assert "0" not in status.get("Groups", []), status.get("Groups")
    # Not dumpable: the kernel then keeps /proc/<pid> owned by root, even
    # though the process runs as the user (the flag is reset by setuid and
    # must have been set again).
    assert os.stat(f"/proc/{r.proc.pid}/status").st_uid == 0
    # Ports bound as root still accept, TLS included (the key was read before
    # the drop).
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        assert s.ehlo()[0] == 250
        s.starttls(context=tls_context(standin.ca))
        assert s.noop()[0] == 250
    with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=30) as s:
        assert s.noop()[0] == 250


def test_root_with_a_missing_server_user_refuses_to_start(relay):
    r = relay(server={"hostname": "relay.test", "user": "xr-no-such-user"}, start=False)
    r.start(wait=False)
    assert r.proc.wait(timeout=30) == 1
    log = r.log_text()
    assert "server.user `xr-no-such-user` does not exist" in log, log
    assert "useradd --system" in log and "or set server.user" in log, log
    assert "event=listening" not in log, log  # refused before anything was bound


def test_no_core_files_even_as_root(relay):
    # Soft and hard core limits 0 (the hard one cannot be raised again
    # without privilege); PR_SET_DUMPABLE itself is covered by the unit test
    # and, after a drop, by the /proc ownership above.
    r = relay()
    with open(f"/proc/{r.proc.pid}/limits") as f:
        core = [line for line in f if line.startswith("Max core file size")][0]
    assert core.split()[4:6] == ["0", "0"], core


def check_config(relay_bin, r):
    return subprocess.run([relay_bin, "check-config", "--config", r.config_path], capture_output=True, text=True)


def test_world_readable_secret_is_refused_with_the_chmod(relay, relay_bin):
    r = relay(start=False)
    secret = os.path.join(r.dir, "contoso.secret")
    os.chmod(secret, 0o644)
    out = check_config(relay_bin, r)
    assert out.returncode == 1
    assert (f"{r.config_path}:" in out.stderr and f"tenants.contoso.client_secret_file: `{secret}` is readable by "
            f"others (mode 0644); run: chmod 600 {secret}" in out.stderr), out.stderr
    r.start(wait=False)
    assert r.proc.wait(timeout=30) == 1
    assert "is readable by others (mode 0644)" in r.log_text()
    os.chmod(secret, 0o600)
    assert check_config(relay_bin, r).returncode == 0


def test_group_readable_listener_key_is_refused(relay, relay_bin, standin, tmp_path):
    key = tmp_path / "relay.key"
    shutil.copyfile(standin.server_key, key)
    os.chmod(key, 0o640)
    r = relay(listeners=[{"tls": "implicit", "key_file": str(key)}], start=False)
    out = check_config(relay_bin, r)
    assert out.returncode == 1
    assert f"listeners[0].key_file: `{key}` is readable by its group (mode 0640); run: chmod 600 {key}" \
        in out.stderr, out.stderr


def test_a_fifo_as_secret_does_not_hang_a_reload(standin, relay):
    r = relay()
    secret = os.path.join(r.dir, "contoso.secret")
    os.unlink(secret)
    os.mkfifo(secret, 0o600)
    r.reload()
    assert wait_for_log(r, "event=reload_failed"), r.redacted_tail()
    assert "is a FIFO (named pipe); expected a regular file" in r.log_text()
    with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=30) as s:
        assert s.noop()[0] == 250  # the running configuration is kept
    assert stat.S_ISFIFO(os.stat(secret).st_mode)

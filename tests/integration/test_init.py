"""`xoauth2-relay init` end to end: with flags (--non-interactive) aimed at
the stand-in, it writes a config that passes check-config and relays a
message; the secret and key files are 0600; it never overwrites; a missing
flag is named; at a terminal it asks (password hidden, twice). The client
secret and the password appear in no output."""
import os
import select
import smtplib
import ssl
import stat
import subprocess
import time

import pytest

from conftest import CLIENT_ID, START_TIMEOUT, TENANT_ID, free_port
from relay_helpers import make_message
from ports import port_open

USER = "scanner01"
PASSWORD = 'init: pass "word" #1'
MAILBOX = "scanner@contoso.com"


def init_args(standin, config, secret_file, listen, *extra):
    return ["init", "--non-interactive", "--config", config, "--tenant-id", TENANT_ID, "--client-id", CLIENT_ID,
            "--client-secret-file", secret_file, "--user", USER, "--password-stdin", "--mailbox", MAILBOX,
            "--listen", listen, "--authority", standin.authority,
            "--smtp-host", f"127.0.0.1:{standin.smtp_port}", "--ca-file", standin.ca, *extra]


def run(relay_bin, args, stdin=PASSWORD + "\n"):
    out = subprocess.run([relay_bin, *args], input=stdin.encode(), capture_output=True, timeout=60)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


def no_secrets(standin, *texts):
    for text in texts:
        assert standin.secret not in text
        assert PASSWORD not in text
        assert "PRIVATE KEY" not in text


@pytest.fixture
def secret_file(standin, tmp_path):
    """The admin's copy of the secret, as saved from the portal (any mode)."""
    path = tmp_path / "downloaded-secret.txt"
    path.write_text(standin.secret + "\n")
    return str(path)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def check_config(relay_bin, config):
    out = subprocess.run([relay_bin, "check-config", "--config", config], capture_output=True, timeout=60)
    return out.returncode, out.stdout.decode() + out.stderr.decode()


def test_init_writes_a_config_that_passes_check_config_and_relays(standin, relay_bin, tmp_path, secret_file):
    config = str(tmp_path / "etc" / "relay.yaml")
    port = free_port()
    code, out, err = run(relay_bin, init_args(standin, config, secret_file, f"127.0.0.1:{port}"))
    assert code == 0, err
    no_secrets(standin, out, err)
    assert f"next: xoauth2-relay check-config --config {config}; xoauth2-relay doctor --config {config}" in out
    assert f"New-ServicePrincipal -AppId '{CLIENT_ID}' -ObjectId $ObjectId" in out
    assert f"Add-MailboxPermission -Identity '{MAILBOX}' -User $ObjectId -AccessRights FullAccess" in out
    assert f"Set-CASMailbox -Identity '{MAILBOX}' -SmtpClientAuthenticationDisabled $false" in out

    etc = tmp_path / "etc"
    assert mode(etc / "secrets" / "contoso.secret") == 0o600
    assert mode(etc / "tls" / "relay.key") == 0o600
    assert (etc / "secrets" / "contoso.secret").read_text() == standin.secret + "\n"
    assert PASSWORD not in (etc / "relay.yaml").read_text()

    check = subprocess.run([relay_bin, "check-config", "--config", config], capture_output=True, timeout=60)
    # OK, and not even a warning.
    assert (check.returncode, check.stdout, check.stderr) == (0, b"OK\n", b""), check.stderr.decode()
    # The second command init prints: the Office 365 side, against the stand-in.
    doctor = subprocess.run([relay_bin, "doctor", "--config", config], capture_output=True, timeout=120)
    text = doctor.stdout.decode() + doctor.stderr.decode()
    assert doctor.returncode == 0, text
    no_secrets(standin, text)

    # The relay runs with that file unchanged. The suite runs as root and the
    # config names the service user (xoauth2-relay), which does not exist
    # here: INVOCATION_ID makes the relay believe systemd started it, so it
    # stays as it is instead of refusing to start.
    log_path = tmp_path / "relay.log"
    env = dict(os.environ, INVOCATION_ID="test-init")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([relay_bin, "run", "--config", config], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not port_open(port):
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the relay is not listening"
            time.sleep(0.05)
        # A device that verifies: the generated certificate names the listen address.
        ctx = ssl.create_default_context(cafile=str(etc / "tls" / "relay.crt"))
        msg = make_message(size=2000, seed="init")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("device.test")
            s.starttls(context=ctx)
            s.ehlo("device.test")
            s.login(USER, PASSWORD)
            s.mail(MAILBOX)
            assert s.rcpt("dest@example.com")[0] == 250
            code, resp = s.data(msg)
        assert code == 250, resp
        stored = standin.messages()
        assert len(stored) == 1 and stored[0]["data"] == msg
        assert stored[0]["mailbox"] == MAILBOX
    finally:
        proc.terminate()
        proc.wait(15)
    no_secrets(standin, log_path.read_text())


def test_init_never_overwrites(standin, relay_bin, tmp_path, secret_file):
    config = str(tmp_path / "relay.yaml")
    args = init_args(standin, config, secret_file, "127.0.0.1:2525")
    assert run(relay_bin, args)[0] == 0
    before = open(config).read()
    code, out, err = run(relay_bin, args)
    assert code == 1
    assert f"{config} exists; init never overwrites a file" in err
    assert "--force" in err and f"--config {tmp_path}/relay-new.yaml" in err
    assert open(config).read() == before
    no_secrets(standin, out, err)
    # --force replaces, with the modes of new files.
    args[args.index("--user") + 1] = "scanner02"
    code, out, err = run(relay_bin, args + ["--force"])
    assert code == 0, err
    assert "\n  scanner02:\n" in open(config).read()
    assert mode(tmp_path / "secrets" / "contoso.secret") == 0o600
    assert mode(tmp_path / "tls" / "relay.key") == 0o600


def test_init_names_the_missing_flags(standin, relay_bin, tmp_path, secret_file):
    config = str(tmp_path / "etc" / "relay.yaml")
    args = init_args(standin, config, secret_file, "127.0.0.1:2525")
    for flag, has_value in (("--tenant-id", True), ("--password-stdin", False)):
        i = args.index(flag)
        del args[i:i + 2 if has_value else i + 1]
    code, out, err = run(relay_bin, args)
    assert code == 2
    assert "missing --tenant-id" in err
    assert "missing --password-stdin" in err
    assert not os.path.exists(tmp_path / "etc")
    no_secrets(standin, out, err)


class Terminal:
    """The command on a pseudo-terminal (stdin and stderr, where prompts
    go); stdout, the result, is a pipe."""

    def __init__(self, argv):
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        self.seen = ""
        self.pos = 0

    def expect(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.pos:]:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"ended before {text!r}:\n{self.seen}"
                self.seen += chunk.decode("utf-8", "replace")
        self.pos = self.seen.index(text, self.pos) + len(text)

    def send(self, line):
        os.write(self.master, (line + "\n").encode())

    def finish(self):
        out = self.proc.stdout.read().decode()
        code = self.proc.wait(60)
        try:
            while select.select([self.master], [], [], 0.2)[0]:
                chunk = os.read(self.master, 4096)
                if not chunk:
                    break
                self.seen += chunk.decode("utf-8", "replace")
        except OSError:
            pass
        os.close(self.master)
        return code, out


def test_init_at_a_terminal_asks_with_defaults_and_hides_secrets(standin, relay_bin, tmp_path):
    config = str(tmp_path / "relay.yaml")
    t = Terminal([relay_bin, "init", "--config", config, "--ca-file", standin.ca])
    t.expect("Directory (tenant) ID: ")
    t.send("not a tenant")
    t.expect("neither a GUID nor a domain")  # asked again
    t.expect("Directory (tenant) ID: ")
    t.send(TENANT_ID)
    t.expect("Application (client) ID: ")
    t.send(CLIENT_ID)
    t.expect("input hidden): ")
    t.send(standin.secret)
    t.expect("Office 365 mailbox the device sends as: ")
    t.send(MAILBOX)
    t.expect("Device login name [scanner]: ")
    t.send("")  # the default
    t.expect("input hidden): ")
    t.send(PASSWORD)
    t.expect("Again: ")
    t.send(PASSWORD + "x")
    t.expect("the two passwords differ")
    t.expect("input hidden): ")
    t.send(PASSWORD)
    t.expect("Again: ")
    t.send(PASSWORD)
    t.expect("SMTP listener (STARTTLS) IP:PORT [0.0.0.0:587]: ")
    t.send("127.0.0.1:2525")
    t.expect("Token authority [https://login.microsoftonline.com]: ")
    t.send(standin.authority)
    t.expect("Exchange SMTP host:port [smtp.office365.com:587]: ")
    t.send(f"127.0.0.1:{standin.smtp_port}")
    t.expect("Tenant name (in the config) [contoso]: ")
    t.send("")
    code, out = t.finish()
    assert code == 0, t.seen
    # Echo was off for the secret and the password: the terminal never showed them.
    no_secrets(standin, t.seen, out)
    text = open(config).read()
    assert '\n  scanner:\n' in text and f'tenant_id: "{TENANT_ID}"' in text
    assert f'authority: "{standin.authority}"' in text
    code, check = check_config(relay_bin, config)
    assert code == 0, check
    assert mode(tmp_path / "secrets" / "contoso.secret") == 0o600

"""The `relay` fixture itself, driven with fake_relay.py instead of the real
binary: the config it writes, port naming, start-up wait, and the log guard
that must catch credentials in the relay's log."""
import base64
import os
import socket

import pytest

from relay_helpers import PASSWORD, USER

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_relay.py")


@pytest.fixture
def relay_bin():
    # Overrides conftest's relay_bin for this module only.
    return FAKE


def test_default_relay_has_three_named_listeners(standin, relay):
    r = relay()
    assert set(r.ports) == {"starttls", "implicit", "plain"}
    for name in r.ports:
        socket.create_connection(("127.0.0.1", r.port(name)), timeout=5).close()
    text = open(r.config_path, encoding="utf-8").read()
    assert f'authority: "https://127.0.0.1:{standin.token_port}"' in text
    assert f"port: {standin.smtp_port}" in text
    assert 'client_secret_file: "contoso.secret"' in text
    assert PASSWORD not in text and standin.secret not in text  # only the hash and a file name
    assert open(os.path.join(r.dir, "contoso.secret")).read() == standin.secret + "\n"
    assert oct(os.stat(os.path.join(r.dir, "contoso.secret")).st_mode & 0o777) == "0o600"
    [plain] = [l for l in r.config["listeners"] if l["tls"] == "none"]
    assert plain["allow_plaintext_auth"] is True and "cert_file" not in plain
    [tls] = [l for l in r.config["listeners"] if l["tls"] == "starttls"]
    assert tls["allow_plaintext_auth"] is False and tls["cert_file"] == standin.server_cert
    assert r.config["users"][USER]["password_hash"].startswith("$y$fake$")


def test_overrides_merge(standin, relay):
    r = relay(listeners=[{"tls": "starttls"}, {"tls": "starttls", "name": "second"}, {"tls": "starttls"}],
              users={USER: {"senders": ["*@contoso.com"]}, "other": {"password": "pw two"}},
              limits={"command_timeout": "2s"}, tenants={"contoso": {"smtp": {"port": 1}}},
              log={"level": "info"}, client_secret="wrong-secret")
    assert set(r.ports) == {"starttls", "second", "starttls2"}
    users = r.config["users"]
    assert users[USER]["senders"] == ["*@contoso.com"] and users[USER]["mailbox"] == "scanner@contoso.com"
    assert users["other"]["password_hash"] != users[USER]["password_hash"]
    assert "password" not in users["other"]
    assert r.config["tenants"]["contoso"]["smtp"] == {"host": "127.0.0.1", "port": 1, "tls": "starttls"}
    assert r.config["log"] == {"level": "info", "format": "text"}
    assert r.config["limits"] == {"command_timeout": "2s"}
    assert open(os.path.join(r.dir, "contoso.secret")).read() == "wrong-secret\n"


@pytest.mark.parametrize("leak, what", [
    (lambda s: s.secret, "client secret"),
    (lambda s: PASSWORD, "the default test password"),
    (lambda s: base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(), "the default test password"),
    (lambda s: s.token(), "something that looks like a token (eyJ...)"),
])
def test_log_guard_names_what_leaked(standin, relay, leak, what):
    r = relay()
    assert r.leaks() == []
    with open(r.log_path, "a", encoding="utf-8") as f:
        f.write(f"debug: AUTH line {leak(standin)}\n")
    assert what in r.leaks()
    assert all(standin.secret not in w and PASSWORD not in w for w in r.leaks())
    open(r.log_path, "w").close()  # so this test's own teardown passes


def test_relay_that_exits_fails_with_a_redacted_tail(standin, relay):
    r = relay(start=False)
    r.bin = "/bin/false"
    with pytest.raises(pytest.fail.Exception, match="exited"):
        r.start()

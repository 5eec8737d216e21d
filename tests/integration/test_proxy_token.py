"""Issue 14, outbound proxy: token requests go through a real HTTP proxy
(Debian's tinyproxy on 127.0.0.1, tests/integration/proxy_fixtures.py) by
CONNECT, so TLS to the token endpoint stays end to end.

- a tenant's `proxy:` carries the token request (the proxy's log shows the
  CONNECT to the stand-in's token port) and devices are served;
- Basic auth from `proxy_auth_file`; a wrong password is a token_failed line
  naming the proxy and its 407, /readyz 503, devices a retryable 454;
- a proxy that refuses CONNECT (403): the same, naming the proxy hop;
- HTTPS_PROXY from the environment when `proxy:` is absent, NO_PROXY
  bypassing it, and `proxy: none` ignoring it (curl never reads the
  environment on its own);
- a reload onto another proxy fetches a new token at once, through it;
- no proxy password in the relay's log, /readyz, or check-config's output.
"""
import os
import re
import smtplib
import subprocess

import pytest

from proxy_fixtures import http_proxy  # noqa: F401  (the fixture)
from relay_helpers import PASSWORD, USER, make_message, tls_context, wait_for_log
from test_relay_operations import admin_relay, http_get
from test_relay_smtp import send
from test_setup_token_start import wait_until

PROXY_USER = "relayuser"
PROXY_PASSWORD = "Pr0xy-pass.w0rd_Secret"  # tinyproxy takes [-A-Za-z0-9._] only
WRONG_PASSWORD = "Not-The-Pr0xy-Password"


@pytest.fixture(autouse=True)
def clean_proxy_env(monkeypatch):
    """No proxy variables from whoever runs the suite: each test sets its own."""
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY",
                 "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def auth_file(r_dir, password, user=PROXY_USER):
    path = os.path.join(r_dir, "proxy.auth")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{user}:{password}\n")
    return path


def proxied_relay(relay, tmp_path, proxy_url, password=None, start=True):
    """A relay with /admin whose tenant uses `proxy_url` (and, with a
    password, a proxy_auth_file holding PROXY_USER:password)."""
    tenant = {"proxy": proxy_url}
    if password is not None:
        tenant["proxy_auth_file"] = auth_file(str(tmp_path), password)
    r = admin_relay(relay, tenants={"contoso": tenant}, start=start)
    forbid_proxy_secrets(r)
    return r


def forbid_proxy_secrets(r):
    # leaks() also looks for their base64 forms (Proxy-Authorization: Basic).
    r.forbid_in_log("the proxy password", PROXY_PASSWORD)
    r.forbid_in_log("the proxy user:password", f"{PROXY_USER}:{PROXY_PASSWORD}")
    r.forbid_in_log("the wrong proxy password", WRONG_PASSWORD)
    r.forbid_in_log("the wrong proxy user:password", f"{PROXY_USER}:{WRONG_PASSWORD}")


def token_target(standin):
    return f"127.0.0.1:{standin.token_port}"


def log_lines(r, event):
    return [l for l in r.log_text().splitlines() if f"event={event} " in l + " "]


def readyz(r):
    return http_get(r, "/readyz")


def no_secret_in(text):
    for s in (PROXY_PASSWORD, WRONG_PASSWORD):
        assert s not in text


def login_refused_454(r, standin):
    """A device logging in while there is no token hears 454 (retry later)."""
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            s.login(USER, PASSWORD)
    assert err.value.smtp_code == 454, err.value
    assert err.value.smtp_error.startswith(b"4.7.0"), err.value


def test_token_is_fetched_through_the_tenants_proxy_and_devices_are_served(standin, relay, tmp_path, http_proxy):
    proxy = http_proxy()
    r = proxied_relay(relay, tmp_path, proxy.url)
    assert wait_for_log(r, "event=token_ok", timeout=15), r.redacted_tail()
    proxy.wait_connect(token_target(standin))
    wait_until("readyz 200", lambda: readyz(r) == (200, "ready\n"))
    assert standin.stats()["token"]["requests"] == 1
    code, resp = send(r, "starttls", make_message(500, "via-proxy"), ca=standin.ca)
    assert code == 250, resp
    assert standin.stats()["token"]["requests"] == 1  # the token fetched through the proxy served the device


def test_basic_auth_from_proxy_auth_file(standin, relay, tmp_path, http_proxy):
    proxy = http_proxy(auth=(PROXY_USER, PROXY_PASSWORD))
    r = proxied_relay(relay, tmp_path, proxy.url, password=PROXY_PASSWORD)
    assert wait_for_log(r, "event=token_ok", timeout=15), r.redacted_tail()
    proxy.wait_connect(token_target(standin))
    assert "refused CONNECT" not in r.log_text()  # not "407": session ids and timestamps can hold it
    no_secret_in(r.log_text())


def test_wrong_proxy_password_is_token_failed_naming_the_proxy_and_its_answer(standin, relay, tmp_path, http_proxy):
    proxy = http_proxy(auth=(PROXY_USER, PROXY_PASSWORD))
    r = proxied_relay(relay, tmp_path, proxy.url, password=WRONG_PASSWORD)
    assert wait_for_log(r, "event=token_failed", timeout=15), r.redacted_tail()
    [line] = log_lines(r, "token_failed")[:1]
    # tinyproxy 1.11 answers rejected credentials with 401 (missing ones: 407).
    want = (f"proxy {proxy.url} refused CONNECT to {token_target(standin)}: HTTP 401 (it did not accept the "
            "user:password from proxy_auth_file)")
    assert want in line, line
    assert 'fix="the proxy wants (other) credentials: check the user:password line in the tenant\'s ' \
        'proxy_auth_file' in line, line
    assert "retry=yes" in line, line
    status, body = readyz(r)
    assert status == 503 and want in body, body
    login_refused_454(r, standin)
    assert standin.stats()["token"]["requests"] == 0  # nothing reached the endpoint
    no_secret_in(r.log_text() + body)


def test_missing_proxy_credentials_say_there_is_no_proxy_auth_file(standin, relay, tmp_path, http_proxy):
    proxy = http_proxy(auth=(PROXY_USER, PROXY_PASSWORD))
    r = proxied_relay(relay, tmp_path, proxy.url)
    assert wait_for_log(r, "event=token_failed", timeout=15), r.redacted_tail()
    line = log_lines(r, "token_failed")[0]
    assert (f"proxy {proxy.url} refused CONNECT to {token_target(standin)}: HTTP 407 (Proxy Authentication "
            "Required, and the tenant has no proxy_auth_file)") in line, line
    assert "proxy_auth_file" in line.split("fix=", 1)[1], line


def test_proxy_refusing_connect_names_the_proxy_hop_readyz_503_devices_454(standin, relay, tmp_path, http_proxy):
    proxy = http_proxy(connect_ports=[1])  # CONNECT to any real port: 403
    r = proxied_relay(relay, tmp_path, proxy.url)
    assert wait_for_log(r, "event=token_failed", timeout=15), r.redacted_tail()
    line = log_lines(r, "token_failed")[0]
    want = f"proxy {proxy.url} refused CONNECT to {token_target(standin)}: HTTP 403"
    assert want in line, line
    assert "allow CONNECT" in line and "token endpoint unreachable" not in line, line
    assert proxy.refused() == [standin.token_port]
    status, body = readyz(r)
    assert status == 503, body
    assert f"tenant contoso has no token: {want}" in body, body
    login_refused_454(r, standin)
    assert standin.stats()["token"]["requests"] == 0


def test_unreachable_proxy_says_cannot_connect_to_proxy(standin, relay, tmp_path):
    from conftest import free_port
    dead = f"http://127.0.0.1:{free_port()}"
    r = proxied_relay(relay, tmp_path, dead)
    assert wait_for_log(r, "event=token_failed", timeout=20), r.redacted_tail()
    line = log_lines(r, "token_failed")[0]
    assert f"cannot connect to proxy {dead}: Connection refused" in line, line
    assert readyz(r)[0] == 503


def test_https_proxy_from_the_environment_when_the_tenant_has_no_proxy(standin, relay, http_proxy, monkeypatch,
                                                                        relay_bin):
    proxy = http_proxy()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    r = admin_relay(relay)
    assert wait_for_log(r, "event=token_ok", timeout=15), r.redacted_tail()
    proxy.wait_connect(token_target(standin))
    # check-config shows where the proxy came from (its environment may not
    # be the service's).
    out = subprocess.run([relay_bin, "check-config", "--config", r.config_path], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"tenant contoso: proxy {proxy.url} (from HTTPS_PROXY)" in out.stdout, out.stdout


def test_no_proxy_from_the_environment_bypasses_the_proxy(standin, relay, http_proxy, monkeypatch):
    proxy = http_proxy()
    monkeypatch.setenv("https_proxy", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.0/8")
    r = admin_relay(relay)
    assert wait_for_log(r, "event=token_ok", timeout=15), r.redacted_tail()
    assert send(r, "starttls", make_message(300, "direct"), ca=standin.ca)[0] == 250
    assert proxy.connects() == []


def test_proxy_none_ignores_the_environment_and_curl_never_reads_it(standin, relay, monkeypatch):
    from conftest import free_port
    dead = f"http://127.0.0.1:{free_port()}"
    # Were curl to read these itself, the token request would fail.
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead)
    r = admin_relay(relay, tenants={"contoso": {"proxy": "none"}})
    assert wait_for_log(r, "event=token_ok", timeout=15), r.redacted_tail()
    assert "event=token_failed" not in r.log_text()


def test_reload_onto_another_proxy_fetches_a_new_token_through_it(standin, relay, tmp_path, http_proxy):
    first, second = http_proxy(), http_proxy(auth=(PROXY_USER, PROXY_PASSWORD))
    r = proxied_relay(relay, tmp_path, first.url)
    assert wait_for_log(r, "event=token_ok", timeout=15), r.redacted_tail()
    first.wait_connect(token_target(standin))
    config = dict(r.config)
    config["tenants"] = {"contoso": dict(config["tenants"]["contoso"], proxy=second.url,
                                         proxy_auth_file=auth_file(str(tmp_path), PROXY_PASSWORD))}
    r.write_config(config)
    r.reload()
    assert wait_for_log(r, "event=reloaded"), r.redacted_tail()
    # The token was still valid: only the changed proxy makes the relay fetch.
    second.wait_connect(token_target(standin))
    wait_until("a second token_ok", lambda: len(log_lines(r, "token_ok")) == 2)
    assert len(first.connects()) == 1
    assert "fetching_tokens=contoso" in log_lines(r, "reloaded")[0]
    no_secret_in(r.log_text())


def test_check_config_refuses_credentials_in_the_proxy_url_without_echoing_them(standin, relay, relay_bin):
    r = admin_relay(relay, tenants={"contoso": {"proxy": f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:3128"}},
                    start=False)
    out = subprocess.run([relay_bin, "check-config", "--config", r.config_path], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1
    assert re.search(r"relay\.yaml:\d+:\d+: tenants\.contoso\.proxy: the proxy URL holds a user name and password",
                     out.stderr), out.stderr
    assert "proxy_auth_file" in out.stderr
    no_secret_in(out.stdout + out.stderr)
    assert PROXY_USER not in out.stderr

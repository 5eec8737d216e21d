"""Issue 14, outbound proxy: the upstream SMTP, IMAP and POP3 connections go
through the tenant's HTTP proxy by CONNECT (Debian's tinyproxy on
127.0.0.1, tests/integration/proxy_fixtures.py); TLS to the stand-in stays
end to end inside the tunnel, with the same certificate checks.

- SMTP (STARTTLS upstream) relays a message through the proxy, direct and
  spooled; IMAP and POP3 (implicit TLS upstream) log in through it;
- Basic auth from `proxy_auth_file`;
- a proxy that refuses CONNECT to the upstream's port (403), and a proxy
  that is down: devices get their protocol's retryable answer (SMTP 454,
  IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]) and the log names the proxy
  hop;
- doctor prints a proxy row before each login row and says which hop failed;
- no proxy password in any log or output.
"""
import base64
import imaplib
import os
import poplib
import re
import smtplib
import subprocess

import pytest

from mailbox_relay import MAILBOX, mailbox_relay
from proxy_fixtures import http_proxy  # noqa: F401  (the fixture)
from relay_helpers import PASSWORD, USER, make_message, raw_lines, raw_session, tls_context, wait_for_log
from spool_helpers import spool_relay, submit, wait_messages
from test_doctor import ALL, doctor, doctor_relay, row
from test_relay_smtp import send

PROXY_USER = "relay-upstream"
PROXY_PASSWORD = "Upstr3am.Pr0xy_pass"  # tinyproxy takes [-A-Za-z0-9._] only


@pytest.fixture(autouse=True)
def clean_proxy_env(monkeypatch):
    """No proxy variables from whoever runs the suite: the tenant's `proxy:` decides."""
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY",
                 "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def proxied(proxy, tmp_path=None, auth=False):
    """The tenant keys that send everything through `proxy`."""
    tenant = {"proxy": proxy.url}
    if auth:
        path = os.path.join(str(tmp_path), "proxy.auth")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{PROXY_USER}:{PROXY_PASSWORD}\n")
        tenant["proxy_auth_file"] = path
    return {"contoso": tenant}


def forbid_proxy_secrets(r):
    # leaks() also looks for the base64 forms (Proxy-Authorization: Basic).
    r.forbid_in_log("the proxy password", PROXY_PASSWORD)
    r.forbid_in_log("the proxy user:password", f"{PROXY_USER}:{PROXY_PASSWORD}")
    return r


def log_events(r, event):
    return [l for l in r.log_text().splitlines() if f" event={event} " in l + " "]


def wait_token(r):
    assert wait_for_log(r, "event=token_ok", timeout=30), r.redacted_tail()


def smtp_auth_reply(r):
    """AUTH PLAIN on the plaintext listener; the relay's reply to it."""
    with raw_session(r.port("plain")) as c:
        assert c.read_reply().startswith(b"220 ")
        assert c.cmd(b"EHLO device.test").startswith(b"250")
        token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
        return c.cmd(b"AUTH PLAIN " + token)


def imap_login_reply(r):
    with raw_lines(r.port("imap_plain")) as c:
        assert c.line().startswith(b"* OK")
        c.send(b'a1 LOGIN ' + USER.encode() + b' "' + PASSWORD.encode() + b'"\r\n')
        return c.until_tagged(b"a1")[-1]


def pop3_login_reply(r, standin):
    p = poplib.POP3_SSL("127.0.0.1", r.port("pop3s"), context=tls_context(standin.ca), timeout=30)
    try:
        p.user(USER)
        with pytest.raises(poplib.error_proto) as refused:
            p.pass_(PASSWORD)
        return refused.value.args[0]
    finally:
        p.close()


# --- through the proxy ----------------------------------------------------------------------------


def test_smtp_message_relayed_through_the_proxy(standin, relay, http_proxy):
    proxy = http_proxy()
    r = forbid_proxy_secrets(relay(tenants=proxied(proxy)))
    msg = make_message(200 * 1024, seed="proxy-smtp", dot_lines=True)
    code, _ = send(r, "starttls", msg, ca=standin.ca)
    assert code == 250
    # The relay asked the proxy for the stand-in's SMTP port; STARTTLS and
    # XOAUTH2 ran through that tunnel, and the message arrived whole.
    proxy.wait_connect(f"127.0.0.1:{standin.smtp_port}")
    assert [m["data"] for m in standin.messages()] == [msg]
    ok = log_events(r, "upstream_ok")
    assert ok and f"proxy={proxy.url}" in ok[-1], ok


def test_spooled_message_delivered_through_the_proxy(standin, relay, http_proxy, tmp_path):
    proxy = http_proxy()
    r = forbid_proxy_secrets(spool_relay(relay, tmp_path, tenants=proxied(proxy)))
    msg = make_message(4096, seed="proxy-spool")
    code, _ = submit(r, msg)
    assert code == 250
    wait_messages(standin, 1, r)
    proxy.wait_connect(f"127.0.0.1:{standin.smtp_port}")
    assert standin.messages()[0]["data"] == msg


def test_imap_and_pop3_log_in_through_the_proxy_with_implicit_tls(standin, relay, http_proxy):
    proxy = http_proxy()
    r = forbid_proxy_secrets(mailbox_relay(relay, standin, tenants=proxied(proxy)))
    msg = make_message(2048, seed="proxy-imap")
    with imaplib.IMAP4_SSL("127.0.0.1", r.port("imaps"), ssl_context=tls_context(standin.ca), timeout=30) as m:
        assert m.login(USER, PASSWORD)[0] == "OK"
        assert m.append("INBOX", None, None, msg)[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
        typ, fetched = m.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and fetched[0][1] == msg
        m.logout()
    proxy.wait_connect(f"127.0.0.1:{standin.imap_port}")
    p = poplib.POP3_SSL("127.0.0.1", r.port("pop3s"), context=tls_context(standin.ca), timeout=30)
    try:
        p.user(USER)
        assert p.pass_(PASSWORD).startswith(b"+OK")
        assert p.stat()[0] == 1
        p.quit()
    finally:
        p.close()
    proxy.wait_connect(f"127.0.0.1:{standin.pop3_port}")
    assert [x["data"] for x in standin.mailbox_messages(MAILBOX)] == [msg]
    ok = log_events(r, "upstream_ok")
    assert len([l for l in ok if f"proxy={proxy.url}" in l]) >= 2, ok


def test_basic_auth_from_proxy_auth_file(standin, relay, http_proxy, tmp_path):
    proxy = http_proxy(auth=(PROXY_USER, PROXY_PASSWORD))
    r = forbid_proxy_secrets(relay(tenants=proxied(proxy, tmp_path, auth=True)))
    msg = make_message(1024, seed="proxy-auth")
    code, _ = send(r, "starttls", msg, ca=standin.ca)
    assert code == 250
    proxy.wait_connect(f"127.0.0.1:{standin.smtp_port}")
    assert [m["data"] for m in standin.messages()] == [msg]
    # tinyproxy answers 407 to a CONNECT without valid credentials; none was.
    assert "refused CONNECT" not in r.log_text()  # not "407": session ids and timestamps can hold it


# --- the proxy hop fails -------------------------------------------------------------------------


def test_proxy_refusing_connect_gives_devices_a_retryable_answer(standin, relay, http_proxy):
    # The token port is allowed (the token must work), the mail ports are not.
    proxy = http_proxy(connect_ports=[standin.token_port])
    listeners = [{"tls": "none"}, {"name": "imap_plain", "protocol": "imap", "tls": "none"},
                 {"name": "pop3s", "protocol": "pop3", "tls": "implicit"}]
    r = forbid_proxy_secrets(mailbox_relay(relay, standin, listeners=listeners, tenants=proxied(proxy),
                                           users={USER: {"protocols": ["smtp", "imap", "pop3"]}}))
    wait_token(r)

    reply = smtp_auth_reply(r)
    assert reply.startswith(b"454 4.7.0"), reply
    assert imap_login_reply(r).startswith(b"a1 NO [UNAVAILABLE]")
    assert pop3_login_reply(r, standin).startswith(b"-ERR [SYS/TEMP]")

    assert sorted(set(proxy.refused())) == sorted({standin.smtp_port, standin.imap_port, standin.pop3_port})
    failed = log_events(r, "upstream_failed")
    assert len(failed) == 3, failed
    for line, port in zip(failed, [standin.smtp_port, standin.imap_port, standin.pop3_port]):
        assert "hop=proxy" in line and "status=connect_failed" in line, line
        assert f"proxy {proxy.url} refused CONNECT to 127.0.0.1:{port}: 403" in line, line
    assert standin.stats()["smtp"]["connections"] == 0


def test_proxy_down_gives_devices_a_retryable_answer(standin, relay, http_proxy):
    proxy = http_proxy()
    r = forbid_proxy_secrets(mailbox_relay(relay, standin, listeners=[{"tls": "none"},
                                                                      {"name": "imap_plain", "protocol": "imap",
                                                                       "tls": "none"}],
                                           tenants=proxied(proxy),
                                           users={USER: {"protocols": ["smtp", "imap"]}}))
    wait_token(r)  # fetched through the proxy while it was up
    proxy.stop()

    reply = smtp_auth_reply(r)
    assert reply.startswith(b"454 4.7.0"), reply
    assert imap_login_reply(r).startswith(b"a1 NO [UNAVAILABLE]")
    failed = log_events(r, "upstream_failed")
    assert len(failed) == 2, failed
    for line in failed:
        assert "hop=proxy" in line, line
        assert f"connect to proxy {proxy.url}: Connection refused" in line, line


def test_upstream_tls_failure_through_the_proxy_names_the_upstream_hop(standin, relay, http_proxy):
    """The proxy opened the tunnel; the handshake behind it failed (the IMAP
    endpoint points at the stand-in's SMTP port, which speaks plaintext
    first): the upstream hop, exactly as without a proxy."""
    proxy = http_proxy()
    tenants = proxied(proxy)
    tenants["contoso"]["imap"] = {"host": "127.0.0.1", "port": standin.smtp_port, "tls": "implicit"}
    r = forbid_proxy_secrets(mailbox_relay(relay, standin, listeners=[{"name": "imap_plain", "protocol": "imap",
                                                                       "tls": "none"}],
                                           tenants=tenants, users={USER: {"protocols": ["imap"]}}))
    wait_token(r)
    reply = imap_login_reply(r)
    assert reply.startswith(b"a1 NO [UNAVAILABLE]"), reply
    proxy.wait_connect(f"127.0.0.1:{standin.smtp_port}")
    failed = log_events(r, "upstream_failed")
    assert len(failed) == 1, failed
    assert "hop=upstream" in failed[0] and "status=tls_failed" in failed[0], failed
    assert f"TLS handshake with 127.0.0.1:{standin.smtp_port}" in failed[0]


# --- doctor ------------------------------------------------------------------------------------------


def test_doctor_through_a_healthy_proxy(standin, relay, http_proxy, tmp_path):
    proxy = http_proxy(auth=(PROXY_USER, PROXY_PASSWORD))
    r = doctor_relay(relay, standin, tenants=proxied(proxy, tmp_path, auth=True))
    code, text = doctor(r, standin)
    assert code == 0, text
    assert PROXY_PASSWORD not in text
    ports = {"smtp": standin.smtp_port, "imap": standin.imap_port, "pop3": standin.pop3_port}
    lines = text.splitlines()
    for p in ALL:
        proxy_row = row(text, "proxy", p)
        assert proxy_row.endswith(f"ok, CONNECT 127.0.0.1:{ports[p]} through {proxy.url}"), proxy_row
        assert row(text, "login", p).endswith(" ok")
        # The proxy hop's row comes right before its login's.
        assert lines.index(proxy_row) < lines.index(row(text, "login", p))
        proxy.wait_connect(f"127.0.0.1:{ports[p]}")


def test_doctor_names_the_proxy_hop_that_refused(standin, relay, http_proxy):
    # Token, IMAP and POP3 ports allowed; SMTP's is not.
    proxy = http_proxy(connect_ports=[standin.token_port, standin.imap_port, standin.pop3_port])
    r = doctor_relay(relay, standin, tenants=proxied(proxy))
    code, text = doctor(r, standin)
    assert code == 1, text
    assert "ok, valid for" in row(text, "token")
    smtp_proxy = row(text, "proxy", "smtp")
    assert f"FAIL: proxy {proxy.url} refused CONNECT to 127.0.0.1:{standin.smtp_port}: 403" in smtp_proxy
    assert "not tried: the proxy hop" in row(text, "login", "smtp")
    assert f"does not allow CONNECT to 127.0.0.1:{standin.smtp_port}" in text  # the fix
    assert f"ConnectPort {standin.smtp_port}" in text
    for p in ("imap", "pop3"):
        assert row(text, "proxy", p).endswith(f"through {proxy.url}")
        assert row(text, "login", p).endswith(" ok")


def test_doctor_names_a_proxy_that_is_down(standin, relay, http_proxy):
    proxy = http_proxy()
    url = proxy.url
    proxy.stop()
    r = doctor_relay(relay, standin, tenants=proxied(proxy))
    code, text = doctor(r, standin)
    assert code == 1, text
    # The token request is the first thing through the proxy: its row names it.
    token = row(text, "token")
    assert "FAIL" in token and url in token, token
    assert "not tried: no token for this tenant" in row(text, "login", "smtp")


def test_doctor_names_the_upstream_hop_when_tls_fails_behind_the_proxy(standin, relay, http_proxy):
    """The proxy row passes and the login row names Office 365's TLS: POP3's
    endpoint points at the stand-in's SMTP port, so the tunnel opens and the
    handshake behind it fails (the server speaks plaintext SMTP first)."""
    proxy = http_proxy()
    r = doctor_relay(relay, standin, tenants=proxied(proxy))
    r.config["tenants"]["contoso"]["pop3"] = {"host": "127.0.0.1", "port": standin.smtp_port, "tls": "implicit"}
    r.write_config(r.config)
    code, text = doctor(r, standin)
    assert code == 1, text
    assert row(text, "proxy", "pop3").endswith(f"through {proxy.url}")  # the proxy hop worked
    login = row(text, "login", "pop3")
    assert f"FAIL: TLS handshake with 127.0.0.1:{standin.smtp_port}" in login, login

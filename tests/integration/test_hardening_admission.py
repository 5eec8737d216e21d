"""Session admission, end to end: the PROXY protocol through a real HAProxy
(Debian's, send-proxy-v2 and send-proxy) with `no_auth` judged on the
original address, PROXY headers refused from outside `proxy_from`,
limits.max_sessions_per_ip with trusted_networks exempt,
limits.handshake_timeout and limits.max_session_lifetime."""
import contextlib
import os
import smtplib
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest

from conftest import free_port
from mailbox_relay import mailbox_relay
from relay_helpers import PASSWORD, USER, RawSmtp, make_message, tls_context, wait_for_log

HAPROXY = "/usr/sbin/haproxy"
NO_AUTH_0_2 = [{"sources": ["127.0.0.2/32"], "tenant": "contoso", "mailbox": "mfp@contoso.com",
                "senders": ["*@contoso.com"]}]


def listening(port):
    """True when something listens on 127.0.0.1:port (read from /proc, so
    that no test connection reaches the relay behind HAProxy)."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return any(line.split()[1] == want and line.split()[3] == "0A" for line in f.readlines()[1:])


@pytest.fixture
def haproxy(tmp_path):
    """Factory: haproxy(relay_port, "send-proxy-v2"|"send-proxy") starts
    HAProxy in TCP mode on a free 127.0.0.1 port in front of the relay's
    listener and returns that port. Stopped at teardown."""
    if not os.access(HAPROXY, os.X_OK):
        pytest.skip(f"{HAPROXY} is missing (Debian package haproxy)")
    procs = []

    def start(relay_port, send_proxy):
        port = free_port()
        cfg = tmp_path / f"haproxy-{port}.cfg"
        cfg.write_text(f"""global
    maxconn 200
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend front
    bind 127.0.0.1:{port}
    default_backend relay
backend relay
    server relay 127.0.0.1:{relay_port} {send_proxy}
""")
        log = open(tmp_path / f"haproxy-{port}.log", "wb")
        # -db: foreground, no daemon; -W would fork a master we do not need.
        proc = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        procs.append(proc)
        deadline = time.monotonic() + 10
        while not listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("haproxy did not start:\n" + (tmp_path / f"haproxy-{port}.log").read_text())
            time.sleep(0.05)
        return port

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def raw_from(port, source):
    """A RawSmtp connection from a chosen loopback source address."""
    c = RawSmtp.__new__(RawSmtp)
    c.sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    c.buf = b""
    return c


def proxied_relay(relay, proxy_from="127.0.0.1/32", **kw):
    return relay(listeners=[{"name": "proxied", "tls": "none", "proxy_protocol": True, "proxy_from": [proxy_from]},
                            {"tls": "none"}],
                 no_auth=NO_AUTH_0_2, **kw)


def session_lines(r, client_prefix):
    return [l for l in r.log_text().splitlines() if " connect " in f" {l} " and client_prefix in l]


@pytest.mark.parametrize("send_proxy", ["send-proxy-v2", "send-proxy"])
def test_haproxy_carries_the_client_address_for_no_auth_and_logs(standin, relay, haproxy, send_proxy):
    r = proxied_relay(relay)
    front = haproxy(r.port("proxied"), send_proxy)
    msg = make_message(size=600, seed=send_proxy)
    # From 127.0.0.2: the no_auth rule for 127.0.0.2 admits it, although the
    # relay's socket peer is HAProxy at 127.0.0.1.
    with smtplib.SMTP("127.0.0.1", front, timeout=30, source_address=("127.0.0.2", 0)) as s:
        s.sendmail("printer@contoso.com", ["x@example.com"], msg)
    assert [m["data"] for m in standin.messages()] == [msg]
    assert standin.messages()[0]["mailbox"] == "mfp@contoso.com"
    assert wait_for_log(r, "client=127.0.0.2:")
    connect = [l for l in r.log_text().splitlines() if "connect" in l and "client=127.0.0.2:" in l]
    assert connect and "via=127.0.0.1:" in connect[0] and "no_auth=yes" in connect[0]
    # From 127.0.0.1 through the same HAProxy: not the rule's address, so a
    # login is required.
    c = raw_from(front, "127.0.0.1")
    try:
        assert c.read_reply().startswith(b"220")
        c.cmd(b"EHLO dev")
        assert c.cmd(b"MAIL FROM:<printer@contoso.com>").startswith(b"530")
    finally:
        c.close()


def test_haproxy_v2_in_front_of_implicit_tls_imap(standin, relay, haproxy):
    # The TLS ClientHello follows the PROXY header, maybe in the same segment:
    # the relay must consume exactly the header.
    r = mailbox_relay(relay, standin, listeners=[
        {"name": "imaps", "protocol": "imap", "tls": "implicit", "proxy_protocol": True,
         "proxy_from": ["127.0.0.1/32"]}])
    front = haproxy(r.port("imaps"), "send-proxy-v2")
    raw = socket.create_connection(("127.0.0.1", front), timeout=30, source_address=("127.0.0.2", 0))
    with tls_context(standin.ca).wrap_socket(raw, server_hostname="localhost") as s:
        f = s.makefile("rwb")
        assert f.readline().startswith(b"* OK")
        f.write(f'a1 LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        f.flush()
        line = f.readline()
        while line.startswith(b"* "):
            line = f.readline()
        assert line.startswith(b"a1 OK"), line
        f.write(b"a2 LOGOUT\r\n")
        f.flush()
    assert wait_for_log(r, "event=session_end")
    end = [l for l in r.log_text().splitlines() if "session_end" in l][-1]
    assert "client=127.0.0.2:" in end and "protocol=imap" in end


def test_proxy_header_from_outside_proxy_from_is_refused(standin, relay):
    r = proxied_relay(relay, proxy_from="127.0.0.3/32")
    c = raw_from(r.port("proxied"), "127.0.0.1")
    try:
        # Even a well-formed header claiming the no_auth address gets nothing.
        c.send(b"PROXY TCP4 127.0.0.2 127.0.0.1 40000 25\r\nEHLO x\r\n")
        assert c.closed(timeout=10)
    finally:
        c.close()
    assert wait_for_log(r, "event=proxy_refused")
    line = [l for l in r.log_text().splitlines() if "proxy_refused" in l][0]
    assert "peer=127.0.0.1:" in line
    assert "client=127.0.0.2" not in r.log_text()


def test_proxy_listener_needs_the_header_and_others_never_parse_it(standin, relay):
    r = proxied_relay(relay)
    # An allowed peer that speaks SMTP at once: not a PROXY header, closed.
    c = raw_from(r.port("proxied"), "127.0.0.1")
    try:
        c.send(b"EHLO x\r\n")
        assert c.closed(timeout=10)
    finally:
        c.close()
    assert wait_for_log(r, "event=proxy_header_failed")
    # A listener without proxy_protocol: a PROXY line is just a bad command,
    # and the no_auth rule for the address it names does not apply.
    c = raw_from(r.port("plain"), "127.0.0.1")
    try:
        assert c.read_reply().startswith(b"220")
        assert c.cmd(b"PROXY TCP4 127.0.0.2 127.0.0.1 40000 25").startswith(b"5")
        c.cmd(b"EHLO dev")
        assert c.cmd(b"MAIL FROM:<printer@contoso.com>").startswith(b"530")
    finally:
        c.close()


def metrics(r):
    with urllib.request.urlopen(f"http://{r.config['admin']['listen']}/metrics", timeout=10) as resp:
        return resp.read().decode()


def metric_value(text, name, labels):
    """The sample's value, 0 when it is not there yet."""
    for line in text.splitlines():
        if line.startswith(name + "{" + labels + "}"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_no_sessions(r):
    """The fixture's readiness probes (one connection per listener, all from
    127.0.0.1) are sessions too, and count against max_sessions_per_ip
    across listeners until they end."""
    deadline = time.monotonic() + 10
    while any(l.startswith("xoauth2_relay_sessions_active{") and not l.endswith(" 0")
              for l in metrics(r).splitlines()):
        assert time.monotonic() < deadline, "the readiness probes' sessions did not end"
        time.sleep(0.05)


def test_max_sessions_per_ip_refuses_with_421_and_counts(standin, relay):
    r = relay(limits={"max_sessions_per_ip": 2}, admin={"listen": f"127.0.0.1:{free_port()}"})
    wait_no_sessions(r)
    refused = ('xoauth2_relay_sessions_refused_total',
               'listener="smtp:127.0.0.1:%d",reason="max_sessions_per_ip"' % r.port("plain"))
    before = metric_value(metrics(r), *refused)
    with contextlib.ExitStack() as stack:
        held = []
        for _ in range(2):
            c = raw_from(r.port("plain"), "127.0.0.1")
            stack.callback(c.close)
            assert c.read_reply().startswith(b"220")
            held.append(c)
        third = raw_from(r.port("plain"), "127.0.0.1")
        stack.callback(third.close)
        assert third.read_reply().startswith(b"421 4.7.0")
        assert third.closed()
        # Another source is counted on its own.
        other = raw_from(r.port("plain"), "127.0.0.2")
        stack.callback(other.close)
        assert other.read_reply().startswith(b"220")
    assert wait_for_log(r, "reason=max_sessions_per_ip")
    assert metric_value(metrics(r), *refused) == before + 1
    # The places are given back when sessions end.
    deadline = time.monotonic() + 10
    while True:
        c = raw_from(r.port("plain"), "127.0.0.1")
        try:
            if c.read_reply().startswith(b"220"):
                break
        finally:
            c.close()
        assert time.monotonic() < deadline, "the per-IP places were not released"
        time.sleep(0.1)


def test_trusted_networks_are_exempt_from_max_sessions_per_ip(standin, relay):
    r = relay(limits={"max_sessions_per_ip": 2}, trusted_networks=["127.0.0.1/32"])
    with contextlib.ExitStack() as stack:
        for _ in range(4):
            c = raw_from(r.port("plain"), "127.0.0.1")
            stack.callback(c.close)
            assert c.read_reply().startswith(b"220")
        # 127.0.0.2 is not trusted: its third session is refused.
        for i in range(3):
            c = raw_from(r.port("plain"), "127.0.0.2")
            stack.callback(c.close)
            assert c.read_reply().startswith(b"220" if i < 2 else b"421 4.7.0")


def test_handshake_timeout_closes_silent_connections(standin, relay):
    r = relay(limits={"handshake_timeout": "2s"},
              listeners=[{"tls": "none"}, {"tls": "implicit"},
                         {"name": "proxied", "tls": "none", "proxy_protocol": True, "proxy_from": ["127.0.0.1/32"]}])
    started = time.monotonic()
    # Greeted, then silent: 421 4.4.2 after handshake_timeout, not command_timeout (5 min).
    c = raw_from(r.port("plain"), "127.0.0.1")
    try:
        assert c.read_reply().startswith(b"220")
        assert c.read_reply(timeout=10).startswith(b"421 4.4.2")
    finally:
        c.close()
    # Implicit TLS, no ClientHello: closed.
    c = raw_from(r.port("implicit"), "127.0.0.1")
    try:
        assert c.closed(timeout=10)
    finally:
        c.close()
    # A PROXY listener, no header: closed.
    c = raw_from(r.port("proxied"), "127.0.0.1")
    try:
        assert c.closed(timeout=10)
    finally:
        c.close()
    assert time.monotonic() - started < 15
    assert wait_for_log(r, "error=timeout")  # the PROXY header wait


def test_handshake_timeout_only_until_the_first_command(standin, relay):
    r = relay(limits={"handshake_timeout": "1s", "command_timeout": "30s"})
    c = raw_from(r.port("plain"), "127.0.0.1")
    try:
        assert c.read_reply().startswith(b"220")
        assert c.cmd(b"EHLO dev").startswith(b"250")
        time.sleep(2.5)  # longer than handshake_timeout: nothing may come
        assert c.cmd(b"NOOP").startswith(b"250")
    finally:
        c.close()


def test_max_session_lifetime_ends_a_spliced_imap_session_with_bye(standin, relay):
    r = mailbox_relay(relay, standin, limits={"max_session_lifetime": "3s"})
    raw = socket.create_connection(("127.0.0.1", r.port("imaps")), timeout=30)
    with tls_context(standin.ca).wrap_socket(raw, server_hostname="localhost") as s:
        f = s.makefile("rwb")
        assert f.readline().startswith(b"* OK")
        f.write(f'a1 LOGIN {USER} "{PASSWORD}"\r\na2 SELECT INBOX\r\n'.encode())
        f.flush()
        line = f.readline()
        while not line.startswith(b"a2 "):
            assert line, "the relay closed before SELECT completed"
            line = f.readline()
        assert line.startswith(b"a2 OK")
        started = time.monotonic()
        s.settimeout(15)
        # Idle in the splice: the relay ends it at the lifetime with BYE.
        bye = f.readline()
        assert bye.startswith(b"* BYE"), bye
        assert f.readline() == b""
        assert time.monotonic() - started < 10
    assert wait_for_log(r, "event=session_lifetime_over")


def test_max_session_lifetime_ends_smtp_with_421(standin, relay):
    r = relay(no_auth=[{"sources": ["127.0.0.1/32"], "tenant": "contoso", "mailbox": "mfp@contoso.com",
                        "senders": ["*@contoso.com"]}],
              limits={"max_session_lifetime": "3s"})
    c = raw_from(r.port("plain"), "127.0.0.1")
    try:
        assert c.read_reply().startswith(b"220")
        assert c.cmd(b"EHLO dev").startswith(b"250")
        assert c.read_reply(timeout=15).startswith(b"421 4.4.2")
        assert c.closed()
    finally:
        c.close()


def test_max_session_lifetime_lets_the_smtp_message_in_progress_finish(standin, relay):
    r = relay(no_auth=[{"sources": ["127.0.0.1/32"], "tenant": "contoso", "mailbox": "mfp@contoso.com",
                        "senders": ["*@contoso.com"]}],
              limits={"max_session_lifetime": "3s"})
    msg = make_message(size=2000, seed="lifetime")
    c = raw_from(r.port("plain"), "127.0.0.1")
    try:
        assert c.read_reply().startswith(b"220")
        assert c.cmd(b"EHLO dev").startswith(b"250")
        assert c.cmd(b"MAIL FROM:<printer@contoso.com>").startswith(b"250")
        assert c.cmd(b"RCPT TO:<x@example.com>").startswith(b"250")
        assert c.cmd(b"DATA").startswith(b"354")
        c.send(msg[:1000])
        # The lifetime ends while the message is on its way...
        assert wait_for_log(r, "event=session_lifetime_over")
        c.send(msg[1000:] + b".\r\n")
        # ... it is still delivered, then the session ends.
        assert c.read_reply().startswith(b"250")
        assert c.read_reply(timeout=10).startswith(b"421 4.4.2")
        assert c.closed()
    finally:
        c.close()
    assert [m["data"] for m in standin.messages()] == [msg]

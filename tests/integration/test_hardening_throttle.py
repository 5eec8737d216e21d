"""The brute-force throttle against the real binary: failed logins per source
and per user name block the source (user name) for auth_block_time, refused
with the protocol's temporary answer before any password check; the printer
VLAN (trusted_networks) is never locked out; /metrics cannot tell a guessed
password apart; the admin endpoint answers only admin.allow_from and lists
the blocks at /blocks."""
import base64
import http.client
import json
import re
import socket
import threading
import time

from conftest import free_port
from mailbox_relay import MAILBOX_LISTENERS, mailbox_relay
from relay_helpers import PASSWORD, USER, RawLines, RawSmtp, wait_for_log
from test_relay_operations import metric

SMTP_BLOCKED = b"421 4.7.0 Too many failed logins, try again later\r\n"
IMAP_BLOCKED = b"* BYE [UNAVAILABLE] Too many failed logins, try again later\r\n"
POP3_BLOCKED = b"-ERR [SYS/TEMP] Too many failed logins, try again later\r\n"
WRONG = "not the password"


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode())


def connect_from(port, source):
    """A socket to the relay from `source` (127.0.0.x: a distinct loopback client)."""
    return socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))


class SourcedSmtp(RawSmtp):
    def __init__(self, port, source="127.0.0.1"):  # noqa: super().__init__ would connect from 127.0.0.1
        self.sock = connect_from(port, source)
        self.buf = b""


class SourcedLines(RawLines):
    def __init__(self, port, source="127.0.0.1"):  # noqa
        self.sock = connect_from(port, source)
        self.buf = b""


def admin_get(port, path, source="127.0.0.1"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        c.request("GET", path)
        resp = c.getresponse()
        return resp.status, resp.read().decode()
    finally:
        c.close()


def throttled_relay(relay, limits=None, admin=None, **kw):
    port = free_port()
    base = {"login_cache_ttl": 0, "max_sessions_per_ip": 1000}
    r = relay(listeners=[{"tls": "none"}], limits={**base, **(limits or {})},
              admin={"listen": f"127.0.0.1:{port}", **(admin or {})}, **kw)
    r.admin_port = port
    return r


def smtp_login(port, source, user=USER, password=PASSWORD):
    """(greeting or AUTH reply, seconds from connect to it)."""
    t0 = time.monotonic()
    c = SourcedSmtp(port, source)
    try:
        greeting = c.read_reply()
        if not greeting.startswith(b"220"):
            return greeting, time.monotonic() - t0
        c.cmd(b"EHLO device.test")
        reply = c.cmd(b"AUTH PLAIN " + plain(user, password))
        return reply, time.monotonic() - t0
    finally:
        c.close()


def test_1000_guesses_from_200_connections_do_not_delay_a_real_login(standin, relay):
    r = throttled_relay(relay)
    r.forbid_in_log("the guessed password", WRONG)
    port = r.port("plain")
    # The token is fetched once before the flood: "within a second" is about
    # our own check, not the first token request.
    assert smtp_login(port, "127.0.0.2")[0].startswith(b"235")

    lock = threading.Lock()
    counts = {"denied": 0, "blocked": 0, "other": []}
    flood_started = threading.Event()

    def record(kind, what=None):
        with lock:
            if kind == "other":
                counts["other"].append(what)
            else:
                counts[kind] += 1
            if counts["denied"] + counts["blocked"] >= 50:
                flood_started.set()
            return counts["denied"] + counts["blocked"] >= 1000

    def guesser():
        done = False
        while not done:
            c = SourcedSmtp(port, "127.0.0.1")
            try:
                greeting = c.read_reply()
                if greeting == SMTP_BLOCKED:  # refused at connect
                    done = record("blocked")
                    continue
                c.cmd(b"EHLO attacker.test")
                # The relay ends a session at its third failure: reconnect then.
                for _ in range(3):
                    if done:
                        break
                    reply = c.cmd(b"AUTH PLAIN " + plain(USER, WRONG))
                    if reply.startswith(b"535"):
                        done = record("denied")
                    elif reply == SMTP_BLOCKED:
                        done = record("blocked")
                        break
                    else:
                        record("other", reply)
                        break
            except OSError as e:
                record("other", repr(e))
            finally:
                c.close()

    threads = [threading.Thread(target=guesser, daemon=True) for _ in range(200)]
    for t in threads:
        t.start()
    assert flood_started.wait(30)
    reply, took = smtp_login(port, "127.0.0.2")
    for t in threads:
        t.join(120)
    assert reply.startswith(b"235"), reply
    # Generous for 2 cores under ASan; a login queued behind the flood's
    # password checks would take many seconds (200 threads x yescrypt).
    assert took < 3.0, f"the real login took {took:.2f}s during the flood"
    assert not any(t.is_alive() for t in threads)
    assert counts["other"] == []
    assert counts["denied"] + counts["blocked"] >= 1000
    # Only the guesses before the block ran yescrypt (a check already on the
    # blocking pool may finish): every other one was refused before it.
    assert counts["denied"] <= 12, counts
    status, text = admin_get(r.admin_port, "/metrics")
    assert status == 200
    assert metric(text, "xoauth2_relay_logins_total", protocol="smtp", outcome="denied") == counts["denied"]
    assert metric(text, "xoauth2_relay_auth_blocked_total", protocol="smtp", scope="ip") == counts["blocked"]
    assert metric(text, "xoauth2_relay_auth_blocked_total", protocol="smtp", scope="user") == 0
    log = r.log_text()
    assert log.count("event=auth_failed") == counts["denied"]
    assert log.count("event=auth_blocked") == counts["blocked"]
    assert re.search(r"event=auth_blocked .*scope=ip", log)
    status, body = admin_get(r.admin_port, "/blocks")
    assert status == 200
    blocks = json.loads(body)["blocks"]
    assert [(b["scope"], b["key"]) for b in blocks] == [("ip", "127.0.0.1")]
    assert 10 <= blocks[0]["failures"] <= 12
    assert r.leaks() == []


def test_a_blocked_user_name_is_refused_outside_trusted_networks_only(standin, relay):
    port = free_port()
    r = mailbox_relay(relay, standin,
                      listeners=MAILBOX_LISTENERS + [{"name": "imap_clear", "protocol": "imap", "tls": "none",
                                                      "allow_plaintext_auth": True}],
                      limits={"auth_failures_per_ip": 0, "auth_failures_per_user": 3, "login_cache_ttl": 0},
                      trusted_networks=["127.0.0.3/32"], admin={"listen": f"127.0.0.1:{port}"})
    r.forbid_in_log("the guessed password", WRONG)
    imap = r.port("imap_clear")

    def login(source, password):
        c = SourcedLines(imap, source)
        try:
            assert c.line().startswith(b"* OK")
            c.send(f'a1 LOGIN {USER} "{password}"\r\n'.encode())
            line = c.line()
            return line, line.startswith(b"* BYE") and c.closed()
        finally:
            c.close()

    for source in ("127.0.0.1", "127.0.0.4", "127.0.0.1"):
        line, _ = login(source, WRONG)
        assert line.startswith(b"a1 NO"), line
    # The right password from an untrusted source: refused before the check.
    line, closed = login("127.0.0.2", PASSWORD)
    assert line == IMAP_BLOCKED
    assert closed
    assert wait_for_log(r, "scope=user")
    assert re.search(rf"event=auth_blocked .*client=127\.0\.0\.2:\d+ .*user={USER} .*scope=user .*retry_after_s=\d+",
                     r.log_text())
    # The printer VLAN still gets in.
    line, _ = login("127.0.0.3", PASSWORD)
    assert line.startswith(b"a1 OK"), line
    _, text = admin_get(port, "/metrics")
    assert metric(text, "xoauth2_relay_auth_blocked_total", protocol="imap", scope="user") == 1
    blocks = json.loads(admin_get(port, "/blocks")[1])["blocks"]
    assert [(b["scope"], b["key"], b["failures"]) for b in blocks] == [("user", USER, 3)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", blocks[0]["until"])
    assert r.leaks() == []


def test_a_source_block_refuses_at_connect_and_expires(standin, relay):
    r = mailbox_relay(relay, standin,
                      listeners=MAILBOX_LISTENERS + [{"name": "pop3_clear", "protocol": "pop3", "tls": "none",
                                                      "allow_plaintext_auth": True}],
                      limits={"auth_failures_per_ip": 2, "auth_block_time": "2s", "login_cache_ttl": 0})
    r.forbid_in_log("the guessed password", WRONG)
    pop3 = r.port("pop3_clear")

    def login(password):
        c = SourcedLines(pop3, "127.0.0.1")
        try:
            greeting = c.line()
            if not greeting.startswith(b"+OK"):
                return greeting, c.closed()
            c.send(f"USER {USER}\r\n".encode())
            assert c.line().startswith(b"+OK")
            c.send(f"PASS {password}\r\n".encode())
            return c.line(), False
        finally:
            c.close()

    assert login(WRONG)[0].startswith(b"-ERR [AUTH]")
    assert login(WRONG)[0].startswith(b"-ERR [AUTH]")
    blocked_at = time.monotonic()
    # Blocked: the greeting is the refusal, even with the right password to come.
    reply, closed = login(PASSWORD)
    assert reply == POP3_BLOCKED
    assert closed
    # The block lifts after auth_block_time (2 s).
    deadline = time.monotonic() + 10
    while True:
        reply, _ = login(PASSWORD)
        if reply != POP3_BLOCKED or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # polling a timed block: there is no event to await
    assert reply.startswith(b"+OK"), reply
    assert 1.0 < time.monotonic() - blocked_at < 10


def test_a_blocked_smtp_source_hears_421_at_auth_and_the_session_ends(standin, relay):
    r = throttled_relay(relay, limits={"auth_failures_per_ip": 2})
    c = SourcedSmtp(r.port("plain"))
    try:
        assert c.read_reply().startswith(b"220")
        c.cmd(b"EHLO device.test")
        assert c.cmd(b"AUTH PLAIN " + plain(USER, WRONG)).startswith(b"535")
        assert c.cmd(b"AUTH PLAIN " + plain(USER, WRONG)).startswith(b"535")
        assert c.cmd(b"AUTH PLAIN " + plain(USER, PASSWORD)) == SMTP_BLOCKED
        assert c.closed()
    finally:
        c.close()
    assert smtp_login(r.port("plain"), "127.0.0.1")[0] == SMTP_BLOCKED  # and at connect
    assert smtp_login(r.port("plain"), "127.0.0.2")[0].startswith(b"235")  # not another source


def test_metrics_say_denied_for_a_wrong_password_and_a_wrong_source_alike(standin, relay):
    r = throttled_relay(relay, users={"remote01": {"sources": ["10.99.0.0/16"]}})
    r.forbid_in_log("the guessed password", WRONG)
    assert smtp_login(r.port("plain"), "127.0.0.1", USER, WRONG)[0].startswith(b"535")
    assert smtp_login(r.port("plain"), "127.0.0.1", "remote01", PASSWORD)[0].startswith(b"535")
    _, text = admin_get(r.admin_port, "/metrics")
    assert metric(text, "xoauth2_relay_logins_total", protocol="smtp", outcome="denied") == 2
    assert "bad_password" not in text and "source_not_allowed" not in text
    # The admin's log keeps the reason.
    log = r.log_text()
    assert "reason=bad_password" in log and "reason=source_not_allowed" in log


def test_the_admin_endpoint_answers_only_allow_from(standin, relay):
    r = throttled_relay(relay, admin={"allow_from": ["127.0.0.3/32"]})
    status, body = admin_get(r.admin_port, "/metrics", "127.0.0.1")
    assert status == 403
    assert "admin.allow_from" in body
    assert admin_get(r.admin_port, "/blocks", "127.0.0.1")[0] == 403
    assert admin_get(r.admin_port, "/healthz", "127.0.0.3") == (200, "ok\n")
    assert admin_get(r.admin_port, "/blocks", "127.0.0.3") == (200, '{"blocks":[]}\n')
    assert "event=admin_exposed" not in r.log_text()  # it listens on loopback
    # A reload applies a changed allow_from without a restart of the endpoint.
    config = dict(r.config)
    config["admin"] = {**config["admin"], "allow_from": ["127.0.0.1/32"]}
    r.write_config(config)
    r.reload()
    assert wait_for_log(r, "event=reloaded")
    assert admin_get(r.admin_port, "/healthz", "127.0.0.1") == (200, "ok\n")
    assert admin_get(r.admin_port, "/healthz", "127.0.0.3")[0] == 403

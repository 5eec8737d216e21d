"""Issue 15, the device side of a first set-up: mistakes a device makes that
it reports at best as "login failed" are logged at warn with the fix
(AUTH before STARTTLS, a device that leaves because AUTH was not offered, a
device on the wrong listener or speaking TLS where it must not), and
event=message says enough (envelope sender, recipient count, Message-ID,
size) to find the mail in Exchange's message trace."""
import smtplib
import socket
import ssl

import pytest

from mailbox_relay import MAILBOX_LISTENERS, mailbox_relay
from relay_helpers import PASSWORD, USER, make_message, raw_lines, raw_session
from spool_helpers import events, queued_id, spool_relay, submit, wait_event
from conftest import free_port
from test_relay_operations import http_get, metric
import base64


def b64(text):
    return base64.b64encode(text.encode())


def session_end(r, client_port):
    return wait_event(r, "session_end", client=f"127.0.0.1:{client_port}")


# --- event=message ---------------------------------------------------------------------------

def test_message_line_names_sender_recipients_message_id_and_size(standin, relay):
    r = relay()
    msg = make_message(size=5000, seed="trace-me")
    rcpts = ["dest@example.com", "other@example.com", "third@example.com"]
    with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=30) as s:
        s.login(USER, PASSWORD)
        assert s.sendmail("scanner@contoso.com", rcpts, msg) == {}
    line = wait_event(r, "message")
    assert line["from"] == "scanner@contoso.com"
    assert line["rcpts"] == "3"
    assert line["message_id"] == "<trace-me@test>"
    assert line["size"] == str(len(msg))
    # The fields that were there stay.
    assert line["mailbox"] == "scanner@contoso.com" and line["reply"].startswith("250")
    assert standin.messages()[0]["data"] == msg


def test_message_line_without_a_message_id_a_quoted_one_and_a_rewritten_sender(standin, relay):
    r = relay(users={USER: {"rewrite_sender": True}})
    plain = b"From: scanner@contoso.com\r\nSubject: none\r\n\r\nMessage-ID: <in-the-body@x>\r\n"
    odd = b"From: scanner@contoso.com\r\nMessage-ID:\r\n <odd \"id\" x@h>\r\n\r\nbody\r\n"
    with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=30) as s:
        s.login(USER, PASSWORD)
        assert s.sendmail("scanner@printer.local", ["dest@example.com"], plain) == {}
        assert s.sendmail("scanner@contoso.com", ["dest@example.com"], odd) == {}
    first = wait_event(r, "message")
    assert first["message_id"] == "-"  # none in the header block; the body's does not count
    assert first["from"] == "scanner@contoso.com"  # what Office 365 saw (and its message trace shows)
    assert first["rcpts"] == "1"
    assert first["size"] == str(len(plain))
    second = wait_event(r, "message", count=2)
    assert second["message_id"] == '<odd "id" x@h>'
    # Escaped as every value: one field, no forged ones.
    raw = next(l for l in r.log_text().splitlines() if "event=message " in l and "odd" in l)
    assert 'message_id="<odd \\"id\\" x@h>"' in raw


def test_spooled_message_line_has_the_message_id(standin, relay, tmp_path):
    r = spool_relay(relay, tmp_path)
    msg = make_message(size=3000, seed="spooled-trace")
    qid = queued_id(submit(r, msg, rcpts=("dest@example.com", "b@example.com")))
    line = wait_event(r, "queued", id=qid)
    assert line["message_id"] == "<spooled-trace@test>"
    assert line["from"] == "scanner@contoso.com" and line["rcpts"] == "2"
    assert line["size"] == str(len(msg))


# --- AUTH before STARTTLS, AUTH not offered ----------------------------------------------------

def test_auth_before_starttls_is_a_warning_with_the_fix(standin, relay):
    admin_port = free_port()
    r = relay(listeners=[{"tls": "starttls"}, {"tls": "implicit"}], admin={"listen": f"127.0.0.1:{admin_port}"})
    r.admin_port = admin_port
    with raw_session(r.port("starttls")) as c:
        client_port = c.sock.getsockname()[1]
        c.read_reply()
        assert b"AUTH" not in c.cmd(b"EHLO mfp")
        assert c.cmd(b"AUTH PLAIN " + b64(f"\0{USER}\0{PASSWORD}")).startswith(b"538 5.7.11")
        assert c.cmd(b"QUIT").startswith(b"221")
    end = session_end(r, client_port)
    warn = events(r, "auth_before_starttls")
    assert len(warn) == 1, r.log_text()
    hint = warn[0]["hint"]
    assert f"STARTTLS (TLS) on port {r.port('starttls')}" in hint, hint
    assert f"port {r.port('implicit')} (tls: implicit)" in hint, hint
    assert "allow_plaintext_auth" in hint
    assert " warn " in next(l for l in r.log_text().splitlines() if "event=auth_before_starttls" in l)
    assert end["result"] == "auth_before_starttls"
    assert end["hint"] == hint
    # ...and a counter, for dashboards.
    _, text = http_get(r, "/metrics")
    assert metric(text, "xoauth2_relay_device_mistakes_total", protocol="smtp", kind="auth_before_starttls") == 1
    # Only one of the two warnings for one mistake.
    assert events(r, "auth_not_offered") == []

    # Done right (STARTTLS, then AUTH): no warning, no hint.
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        right_port = s.sock.getsockname()[1]
        s.starttls(context=ssl.create_default_context(cafile=standin.ca))
        s.login(USER, PASSWORD)
    end = session_end(r, right_port)
    assert end["result"] == "ok" and "hint" not in end
    assert len(events(r, "auth_before_starttls")) == 1 and events(r, "auth_not_offered") == []


def test_quit_after_an_ehlo_without_auth_is_a_warning_with_the_fix(standin, relay):
    r = relay(listeners=[{"tls": "none", "allow_plaintext_auth": False}, {"tls": "starttls"},
                         {"name": "plain_auth", "tls": "none"}])
    with raw_session(r.port("plain")) as c:
        client_port = c.sock.getsockname()[1]
        c.read_reply()
        assert b"AUTH" not in c.cmd(b"EHLO printer")
        assert c.cmd(b"QUIT").startswith(b"221")
    end = session_end(r, client_port)
    warn = events(r, "auth_not_offered")
    assert len(warn) == 1, r.log_text()
    hint = warn[0]["hint"]
    assert "allow_plaintext_auth: true on listener smtp:127.0.0.1:" + str(r.port("plain")) in hint, hint
    assert f"port {r.port('starttls')} (tls: starttls)" in hint, hint
    assert end["result"] == "auth_not_offered" and end["hint"] == hint

    # A device that just disconnects after the EHLO: the same.
    with raw_session(r.port("plain")) as c:
        c.read_reply()
        c.cmd(b"EHLO printer")
    wait_event(r, "auth_not_offered", count=2)

    # Where AUTH was offered (allow_plaintext_auth), leaving is no mistake.
    with raw_session(r.port("plain_auth")) as c:
        offered_port = c.sock.getsockname()[1]
        c.read_reply()
        assert b"AUTH PLAIN LOGIN" in c.cmd(b"EHLO printer")
        assert c.cmd(b"QUIT").startswith(b"221")
    assert session_end(r, offered_port)["result"] == "ok"
    assert len(events(r, "auth_not_offered")) == 2


def test_imap_login_before_starttls_is_a_warning_with_the_fix(standin, relay):
    r = mailbox_relay(relay, standin)
    with raw_lines(r.port("imap")) as c:
        client_port = c.sock.getsockname()[1]
        c.line()
        c.send(f'a1 LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        assert b"PRIVACYREQUIRED" in c.until_tagged(b"a1")[-1]
        c.send(b"a2 LOGOUT\r\n")
        c.until_tagged(b"a2")
    warn = wait_event(r, "auth_before_starttls")
    assert f"STARTTLS (TLS) on port {r.port('imap')}, or SSL/TLS on port {r.port('imaps')}" in warn["hint"]
    end = session_end(r, client_port)
    assert end["result"] == "auth_before_starttls" and end["hint"] == warn["hint"]


# --- the wrong listener -------------------------------------------------------------------------

ALL_LISTENERS = [{"name": "smtp", "tls": "starttls"}, {"name": "smtps", "tls": "implicit"}] + MAILBOX_LISTENERS


def wrong(r, **match):
    got = wait_event(r, "wrong_protocol", **match)
    line = next(l for l in r.log_text().splitlines() if "event=wrong_protocol" in l and match["seen"] in l)
    assert " warn " in line
    return got


def test_smtp_client_on_the_imap_port(standin, relay):
    r = mailbox_relay(relay, standin, listeners=ALL_LISTENERS)
    with raw_lines(r.port("imap")) as c:
        client_port = c.sock.getsockname()[1]
        assert c.line().startswith(b"* OK")
        c.send(b"EHLO printer\r\n")
        c.line()
    got = wrong(r, seen="EHLO")
    assert got["speaks"] == "smtp"
    assert f"port {r.port('imap')} is the relay's IMAP listener but the device speaks SMTP" in got["hint"]
    assert f"port {r.port('smtp')} (tls: starttls) or port {r.port('smtps')} (tls: implicit)" in got["hint"]
    end = session_end(r, client_port)
    assert end["result"] == "wrong_protocol" and end["hint"] == got["hint"]

    # Each client on its own port: no mistake.
    with raw_lines(r.port("imap")) as c:
        c.line()
        c.send(b"a1 CAPABILITY\r\n")
        c.until_tagged(b"a1")
    with raw_lines(r.port("pop3")) as c:
        c.line()
        c.send(b"CAPA\r\n")
        c.line()
    with raw_session(r.port("smtp")) as c:
        c.read_reply()
        c.cmd(b"EHLO printer")
        c.cmd(b"STARTTLS")
    wait_event(r, "session_end", count=4)
    assert len(events(r, "wrong_protocol")) == 1


def test_imap_client_on_the_smtp_port_never_logs_its_password(standin, relay):
    r = mailbox_relay(relay, standin, listeners=ALL_LISTENERS)
    secret = "imap-typed-Secret-42"
    r.forbid_in_log("the password an IMAP client sent to the SMTP port", secret)
    with raw_session(r.port("smtp")) as c:
        c.read_reply()
        assert c.cmd(f"a1 LOGIN {USER} {secret}".encode()).startswith(b"500")
    got = wrong(r, seen="a1 LOGIN")
    assert got["speaks"] == "imap"
    assert f"port {r.port('imap')} (tls: starttls)" in got["hint"]
    assert f"port {r.port('imaps')} (tls: implicit)" in got["hint"]
    assert secret not in r.log_text() and USER not in next(
        l for l in r.log_text().splitlines() if "event=wrong_protocol" in l)


def test_pop3_clients_on_the_smtp_and_imap_ports(standin, relay):
    r = mailbox_relay(relay, standin, listeners=ALL_LISTENERS)
    with raw_session(r.port("smtp")) as c:
        c.read_reply()
        c.cmd(f"USER {USER}".encode())
    got = wrong(r, seen="USER")
    assert got["speaks"] == "pop3" and f"port {r.port('pop3')} (tls: starttls)" in got["hint"]
    assert USER not in next(l for l in r.log_text().splitlines() if "event=wrong_protocol" in l)
    with raw_lines(r.port("imap_plain")) as c:
        c.line()
        c.send(b"CAPA\r\n")
        c.line()
    got = wrong(r, seen="CAPA")
    assert got["listener"] == f"imap:127.0.0.1:{r.port('imap_plain')}"


def test_tls_client_on_a_starttls_port_is_told_and_cut_at_once(standin, relay):
    r = relay(listeners=[{"tls": "starttls"}, {"tls": "implicit"}],
              limits={"command_timeout": "5m", "handshake_timeout": "5m"})
    ctx = ssl.create_default_context(cafile=standin.ca)
    sock = socket.create_connection(("127.0.0.1", r.port("starttls")), timeout=10)
    client_port = sock.getsockname()[1]
    # Without the check the relay waits for a line that never comes and the
    # handshake hangs until the command timeout (5 minutes here).
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        ctx.wrap_socket(sock, server_hostname="localhost")
    sock.close()
    got = wrong(r, seen="TLS ClientHello")
    assert got["speaks"] == "tls"
    assert "expects STARTTLS: set the device's encryption to STARTTLS" in got["hint"]
    assert f"port {r.port('implicit')} (tls: implicit)" in got["hint"]
    assert session_end(r, client_port)["result"] == "wrong_protocol"


def test_tls_client_on_a_plain_imap_port(standin, relay):
    r = mailbox_relay(relay, standin, listeners=ALL_LISTENERS)
    ctx = ssl.create_default_context(cafile=standin.ca)
    sock = socket.create_connection(("127.0.0.1", r.port("imap_plain")), timeout=10)
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        ctx.wrap_socket(sock, server_hostname="localhost")
    sock.close()
    got = wrong(r, seen="TLS ClientHello")
    assert f"port {r.port('imap_plain')} has no TLS" in got["hint"]
    assert f"port {r.port('imaps')} (tls: implicit)" in got["hint"]

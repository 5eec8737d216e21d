"""IMAP through the relay, end to end: imaplib and raw clients log in with a
password, the relay logs in to the stand-in's IMAP server with XOAUTH2 and
then splices bytes (APPEND/FETCH of large literals, IDLE, pipelining)."""
import imaplib
import re
import threading
import time

import pytest

from mailbox_relay import MAILBOX, mailbox_relay
from relay_helpers import PASSWORD, USER, make_message, raw_lines, tls_context, wait_for_log


def imaps(r, standin):
    return imaplib.IMAP4_SSL("127.0.0.1", r.port("imaps"), ssl_context=tls_context(standin.ca), timeout=30)


def test_login_append_fetch_round_trip(standin, relay):
    r = mailbox_relay(relay, standin)
    msg = make_message(size=5 * 1024 * 1024, seed="imap-big", dot_lines=True)
    with imaps(r, standin) as m:
        assert "AUTH=PLAIN" in m.capabilities and "LOGINDISABLED" not in m.capabilities
        typ, data = m.login(USER, PASSWORD)
        assert typ == "OK"
        # The tagged OK carries Office 365's post-login capabilities.
        assert b"[CAPABILITY" in data[0] and b"MOVE" in data[0]
        assert m.append("INBOX", None, None, msg)[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
        typ, fetched = m.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        assert fetched[0][1] == msg
        m.logout()
    assert [x["data"] for x in standin.mailbox_messages(MAILBOX)] == [msg]
    assert wait_for_log(r, "event=session_end")  # written after the close LOGOUT saw
    log = r.log_text()
    assert "auth_ok" in log and "upstream_ok" in log
    end = [l for l in log.splitlines() if "session_end" in l][-1]
    assert "protocol=imap" in end and f"mailbox={MAILBOX}" in end
    assert int(re.search(r"bytes_in=(\d+)", end).group(1)) > len(msg)


def test_starttls_listener_disables_login_until_tls(standin, relay):
    r = mailbox_relay(relay, standin)
    with imaplib.IMAP4("127.0.0.1", r.port("imap"), timeout=30) as m:
        assert "LOGINDISABLED" in m.capabilities and "STARTTLS" in m.capabilities
        m.starttls(ssl_context=tls_context(standin.ca))
        assert "AUTH=PLAIN" in m.capabilities and "STARTTLS" not in m.capabilities
        assert m.login(USER, PASSWORD)[0] == "OK"
        assert m.select("INBOX")[0] == "OK"


def test_login_with_literals_and_utf8_password(standin, relay):
    utf8 = "pässwörd ünïcode"
    r = mailbox_relay(relay, standin, users={"erp": {"password": utf8, "protocols": ["imap"]}})
    user = b"erp"
    pw = utf8.encode()
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        assert c.line().startswith(b"* OK [CAPABILITY ")
        c.send(b"a1 LOGIN {%d}\r\n" % len(user))
        assert c.line().startswith(b"+ ")
        c.send(user + b" {%d}\r\n" % len(pw))
        assert c.line().startswith(b"+ ")
        c.send(pw + b"\r\n")
        lines = c.until_tagged(b"a1")
        assert lines[-1].startswith(b"a1 OK [CAPABILITY "), lines
        c.send(b"a2 NOOP\r\n")
        assert c.until_tagged(b"a2")[-1].startswith(b"a2 OK")
    # Non-synchronizing literals (LITERAL+) need no round trips.
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(b"a1 LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" % (len(user), user, len(pw), pw))
        assert c.until_tagged(b"a1")[-1].startswith(b"a1 OK")


def test_commands_pipelined_after_login_reach_office_365_in_order(standin, relay):
    r = mailbox_relay(relay, standin)
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(f'a1 LOGIN {USER} "{PASSWORD}"\r\na2 SELECT INBOX\r\na3 LOGOUT\r\n'.encode())
        assert c.until_tagged(b"a1")[-1].startswith(b"a1 OK")
        assert c.until_tagged(b"a2")[-1].startswith(b"a2 OK")
        assert c.until_tagged(b"a3")[-1].startswith(b"a3 OK")
        assert c.closed()


def test_idle_sees_new_mail_through_the_splice(standin, relay):
    r = mailbox_relay(relay, standin)
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(f'a1 LOGIN {USER} "{PASSWORD}"\r\na2 SELECT INBOX\r\n'.encode())
        c.until_tagged(b"a2")
        c.send(b"a3 IDLE\r\n")
        assert c.line().startswith(b"+ ")
        threading.Timer(0.5, lambda: standin.deliver(MAILBOX, make_message(size=2000, seed="idle"))).start()
        assert re.match(rb"\* \d+ EXISTS", c.line(timeout=20))
        c.send(b"DONE\r\n")
        assert c.until_tagged(b"a3")[-1].startswith(b"a3 OK")


def test_wrong_password_never_reaches_office_365(standin, relay):
    r = mailbox_relay(relay, standin)
    before = standin.stats()["imap"]["connections"]
    with imaps(r, standin) as m:
        with pytest.raises(imaplib.IMAP4.error, match=r"AUTHENTICATIONFAILED"):
            m.login(USER, "wrong password")
    assert standin.stats()["imap"]["connections"] == before
    assert "reason=bad_password" in r.log_text()


def test_protocol_not_allowed_for_the_user(standin, relay):
    r = mailbox_relay(relay, standin, users={USER: {"protocols": ["smtp"]}})
    with imaps(r, standin) as m:
        with pytest.raises(imaplib.IMAP4.error, match=r"AUTHENTICATIONFAILED"):
            m.login(USER, PASSWORD)
    assert "reason=protocol_not_allowed" in r.log_text()


def test_office_365_refusal_is_explained_in_the_log(standin, relay):
    r = mailbox_relay(relay, standin)
    standin.knobs(auth_fail=True)
    with imaps(r, standin) as m:
        with pytest.raises(imaplib.IMAP4.error, match=r"AUTHENTICATIONFAILED"):
            m.login(USER, PASSWORD)
    log = r.log_text()
    assert "status=auth_refused" in log and "IMAP.AccessAsApp" in log


def test_error_challenge_is_answered_and_logged_decoded(standin, relay):
    r = mailbox_relay(relay, standin)
    standin.knobs(auth_fail=True, auth_fail_challenge=True)
    with imaps(r, standin) as m:
        with pytest.raises(imaplib.IMAP4.error, match=r"AUTHENTICATIONFAILED"):
            m.login(USER, PASSWORD)
    # The challenge is logged decoded (base64 JSON would look like a token).
    assert '(challenge: {"status"' in r.log_text().replace('\\"', '"')


def test_continuation_form_when_sasl_ir_is_not_offered(standin, relay):
    r = mailbox_relay(relay, standin)
    standin.knobs(imap_no_sasl_ir=True)
    with imaps(r, standin) as m:
        assert m.login(USER, PASSWORD)[0] == "OK"


def test_token_endpoint_down_gives_unavailable(standin, relay):
    standin.knobs(token_outage="503")  # before the start, which fetches the token
    r = mailbox_relay(relay, standin, limits={"token_timeout": "3s"})
    with imaps(r, standin) as m:
        with pytest.raises(imaplib.IMAP4.error, match=r"UNAVAILABLE"):
            m.login(USER, PASSWORD)
    assert "token_unavailable" in r.log_text()


def test_office_365_unreachable_gives_unavailable(standin, relay):
    from conftest import free_port
    r = mailbox_relay(relay, standin, tenants={"contoso": {"imap": {"port": free_port()}}})
    with imaps(r, standin) as m:
        with pytest.raises(imaplib.IMAP4.error, match=r"UNAVAILABLE"):
            m.login(USER, PASSWORD)
    assert "connect_failed" in r.log_text()


def test_client_logout_and_upstream_close_end_the_session(standin, relay):
    r = mailbox_relay(relay, standin)
    with imaps(r, standin) as m:
        m.login(USER, PASSWORD)
        m.logout()
    # The stand-in notices the relay's close a moment after the relay's log says so.
    deadline = time.monotonic() + 10
    while not re.search(r"protocol=imap user=scanner01 .* result=(client|upstream)_closed", r.log_text()):
        assert time.monotonic() < deadline, r.redacted_tail()
        time.sleep(0.05)
    while standin.stats()["imap"]["sessions"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert standin.stats()["imap"]["sessions"] == {}


def test_mailbox_connection_cap_queues_then_refuses(standin, relay):
    r = mailbox_relay(relay, standin, tenants={"contoso": {"imap": {"max_connections_per_mailbox": 1}}},
                      limits={"mailbox_wait_timeout": "1s"})
    with imaps(r, standin) as first:
        assert first.login(USER, PASSWORD)[0] == "OK"
        with imaps(r, standin) as second:
            with pytest.raises(imaplib.IMAP4.error, match=r"UNAVAILABLE\] Too many connections"):
                second.login(USER, PASSWORD)
        first.logout()
    with imaps(r, standin) as third:  # the slot came back with the first session
        assert third.login(USER, PASSWORD)[0] == "OK"
    assert "event=mailbox_busy" in r.log_text()


@pytest.mark.parametrize("listener", ["imaps", "imap", "imap_plain"])
def test_every_listener_kind_with_login_and_authenticate_plain(standin, relay, listener):
    r = mailbox_relay(relay, standin)
    standin.deliver(MAILBOX, make_message(size=1000, seed="kinds"))

    def connect():
        if listener == "imaps":
            return imaps(r, standin)
        m = imaplib.IMAP4("127.0.0.1", r.port(listener), timeout=30)
        if listener == "imap":
            m.starttls(ssl_context=tls_context(standin.ca))
        return m

    with connect() as m:
        assert m.login(USER, PASSWORD)[0] == "OK"
        typ, boxes = m.list()
        assert typ == "OK" and b"INBOX" in boxes[0]
        assert m.select("INBOX") == ("OK", [b"1"])
    with connect() as m:
        typ, _ = m.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASSWORD}".encode())
        assert typ == "OK"


def test_source_not_allowed(standin, relay):
    r = mailbox_relay(relay, standin, users={USER: {"sources": ["10.99.0.0/16"]}})
    with imaps(r, standin) as m:
        with pytest.raises(imaplib.IMAP4.error, match=r"AUTHENTICATIONFAILED"):
            m.login(USER, PASSWORD)
    assert "reason=source_not_allowed" in r.log_text()


def test_starttls_injection_is_discarded(standin, relay):
    r = mailbox_relay(relay, standin)
    with raw_lines(r.port("imap")) as c:
        c.line()
        # Bytes pipelined after STARTTLS were sent in the clear: never acted upon.
        c.send(f'a STARTTLS\r\nb LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        assert c.line().startswith(b"a OK")
        c.start_tls(standin.ca)
        c.send(b"c CAPABILITY\r\n")
        lines = c.until_tagged(b"c")
        assert not any(l.startswith(b"b ") for l in lines), lines
        assert b"AUTH=PLAIN" in lines[0]
    assert "auth_ok" not in r.log_text()


def test_literal_limits(standin, relay):
    r = mailbox_relay(relay, standin)
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(b"a LOGIN {100000}\r\n")  # never invited: nothing follows
        assert c.line() == b"a BAD Literal too large\r\n"
        c.send(b"b LOGIN {100000+}\r\n")  # already on its way: the relay hangs up
        assert c.line() == b"* BYE Literal too large\r\n"
        assert c.closed()


def test_office_365_dropping_mid_fetch_closes_the_client(standin, relay):
    r = mailbox_relay(relay, standin)
    standin.deliver(MAILBOX, make_message(size=2_000_000, seed="drop-fetch"))
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(f'a LOGIN {USER} "{PASSWORD}"\r\nb SELECT INBOX\r\n'.encode())
        c.until_tagged(b"b")
        standin.knobs(drop_after="fetch_mid")
        c.send(b"c FETCH 1 (BODY.PEEK[])\r\n")
        head = c.line()
        assert head.startswith(b"* 1 FETCH (BODY[] {2")
        size = int(head.rsplit(b"{", 1)[1].rstrip(b"}\r\n"))
        with pytest.raises(EOFError):
            c.read_exactly(size + 3)  # half arrives, then the close
    assert wait_for_log(r, "result=upstream_closed")


def test_client_dropping_mid_append_stores_nothing(standin, relay):
    r = mailbox_relay(relay, standin)
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(f'a LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        c.until_tagged(b"a")
        c.send(b"b APPEND INBOX {1000000}\r\n")
        assert c.line().startswith(b"+ ")
        c.send(b"x" * 300_000)
    assert wait_for_log(r, "result=client_closed")
    deadline = time.monotonic() + 10
    while standin.stats()["imap"]["sessions"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert standin.stats()["imap"]["sessions"] == {}  # the upstream connection was closed too
    assert standin.mailbox_messages(MAILBOX) == []

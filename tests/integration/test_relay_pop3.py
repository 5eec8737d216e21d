"""POP3 through the relay, end to end: poplib and raw clients log in with
USER/PASS or AUTH PLAIN; the relay logs in to the stand-in's POP3 server
with XOAUTH2 and splices bytes."""
import base64
import poplib

import pytest

from mailbox_relay import MAILBOX, mailbox_relay
from relay_helpers import PASSWORD, USER, make_message, raw_lines, tls_context


def pop3s(r, standin):
    return poplib.POP3_SSL("127.0.0.1", r.port("pop3s"), context=tls_context(standin.ca), timeout=30)


def test_user_pass_stat_retr_dele(standin, relay):
    r = mailbox_relay(relay, standin)
    msg = make_message(size=3 * 1024 * 1024, seed="pop-big", dot_lines=True)
    standin.deliver(MAILBOX, msg)
    p = pop3s(r, standin)
    try:
        assert p.user(USER).startswith(b"+OK")
        assert p.pass_(PASSWORD).startswith(b"+OK")
        count, size = p.stat()
        assert count == 1 and size == len(msg)
        _, lines, _ = p.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == msg
        p.dele(1)
    finally:
        p.quit()
    assert standin.mailbox_messages(MAILBOX) == []


def test_stls_and_auth_plain(standin, relay):
    r = mailbox_relay(relay, standin)
    p = poplib.POP3("127.0.0.1", r.port("pop3"), timeout=30)
    try:
        caps = p.capa()
        assert "STLS" in caps and "USER" not in caps
        p.stls(context=tls_context(standin.ca))
        assert "USER" in p.capa()
        creds = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
        assert p._shortcmd(f"AUTH PLAIN {creds}").startswith(b"+OK")
        assert p.stat() == (0, 0)
    finally:
        p.quit()


def test_wrong_password_and_refusal(standin, relay):
    r = mailbox_relay(relay, standin)
    before = standin.stats()["pop3"]["connections"]
    p = pop3s(r, standin)
    p.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.pass_("wrong")
    p.close()
    assert standin.stats()["pop3"]["connections"] == before

    standin.knobs(auth_fail=True)
    p = pop3s(r, standin)
    p.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Office 365 refused the login"):
        p.pass_(PASSWORD)
    p.close()
    assert "POP.AccessAsApp" in r.log_text()


def test_token_endpoint_down_gives_sys_temp(standin, relay):
    standin.knobs(token_outage="503")  # before the start, which fetches the token
    r = mailbox_relay(relay, standin, limits={"token_timeout": "3s"})
    p = pop3s(r, standin)
    p.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[SYS/TEMP\]"):
        p.pass_(PASSWORD)
    p.close()


def test_pipelined_commands_after_pass(standin, relay):
    r = mailbox_relay(relay, standin)
    standin.deliver(MAILBOX, make_message(size=500, seed="pipe"))
    with raw_lines(r.port("pop3s"), standin.ca, implicit_tls=True) as c:
        assert c.line().startswith(b"+OK")
        c.send(f"USER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nQUIT\r\n".encode())
        assert c.line() == b"+OK\r\n"
        assert c.line().startswith(b"+OK Logged in")
        assert c.line().startswith(b"+OK 1 ")
        assert c.line().startswith(b"+OK")
        assert c.closed()

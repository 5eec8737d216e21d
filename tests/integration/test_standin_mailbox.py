"""The stand-in's IMAP and POP3 servers on their own (imaplib/poplib with
XOAUTH2 tokens from the stand-in's token endpoint): what the relay's IMAP/POP3
tests rely on."""
import base64
import imaplib
import poplib
import threading

import pytest

from relay_helpers import make_message, tls_context

MAILBOX = "scanner@contoso.com"


def xoauth2(mailbox, token):
    return f"user={mailbox}\x01auth=Bearer {token}\x01\x01"


def imap(standin):
    return imaplib.IMAP4_SSL("127.0.0.1", standin.imap_port, ssl_context=tls_context(standin.ca), timeout=30)


def test_imap_xoauth2_append_fetch_idle(standin):
    token = standin.token()
    msg = make_message(size=2 * 1024 * 1024, seed="standin-imap", dot_lines=True)
    with imap(standin) as m:
        assert "AUTH=XOAUTH2" in m.capabilities and "SASL-IR" in m.capabilities
        typ, _ = m.authenticate("XOAUTH2", lambda _: xoauth2(MAILBOX, token).encode())
        assert typ == "OK"
        typ, caps = m.capability()
        assert b"MOVE" in caps[0]  # the post-login set differs from the greeting's
        assert m.append("INBOX", None, None, msg)[0] == "OK"
        assert m.select("INBOX") == ("OK", [b"1"])
        assert m.fetch("1", "(BODY.PEEK[])")[1][0][1] == msg
        tag = m._new_tag()
        m.send(tag + b" IDLE\r\n")
        assert m.readline().startswith(b"+ ")
        threading.Timer(0.3, lambda: standin.deliver(MAILBOX, b"Subject: x\r\n\r\nhi\r\n")).start()
        assert m.readline() == b"* 2 EXISTS\r\n"
        m.send(b"DONE\r\n")
        assert m.readline().startswith(tag + b" OK")
    assert [x["data"] for x in standin.mailbox_messages(MAILBOX)][0] == msg
    assert standin.stats()["imap"]["auth_ok"] == 1


def test_imap_refusals_and_challenge(standin):
    token = standin.token()
    with imap(standin) as m:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATE failed"):
            m.authenticate("XOAUTH2", lambda _: xoauth2("nobody@contoso.com", token).encode())
        with pytest.raises(imaplib.IMAP4.error, match="LOGIN failed"):
            m.login("scanner", "password")
    standin.knobs(auth_fail=True, auth_fail_challenge=True)
    with imap(standin) as m:
        answers = []

        def respond(challenge):
            answers.append(challenge)
            return xoauth2(MAILBOX, token).encode() if len(answers) == 1 else b""
        standin.knobs(imap_no_sasl_ir=True)
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATE failed"):
            m.authenticate("XOAUTH2", respond)
        assert b"status" in answers[-1]  # the decoded JSON challenge


def test_pop3_xoauth2_retr_dele(standin):
    token = standin.token()
    msg = make_message(size=300_000, seed="standin-pop", dot_lines=True)
    standin.deliver(MAILBOX, msg)
    p = poplib.POP3_SSL("127.0.0.1", standin.pop3_port, context=tls_context(standin.ca), timeout=30)
    try:
        assert "SASL" in p.capa()
        p._putcmd("AUTH XOAUTH2")
        assert p._getline()[0].startswith(b"+")
        assert p._shortcmd(base64.b64encode(xoauth2(MAILBOX, token).encode()).decode()).startswith(b"+OK")
        assert p.stat() == (1, len(msg))
        _, lines, _ = p.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == msg
        p.dele(1)
    finally:
        p.quit()
    assert standin.mailbox_messages(MAILBOX) == []
    p = poplib.POP3_SSL("127.0.0.1", standin.pop3_port, context=tls_context(standin.ca), timeout=30)
    p._putcmd("AUTH XOAUTH2")
    p._getline()
    with pytest.raises(poplib.error_proto, match="Authentication failure"):
        p._shortcmd(base64.b64encode(xoauth2("nobody@contoso.com", token).encode()).decode())
    p.close()

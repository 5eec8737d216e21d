"""Issue 11, message content: `senders` governs the From: header (one field,
one address, an allowed one; rewritten instead with from_header), the header
block is capped, a bare CR in DATA is refused (SMTP smuggling), and the IMAP
and POP3 listeners obey limits.max_line_length. A refused message never
reaches the Office 365 stand-in (direct) or the spool, and the session goes
on."""
import base64

import pytest

from mailbox_relay import mailbox_relay
from relay_helpers import PASSWORD, USER, raw_lines, raw_session
from spool_helpers import events, spool_files, spool_relay

OWN = b"From: Scanner <scanner@contoso.com>\r\nTo: dest@example.com\r\nSubject: ok\r\n\r\nbody\r\n"


def b64(text):
    return base64.b64encode(text.encode())


def message(from_lines):
    return from_lines + b"To: dest@example.com\r\nSubject: test\r\n\r\nbody\r\n"


class Device:
    """A logged-in raw SMTP session: each send() is one transaction, the body
    sent exactly as given (terminator added)."""

    def __init__(self, c):
        self.c = c
        c.read_reply()
        c.cmd(b"EHLO scanner")
        assert c.cmd(b"AUTH PLAIN " + b64(f"\0{USER}\0{PASSWORD}")).startswith(b"235")

    def send(self, body, terminator=b".\r\n"):
        assert self.c.cmd(b"MAIL FROM:<scanner@contoso.com>").startswith(b"250")
        assert self.c.cmd(b"RCPT TO:<dest@example.com>").startswith(b"250")
        assert self.c.cmd(b"DATA").startswith(b"354")
        self.c.send(body + terminator)
        return self.c.read_reply()


def one_session(r, *bodies):
    with raw_session(r.port("plain")) as c:
        d = Device(c)
        return [d.send(b) for b in bodies]


REFUSED = {
    "second From header": (message(b"From: scanner@contoso.com\r\nFrom: ceo@evil.example\r\n"),
                           b"550 5.7.1 Message has more than one From: header", "several_from"),
    "address list": (message(b"From: ceo@evil.example, <scanner@contoso.com>\r\n"),
                     b"550 5.7.1 From: header holds more than one address", "several_addresses"),
    "comment holds the allowed address": (message(b"From: ceo@evil.example (scanner@contoso.com)\r\n"),
                                          b"550 5.7.1 From: address not allowed", "sender_not_allowed"),
    "display name holds the allowed address": (
        message(b"From: \"scanner@contoso.com\" <ceo@evil.example>\r\n"),
        b"550 5.7.1 From: address not allowed", "sender_not_allowed"),
    "folded list": (message(b"From: ceo@evil.example,\r\n <scanner@contoso.com>\r\n"),
                    b"550 5.7.1 From: header holds more than one address", "several_addresses"),
    "group": (message(b"From: staff: scanner@contoso.com;\r\n"),
              b"550 5.7.1 From: header holds more than one address", "several_addresses"),
    "outside senders": (message(b"From: ceo@evil.example\r\n"),
                        b"550 5.7.1 From: address not allowed", "sender_not_allowed"),
    "no From": (message(b""), b"550 5.7.1 Message has no From: header", "no_from"),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_from_header_refused_and_nothing_delivered_then_the_session_goes_on(standin, relay, case):
    body, reply, reason = REFUSED[case]
    r = relay()
    refused, ok = one_session(r, body, OWN)
    assert refused.startswith(reply), refused
    assert ok.startswith(b"250 "), ok  # RSET semantics: the next message in the session goes through
    assert [m["data"] for m in standin.messages()] == [OWN]  # the refused one never reached Office 365
    assert f"event=message_refused reason={reason}" in r.log_text()


def test_allowed_from_is_delivered_byte_for_byte(standin, relay):
    r = relay()
    # Folded, an encoded word, a comment: the address is what counts (the
    # stand-in, like Exchange, takes only the mailbox's own address in From:).
    other = message(b"From: =?utf-8?q?Scanner_3F?=\r\n\t<Scanner@Contoso.com> (third floor)\r\n")
    replies = one_session(r, OWN, other)
    assert all(x.startswith(b"250 ") for x in replies), replies
    assert [m["data"] for m in standin.messages()] == [OWN, other]


def test_from_header_rewrite_rewrites_outsiders_but_refuses_two_from_headers(standin, relay):
    r = relay(users={USER: {"rewrite_sender": {"from_header": True}}})
    foreign = message(b"From: \"CEO\" <ceo@evil.example> (scanner@contoso.com)\r\n")
    two = message(b"From: scanner@contoso.com\r\nFrom: ceo@evil.example\r\n")
    listed = message(b"From: ceo@evil.example, <scanner@contoso.com>\r\n")
    rewritten, refused_two, refused_list = one_session(r, foreign, two, listed)
    assert rewritten.startswith(b"250 "), rewritten
    assert refused_two.startswith(b"550 5.7.1 Message has more than one From: header"), refused_two
    assert refused_list.startswith(b"550 5.7.1 From: header holds more than one address"), refused_list
    [stored] = standin.messages()
    assert stored["data"] == message(b"From: \"CEO\" <scanner@contoso.com>\r\n")
    assert "event=from_header_rewritten from=ceo@evil.example to=scanner@contoso.com" in r.log_text()


def test_bare_cr_smuggling_refused_and_nothing_delivered(standin, relay):
    """`\\r.\\r` would end the message for a server that reads bare CR as a line
    end; what follows it would be a second, unchecked message."""
    r = relay()
    smuggled = (b"From: scanner@contoso.com\r\nSubject: a\r\n\r\nhi\r.\rMAIL FROM:<ceo@evil.example>\r\n"
                b"RCPT TO:<victim@example.com>\r\nDATA\r\nFrom: ceo@evil.example\r\n\r\nwire money\r\n")
    refused, ok = one_session(r, smuggled, OWN)
    assert refused.startswith(b"550 5.5.2 Error: bare <CR> received"), refused
    assert ok.startswith(b"250 "), ok
    assert [m["data"] for m in standin.messages()] == [OWN]
    assert "event=message_aborted reason=bare_cr" in r.log_text()


def test_bare_lf_lines_are_still_normalised(standin, relay):
    """Bare LF stays a line end for LF-only devices: the relay re-encodes, so
    Office 365 sees the boundaries the relay saw."""
    r = relay()
    with raw_session(r.port("plain")) as c:
        d = Device(c)
        reply = d.send(b"From: scanner@contoso.com\nSubject: lf\n\nbody\n", terminator=b".\n")
    assert reply.startswith(b"250 "), reply
    assert standin.messages()[0]["data"] == b"From: scanner@contoso.com\r\nSubject: lf\r\n\r\nbody\r\n"


def test_oversize_header_block_refused(standin, relay):
    r = relay(limits={"max_header_size": "4K"})
    folded = b"From: scanner@contoso.com" + b"\r\n (fold)" * 1000 + b"\r\n"
    big = message(b"From: scanner@contoso.com\r\n" + b"X-Filler: " + b"x" * 5000 + b"\r\n")
    refused_folded, refused_big, ok = one_session(r, message(folded), big, OWN)
    assert refused_folded.startswith(b"552 5.3.4 Message header too large"), refused_folded
    assert refused_big.startswith(b"552 5.3.4 Message header too large"), refused_big
    assert ok.startswith(b"250 ")
    assert [m["data"] for m in standin.messages()] == [OWN]


def test_spooled_message_with_a_foreign_from_is_never_stored(standin, relay, tmp_path):
    r = spool_relay(relay, tmp_path)
    refused, bare_cr = one_session(r, message(b"From: ceo@evil.example\r\n"),
                                   b"From: scanner@contoso.com\r\n\r\na\rb\r\n")
    assert refused.startswith(b"550 5.7.1 From: address not allowed"), refused
    assert bare_cr.startswith(b"550 5.5.2"), bare_cr
    assert spool_files(r, "queue") == [] and spool_files(r, "tmp") == []
    assert events(r, "queued") == []
    assert standin.messages() == []


def test_imap_and_pop3_obey_max_line_length(standin, relay):
    r = mailbox_relay(relay, standin, limits={"max_line_length": 1000})
    long_line = b"a " + b"x" * 1500 + b"\r\n"
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        assert c.line().startswith(b"* OK ")
        c.send(long_line + b"b NOOP\r\n")
        assert c.line() == b"* BAD Line too long\r\n"
        assert c.line().startswith(b"b OK")
    with raw_lines(r.port("pop3s"), standin.ca, implicit_tls=True) as c:
        assert c.line().startswith(b"+OK")
        c.send(long_line + b"CAPA\r\n")
        assert c.line() == b"-ERR Line too long\r\n"
        assert c.line().startswith(b"+OK")

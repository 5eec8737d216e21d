"""XOAUTH2 logins straight to the real-server look-alike (no relay), with
Python's own clients: what the look-alike's own tests use."""
import base64
import contextlib
import imaplib
import poplib
import smtplib

from relay_helpers import tls_context


def xoauth2(mailbox, token):
    return f"user={mailbox}\x01auth=Bearer {token}\x01\x01".encode()


@contextlib.contextmanager
def xoauth2_imap(standin, realservers, mailbox, token):
    imap = imaplib.IMAP4_SSL("127.0.0.1", realservers.imap_port, ssl_context=tls_context(standin.ca), timeout=30)
    answers = iter([xoauth2(mailbox, token)])
    try:
        # A failure first comes as a `+ <base64 JSON>` challenge: answer it empty.
        imap.authenticate("XOAUTH2", lambda _: next(answers, b""))
        yield imap
    finally:
        with contextlib.suppress(Exception):
            imap.logout()


@contextlib.contextmanager
def xoauth2_pop3(standin, realservers, mailbox, token):
    pop = poplib.POP3_SSL("127.0.0.1", realservers.pop3_port, context=tls_context(standin.ca), timeout=30)
    try:
        reply = pop._shortcmd("AUTH XOAUTH2")
        assert reply.startswith(b"+"), reply
        pop._putcmd(base64.b64encode(xoauth2(mailbox, token)).decode())
        reply = pop._getline()[0]
        if reply.startswith(b"+ "):
            pop._putcmd("")
            reply = pop._getline()[0]
        if not reply.startswith(b"+OK"):
            raise poplib.error_proto(reply)
        yield pop
    finally:
        with contextlib.suppress(Exception):
            pop.quit()


@contextlib.contextmanager
def xoauth2_smtp(standin, realservers, mailbox, token, port=None):
    smtp = smtplib.SMTP("127.0.0.1", port or realservers.submission_port, timeout=30)
    try:
        smtp.starttls(context=tls_context(standin.ca))
        smtp.ehlo()
        code, text = smtp.docmd("AUTH", "XOAUTH2 " + base64.b64encode(xoauth2(mailbox, token)).decode())
        if code == 334:
            code, text = smtp.docmd("")
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, text)
        yield smtp
    finally:
        with contextlib.suppress(Exception):
            smtp.quit()

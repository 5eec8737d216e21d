"""Python's smtplib, imaplib and poplib logged in to one of the relay's
listeners by name (see real_upstream.LISTENERS: `<protocol>_<plain|starttls|
implicit>`), with the default test user."""
import contextlib
import imaplib
import poplib
import smtplib

from relay_helpers import PASSWORD, USER, tls_context


def kind_of(listener):
    return listener.rsplit("_", 1)[1]


@contextlib.contextmanager
def smtp_login(r, standin, listener, user=USER, password=PASSWORD):
    kind, port, ctx = kind_of(listener), r.port(listener), tls_context(standin.ca)
    if kind == "implicit":
        s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=60)
    else:
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        if kind == "starttls":
            s.starttls(context=ctx)
    try:
        s.login(user, password)
        yield s
    finally:
        with contextlib.suppress(Exception):
            s.quit()
        s.close()


@contextlib.contextmanager
def imap_login(r, standin, listener, user=USER, password=PASSWORD):
    kind, port, ctx = kind_of(listener), r.port(listener), tls_context(standin.ca)
    if kind == "implicit":
        m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=60)
    else:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=60)
        if kind == "starttls":
            m.starttls(ssl_context=ctx)
    try:
        m.login(user, password)
        yield m
    finally:
        with contextlib.suppress(Exception):
            m.logout()
        with contextlib.suppress(Exception):
            m.shutdown()


@contextlib.contextmanager
def pop3_login(r, standin, listener, user=USER, password=PASSWORD):
    kind, port, ctx = kind_of(listener), r.port(listener), tls_context(standin.ca)
    if kind == "implicit":
        p = poplib.POP3_SSL("127.0.0.1", port, context=ctx, timeout=60)
    else:
        p = poplib.POP3("127.0.0.1", port, timeout=60)
        if kind == "starttls":
            p.stls(context=ctx)
    try:
        p.user(user)
        p.pass_(password)
        yield p
    finally:
        with contextlib.suppress(Exception):
            p.quit()
        with contextlib.suppress(Exception):
            p.close()

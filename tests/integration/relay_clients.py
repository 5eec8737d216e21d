"""Python's smtplib, imaplib and poplib logged in to one of the relay's
listeners by name (see real_upstream.LISTENERS: `<protocol>_<plain|starttls|
implicit>`), with the default test user."""
import contextlib
import imaplib
import poplib
import smtplib

from relay_helpers import PASSWORD, USER, tls_context

# protocol -> (plain class, TLS class, name of its TLS context argument,
#              STARTTLS, login, logout)
_CLIENTS = {
    "smtp": (smtplib.SMTP, smtplib.SMTP_SSL, "context", lambda c, ctx: c.starttls(context=ctx),
             lambda c, u, p: c.login(u, p), lambda c: c.quit()),
    "imap": (imaplib.IMAP4, imaplib.IMAP4_SSL, "ssl_context", lambda c, ctx: c.starttls(ssl_context=ctx),
             lambda c, u, p: c.login(u, p), lambda c: c.logout()),
    "pop3": (poplib.POP3, poplib.POP3_SSL, "context", lambda c, ctx: c.stls(context=ctx),
             lambda c, u, p: (c.user(u), c.pass_(p)), lambda c: c.quit()),
}


@contextlib.contextmanager
def mail_login(r, standin, listener, user=USER, password=PASSWORD, login=None):
    """The logged-in client for `listener` ("imap_starttls", ...). `login`
    (client, user, password) replaces the library's own login call, to pick
    another mechanism."""
    protocol, kind = listener.split("_", 1)
    plain, tls, ctx_arg, starttls, default_login, logout = _CLIENTS[protocol]
    login = login or default_login
    ctx = tls_context(standin.ca)
    if kind == "implicit":
        c = tls("127.0.0.1", r.port(listener), timeout=60, **{ctx_arg: ctx})
    else:
        c = plain("127.0.0.1", r.port(listener), timeout=60)
    try:
        if kind == "starttls":
            starttls(c, ctx)
        login(c, user, password)
        yield c
    finally:
        with contextlib.suppress(Exception):
            logout(c)
        with contextlib.suppress(Exception):
            (c.shutdown if protocol == "imap" else c.close)()


smtp_login = imap_login = pop3_login = mail_login

"""End-to-end: a reload takes access away from live sessions (issue 11), an
idle SMTP session lets its mailbox slot go, and AUTH after no_auth changes the
slot held.

- A reload judges every live session again: a removed user's idle SMTP
  session hears 421 4.7.0, their IMAP session in IDLE hears BYE, another
  user's session goes on; a changed password ends the old session.
- A connection opened before a reload logs in under the new config.
- An IMAP/POP3 login whose grant a reload revoked while its password was
  being checked ends the session (BYE / -ERR), as SMTP's 421 does; it is not
  left open refusing every later login.
- Logged-in SMTP sessions hold a mailbox slot (and an Office 365 connection)
  only during a transaction and a short linger after it.
- AUTH on a no_auth session, or after STARTTLS on a session that logged in
  before it, releases the earlier grant's slot first.
"""
import base64
import copy
import ctypes
import smtplib
import time

import pytest

from conftest import password_hash
from mailbox_relay import MAILBOX_LISTENERS, mailbox_relay
from relay_helpers import PASSWORD, USER, RawSmtp, make_message, raw_lines, raw_session, wait_for_log

OTHER, OTHER_PASSWORD, OTHER_MAILBOX = "copier02", "other secret 2", "mfp@contoso.com"
NEW_PASSWORD = "a new password 3"
LINGER = 10  # seconds: kUpstreamLinger in relay/smtp_session.cpp


def auth_plain(user, password):
    return b"AUTH PLAIN " + base64.b64encode(f"\0{user}\0{password}".encode())


def smtp_login(r, user=USER, password=PASSWORD):
    """A raw SMTP session on the plain listener, logged in (or no_auth when user is None)."""
    c = RawSmtp(r.port("plain"))
    assert c.read_reply().startswith(b"220")
    assert c.cmd(b"EHLO device.test").startswith(b"250")
    if user is not None:
        reply = c.cmd(auth_plain(user, password))
        assert reply.startswith(b"235"), reply
    return c


def message_from(sender, seed):
    """A test message whose From: is `sender` (senders governs the header too)."""
    return make_message(300, seed).replace(b"From: scanner@contoso.com", f"From: {sender}".encode(), 1)


def send_raw(c, sender, seed):
    """One message on a raw SMTP session; returns the final reply."""
    for line, code in ((f"MAIL FROM:<{sender}>", b"250"), ("RCPT TO:<dest@example.com>", b"250"),
                       ("DATA", b"354")):
        reply = c.cmd(line.encode())
        if not reply.startswith(code):
            return reply
    # The From: header must be the sender too (issue 11: senders govern From:).
    c.send(message_from(sender, seed) + b".\r\n")
    return c.read_reply()


def reload_with(r, change):
    """Rewrites the config with change(config) applied, SIGHUP, waits for the reload."""
    cfg = copy.deepcopy(r.config)
    change(cfg)
    before = r.log_text().count("event=reloaded")
    r.write_config(cfg)
    r.reload()
    deadline = time.monotonic() + 15
    while r.log_text().count("event=reloaded") == before:
        assert time.monotonic() < deadline, "no reload:\n" + r.redacted_tail()
        time.sleep(0.05)


def smtp_sessions(standin, mailbox):
    """SMTP sessions logged in at the stand-in for `mailbox` now."""
    return standin.stats()["smtp"]["sessions"].get(mailbox, 0)


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def two_user_relay(relay, standin, **kw):
    """IMAP/POP3 listeners plus a plain SMTP one; scanner01 may use all three,
    copier02 (another mailbox) SMTP only."""
    return mailbox_relay(relay, standin, listeners=MAILBOX_LISTENERS + [{"name": "plain", "tls": "none"}],
                         users={USER: {"protocols": ["smtp", "imap", "pop3"]},
                                OTHER: {"password": OTHER_PASSWORD, "mailbox": OTHER_MAILBOX,
                                        "protocols": ["smtp"]}}, **kw)


def test_removing_a_user_ends_their_idle_smtp_and_imap_sessions_not_others(standin, relay):
    r = two_user_relay(relay, standin)
    smtp_victim = smtp_login(r)
    smtp_other = smtp_login(r, OTHER, OTHER_PASSWORD)
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as imap:
        imap.line()
        imap.send(f'a LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        assert imap.until_tagged(b"a")[-1].startswith(b"a OK")
        imap.send(b"b SELECT INBOX\r\n")
        assert imap.until_tagged(b"b")[-1].startswith(b"b OK")
        imap.send(b"c IDLE\r\n")
        assert imap.line().startswith(b"+ ")

        reload_with(r, lambda cfg: cfg["users"].pop(USER))

        assert smtp_victim.read_reply(timeout=10).startswith(b"421 4.7.0")
        assert smtp_victim.closed()
        assert imap.line(timeout=10) == b"* BYE [UNAVAILABLE] Configuration changed, log in again\r\n"
        assert imap.closed()
    # The other user's session, idle through the reload, goes on.
    assert smtp_other.cmd(b"NOOP").startswith(b"250")
    assert send_raw(smtp_other, OTHER_MAILBOX, "other-after-reload").startswith(b"250")
    smtp_other.close()
    smtp_victim.close()
    # session_end is written after the close the client saw: wait for it.
    assert wait_for_log(r, "result=revoked"), r.redacted_tail()
    log = r.log_text()
    assert log.count("event=access_revoked") == 2
    assert "reason=user_removed" in log and "protocol=imap" in log
    assert [m["data"] for m in standin.messages()] == [message_from(OTHER_MAILBOX, "other-after-reload")]


def test_a_changed_password_ends_the_session_logged_in_with_the_old_one(standin, relay, relay_bin):
    r = two_user_relay(relay, standin)
    victim = smtp_login(r)
    other = smtp_login(r, OTHER, OTHER_PASSWORD)
    new_hash = password_hash(relay_bin, NEW_PASSWORD)
    r.forbid_in_log("the new password", NEW_PASSWORD)
    reload_with(r, lambda cfg: cfg["users"][USER].update(password_hash=new_hash))
    assert victim.read_reply(timeout=10).startswith(b"421 4.7.0")
    assert other.cmd(b"NOOP").startswith(b"250")
    victim.close()
    other.close()
    assert "reason=password_changed" in r.log_text()


def test_a_message_in_progress_is_finished_before_the_421(standin, relay):
    r = two_user_relay(relay, standin)
    with raw_session(r.port("plain")) as c:
        assert c.read_reply().startswith(b"220")
        c.cmd(b"EHLO device.test")
        assert c.cmd(auth_plain(USER, PASSWORD)).startswith(b"235")
        for line in (b"MAIL FROM:<scanner@contoso.com>", b"RCPT TO:<dest@example.com>"):
            assert c.cmd(line).startswith(b"250")
        assert c.cmd(b"DATA").startswith(b"354")
        msg = make_message(2000, "in-flight")
        c.send(msg[:1000])
        reload_with(r, lambda cfg: cfg["users"].pop(USER))
        assert wait_for_log(r, "event=access_revoked")
        c.send(msg[1000:] + b".\r\n")
        assert c.read_reply().startswith(b"250")
        assert c.read_reply(timeout=10).startswith(b"421 4.7.0")
    assert [m["data"] for m in standin.messages()] == [msg]


def test_a_connection_opened_before_a_reload_logs_in_under_the_new_config(standin, relay, relay_bin):
    r = two_user_relay(relay, standin)
    with raw_session(r.port("plain")) as c:
        assert c.read_reply().startswith(b"220")
        assert c.cmd(b"EHLO device.test").startswith(b"250")
        new_hash = password_hash(relay_bin, NEW_PASSWORD)
        r.forbid_in_log("the new password", NEW_PASSWORD)
        reload_with(r, lambda cfg: cfg["users"][USER].update(password_hash=new_hash))
        assert c.cmd(auth_plain(USER, PASSWORD)).startswith(b"535")
        assert c.cmd(auth_plain(USER, NEW_PASSWORD)).startswith(b"235")
        assert send_raw(c, "scanner@contoso.com", "new-password").startswith(b"250")
    with raw_session(r.port("plain")) as c:
        assert c.read_reply().startswith(b"220")
        assert c.cmd(b"EHLO device.test").startswith(b"250")
        # sources narrowed to another address: a login from here is refused,
        # although the connection was accepted before.
        reload_with(r, lambda cfg: cfg["users"][USER].update(sources=["127.0.0.2/32"]))
        assert c.cmd(auth_plain(USER, NEW_PASSWORD)).startswith(b"535")
    assert "reason=source_not_allowed" in r.log_text()


def test_idle_logged_in_sessions_do_not_keep_the_mailbox_slots(standin, relay):
    # Cap 3 (Exchange's default); a 4th session may wait 2 s at most.
    r = relay(listeners=[{"tls": "none"}], limits={"mailbox_wait_timeout": "2s"})
    idle = [smtp_login(r) for _ in range(3)]
    assert smtp_sessions(standin, "scanner@contoso.com") == 3  # the slots are held after AUTH
    # NOOPs do not keep the slots: after the linger the upstream connections go.
    started = time.monotonic()
    while smtp_sessions(standin, "scanner@contoso.com") > 0:
        assert time.monotonic() - started < LINGER + 10, "idle sessions kept their slots"
        for c in idle:
            assert c.cmd(b"NOOP").startswith(b"250")
        time.sleep(0.5)
    assert time.monotonic() - started >= LINGER - 1
    fourth = smtp_login(r)
    assert send_raw(fourth, "scanner@contoso.com", "fourth").startswith(b"250")
    fourth.close()
    # The idle sessions are still usable: MAIL takes a slot and logs in again.
    for i, c in enumerate(idle):
        assert send_raw(c, "scanner@contoso.com", f"idle-{i}").startswith(b"250")
        c.close()
    assert len(standin.messages()) == 4
    assert "event=mailbox_busy" not in r.log_text()


def test_auth_after_no_auth_releases_the_no_auth_slot_first(standin, relay):
    # One connection per mailbox; waiting for a slot ends after 1 s.
    r = relay(listeners=[{"tls": "none"}],
              no_auth=[{"sources": ["127.0.0.1/32"], "tenant": "contoso", "mailbox": "mfp@contoso.com"}],
              tenants={"contoso": {"smtp": {"max_connections_per_mailbox": 1}}},
              limits={"mailbox_wait_timeout": "1s"})
    a = smtp_login(r, user=None)
    assert send_raw(a, "mfp@contoso.com", "no-auth").startswith(b"250")
    assert smtp_sessions(standin, "mfp@contoso.com") == 1  # held during the linger
    assert a.cmd(auth_plain(USER, PASSWORD)).startswith(b"235")
    assert smtp_sessions(standin, "mfp@contoso.com") == 0
    assert smtp_sessions(standin, "scanner@contoso.com") == 1
    # Another no_auth session gets the mfp slot at once...
    b = smtp_login(r, user=None)
    assert send_raw(b, "mfp@contoso.com", "no-auth-2").startswith(b"250")
    # ...and the second mailbox's cap applies to the session that logged in.
    c = RawSmtp(r.port("plain"))
    assert c.read_reply().startswith(b"220")
    c.cmd(b"EHLO device.test")
    assert c.cmd(auth_plain(USER, PASSWORD)).startswith(b"454 4.7.0")
    assert send_raw(a, "scanner@contoso.com", "after-auth").startswith(b"250")
    for s in (a, b, c):
        s.close()
    assert len(standin.messages()) == 3


def test_removing_the_no_auth_rule_ends_its_sessions(standin, relay):
    r = relay(listeners=[{"tls": "none"}],
              no_auth=[{"sources": ["127.0.0.1/32"], "tenant": "contoso", "mailbox": "mfp@contoso.com"}])
    c = smtp_login(r, user=None)
    assert send_raw(c, "mfp@contoso.com", "before").startswith(b"250")
    reload_with(r, lambda cfg: cfg.pop("no_auth"))
    assert c.read_reply(timeout=10).startswith(b"421 4.7.0")
    c.close()
    assert "reason=no_auth_removed" in r.log_text()
    # A session that does not use the rule is not touched by it.
    assert smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=10).noop()[0] == 250


def test_auth_after_starttls_releases_the_slot_of_the_login_before_it(standin, relay):
    r = relay(listeners=[{"tls": "starttls", "allow_plaintext_auth": True}],
              users={OTHER: {"password": OTHER_PASSWORD, "mailbox": OTHER_MAILBOX}},
              tenants={"contoso": {"smtp": {"max_connections_per_mailbox": 1}}},
              limits={"mailbox_wait_timeout": "1s"})
    with raw_session(r.port("starttls")) as a:
        assert a.read_reply().startswith(b"220")
        a.cmd(b"EHLO device.test")
        assert a.cmd(auth_plain(USER, PASSWORD)).startswith(b"235")  # in the clear
        assert smtp_sessions(standin, "scanner@contoso.com") == 1
        assert a.cmd(b"STARTTLS").startswith(b"220")
        a.start_tls(standin.ca)
        a.cmd(b"EHLO device.test")
        assert a.cmd(auth_plain(OTHER, OTHER_PASSWORD)).startswith(b"235")
        assert smtp_sessions(standin, "scanner@contoso.com") == 0
        # scanner01's only slot is free for another session at once.
        with raw_session(r.port("starttls")) as b:
            assert b.read_reply().startswith(b"220")
            b.cmd(b"EHLO device.test")
            assert b.cmd(auth_plain(USER, PASSWORD)).startswith(b"235")
            assert send_raw(b, "scanner@contoso.com", "second-session").startswith(b"250")
        assert send_raw(a, OTHER_MAILBOX, "after-starttls").startswith(b"250")
    assert len(standin.messages()) == 2


def slow_hash(password):
    """A bcrypt hash of cost 16 (a few seconds of CPU, a few KiB of memory,
    unlike a slow yescrypt): the relay's password check takes long enough for
    a reload to land during it."""
    libcrypt = ctypes.CDLL("libcrypt.so.1")
    libcrypt.crypt.restype = ctypes.c_char_p
    libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    out = libcrypt.crypt(password.encode(), b"$2b$16$abcdefghijklmnopqrstuu")
    assert out and out.startswith(b"$2b$16$"), out
    return out.decode()


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_reload_during_a_mailbox_login_ends_the_session(standin, relay, relay_bin, protocol):
    r = mailbox_relay(relay, standin, users={USER: {"password_hash": slow_hash(PASSWORD)}})
    new_hash = password_hash(relay_bin, NEW_PASSWORD)  # the default cost: the reload itself is quick
    r.forbid_in_log("the new password", NEW_PASSWORD)
    upstream_before = standin.stats()[protocol].get("connections", 0)
    if protocol == "imap":
        conn = raw_lines(r.port("imap_plain"))
        login = f'a LOGIN {USER} "{PASSWORD}"\r\n'.encode()
        retry = f'b LOGIN {USER} "{NEW_PASSWORD}"\r\n'.encode()
        notice = b"* BYE [UNAVAILABLE] Configuration changed, log in again\r\n"
    else:
        conn = raw_lines(r.port("pop3s"), standin.ca, implicit_tls=True)
        login = f"USER {USER}\r\nPASS {PASSWORD}\r\n".encode()
        retry = f"USER {USER}\r\nPASS {NEW_PASSWORD}\r\n".encode()
        notice = b"-ERR [SYS/TEMP] Configuration changed, log in again\r\n"
    with conn as c:
        assert c.line().startswith(b"* OK" if protocol == "imap" else b"+OK")
        c.send(login)
        if protocol == "pop3":
            assert c.line().startswith(b"+OK")  # USER; PASS is being checked
        # The password changes while the old one is being checked.
        reload_with(r, lambda cfg: cfg["users"][USER].update(password_hash=new_hash))
        assert "event=auth_ok" not in r.log_text(), "the check ended before the reload:\n" + r.redacted_tail()
        # The grant the check gives is revoked at once: the session ends.
        # (Before the fix it said "try again later" and stayed open, and
        # refused every later login, the new password's too.)
        assert c.line(timeout=30) == notice
        try:
            c.send(retry)
        except OSError:
            pass  # already closed
        assert c.closed()
    # session_end is written after the close the client saw: wait for it.
    assert wait_for_log(r, "result=revoked"), r.redacted_tail()
    log = r.log_text()
    assert log.count("event=access_revoked") == 1, r.redacted_tail()
    assert "reason=password_changed" in log
    # The revoked grant never reached Office 365.
    assert standin.stats()[protocol].get("connections", 0) == upstream_before

"""Habits of real devices, end to end through the relay: old TLS versions,
HELO-only and lowercase dialogues, AUTH PLAIN with the credentials on the next
line, bare LF line ends, senders Office 365 will not take, IMAP IDLE for hours,
and a burst of sessions for one mailbox."""
import base64
import re
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import warnings

import pytest

from mailbox_relay import MAILBOX, mailbox_relay
from relay_helpers import PASSWORD, USER, idle_cycles, make_message, raw_lines, raw_session, wait_for_log


def b64(text):
    return base64.b64encode(text.encode()).decode().encode()


def old_tls_context(ca, version):
    """A client that speaks only `version` (TLS 1.0 or 1.1), as old MFPs do."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = version
        ctx.maximum_version = version
    ctx.load_verify_locations(ca)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # the client's side of the same legacy
    return ctx


LEGACY_LISTENERS = [
    {"name": "legacy_implicit", "tls": "implicit", "min_tls_version": "1.0"},
    {"name": "legacy_starttls", "tls": "starttls", "min_tls_version": "1.0"},
    {"name": "implicit", "tls": "implicit"},
]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["tls1.0", "tls1.1"])
def test_old_tls_device_on_a_legacy_listener(standin, relay, version):
    r = relay(listeners=LEGACY_LISTENERS)
    ctx = old_tls_context(standin.ca, version)
    msg = make_message(size=2000, seed=f"legacy-{version.name}")
    with smtplib.SMTP_SSL("127.0.0.1", r.port("legacy_implicit"), context=ctx, timeout=30) as s:
        assert s.sock.version() == version.name.replace("_", ".").replace("TLSv1.0", "TLSv1")
        s.login(USER, PASSWORD)
        assert s.sendmail("scanner@contoso.com", ["dest@example.com"], msg) == {}
    with smtplib.SMTP("127.0.0.1", r.port("legacy_starttls"), timeout=30) as s:
        s.starttls(context=ctx)
        s.login(USER, PASSWORD)
        assert s.sendmail("scanner@contoso.com", ["dest@example.com"], msg) == {}
    assert [m["data"] for m in standin.messages()] == [msg, msg]
    want = "TLSv1" if version == ssl.TLSVersion.TLSv1 else "TLSv1.1"
    assert re.search(rf"event=tls .*version=\"?{re.escape(want)} ", r.log_text())
    # The relay's own connection to Office 365 stays TLS 1.2 or newer.
    assert "upstream_ok" in r.log_text()


def test_old_tls_device_refused_by_a_default_listener_with_a_clear_log_line(standin, relay):
    r = relay(listeners=LEGACY_LISTENERS)
    ctx = old_tls_context(standin.ca, ssl.TLSVersion.TLSv1)
    sock = socket.create_connection(("127.0.0.1", r.port("implicit")), timeout=30)
    port = sock.getsockname()[1]
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        ctx.wrap_socket(sock, server_hostname="localhost")
    sock.close()
    assert wait_for_log(r, f'event=tls_failed client=127.0.0.1:{port} error="error')
    line = next(l for l in r.log_text().splitlines() if "event=tls_failed" in l and "error=eof" not in l)
    assert "min_tls_version" in line and "1.0" in line, line
    assert standin.stats()["smtp"]["connections"] == 0


def test_openssl_s_client_tls1_on_the_legacy_listener(standin, relay):
    """A second, independent TLS 1.0 implementation: openssl s_client."""
    r = relay(listeners=LEGACY_LISTENERS)
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{r.port('legacy_implicit')}",
                          "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile", standin.ca, "-quiet",
                          "-verify_return_error"],
                         input=b"EHLO mfp\r\nQUIT\r\n", capture_output=True, timeout=30)
    assert b"250 2.0.0" in out.stdout or b"221 2.0.0 Bye" in out.stdout, out.stderr[-500:]


def test_helo_only_lowercase_auth_login(standin, relay):
    """An old device: HELO (no EHLO), lowercase verbs, AUTH LOGIN step by step."""
    r = relay()
    msg = b"From: scanner@contoso.com\r\nTo: dest@example.com\r\nSubject: helo\r\n\r\nscan attached\r\n"
    with raw_session(r.port("plain")) as c:
        assert c.read_reply().startswith(b"220 ")
        assert c.cmd(b"helo printer-3f").startswith(b"250 ")
        assert c.cmd(b"auth login").startswith(b"334 VXNlcm5hbWU6")
        assert c.cmd(b64(USER)).startswith(b"334 UGFzc3dvcmQ6")
        assert c.cmd(b64(PASSWORD)).startswith(b"235 ")
        assert c.cmd(b"mail from: <scanner@contoso.com>").startswith(b"250 ")
        assert c.cmd(b"rcpt to:<dest@example.com>").startswith(b"250 ")
        assert c.cmd(b"data").startswith(b"354 ")
        assert c.cmd(msg + b".").startswith(b"250 ")
        assert c.cmd(b"quit").startswith(b"221 ")
    assert standin.messages()[0]["data"] == msg


def test_auth_plain_with_the_credentials_on_the_next_line(standin, relay):
    r = relay()
    with raw_session(r.port("plain")) as c:
        c.read_reply()
        c.cmd(b"EHLO scanner")
        assert c.cmd(b"AUTH PLAIN").startswith(b"334")
        assert c.cmd(b64(f"\0{USER}\0{PASSWORD}")).startswith(b"235 2.7.0")
        assert c.cmd(b"MAIL FROM:<scanner@contoso.com>").startswith(b"250")


def send_raw(r, body, sender=b"scanner@contoso.com", port_name="plain"):
    """One message over a raw session, `body` sent exactly as given
    (terminator included); returns the final reply."""
    with raw_session(r.port(port_name)) as c:
        c.read_reply()
        c.cmd(b"EHLO scanner")
        assert c.cmd(b"AUTH PLAIN " + b64(f"\0{USER}\0{PASSWORD}")).startswith(b"235")
        mail = c.cmd(b"MAIL FROM:<" + sender + b">")
        if not mail.startswith(b"250"):
            return mail
        assert c.cmd(b"RCPT TO:<dest@example.com>").startswith(b"250")
        assert c.cmd(b"DATA").startswith(b"354")
        c.send(body)
        return c.read_reply()


def test_bare_lf_lines_are_normalised_and_counted(standin, relay):
    """Exchange refuses bare LF (5.6.11); many devices send nothing else."""
    r = relay()
    lf = b"From: scanner@contoso.com\nTo: dest@example.com\nSubject: lf\n\nline one\n..dotted\nend\n"
    reply = send_raw(r, lf + b".\n")  # even the terminator with a bare LF
    assert reply.startswith(b"250 "), reply
    assert standin.messages()[0]["data"] == lf.replace(b"..", b".").replace(b"\n", b"\r\n")
    assert re.search(r"event=message .*bare_lf=8 ", r.log_text())
    # Mixed: CRLF lines stay as they are, only the bare ones are fixed.
    mixed = b"From: scanner@contoso.com\r\nSubject: mixed\r\n\r\nok\r\nbare\nok\r\n"
    assert send_raw(r, mixed + b".\r\n").startswith(b"250 ")
    assert standin.messages()[1]["data"] == mixed.replace(b"bare\n", b"bare\r\n")
    assert re.search(r"event=message .*bare_lf=1 ", r.log_text())


FOREIGN = b"From: \"Scanner 3F\" <scanner@printer.local>\r\nTo: dest@example.com\r\nSubject: scan\r\n\r\n" \
          b"From: this body line is not a header\r\n"


def test_foreign_sender_refused_unless_rewrite_sender(standin, relay):
    r = relay()
    assert send_raw(r, FOREIGN + b".\r\n", sender=b"scanner@printer.local").startswith(b"550 5.7.1")
    assert "hint=" in next(l for l in r.log_text().splitlines() if "event=sender_denied" in l)
    assert standin.messages() == []


def test_rewrite_sender_envelope_only(standin, relay):
    r = relay(users={USER: {"rewrite_sender": True}})
    # The envelope is rewritten; the From: header is not, and senders govern
    # it too: the relay refuses the message (Exchange would, with 5.7.60).
    reply = send_raw(r, FOREIGN + b".\r\n", sender=b"scanner@printer.local")
    assert reply.startswith(b"550 5.7.1 From: address not allowed"), reply
    assert "event=sender_rewritten from=scanner@printer.local to=scanner@contoso.com" in r.log_text()
    ok = b"From: scanner@contoso.com\r\nSubject: s\r\n\r\nx\r\n"
    assert send_raw(r, ok + b".\r\n", sender=b"scanner@printer.local").startswith(b"250")
    assert send_raw(r, ok + b".\r\n", sender=b"").startswith(b"250")  # the null sender too
    assert [m["mail_from"] for m in standin.messages()] == ["scanner@contoso.com"] * 2


def test_rewrite_sender_from_header_and_reply_to(standin, relay):
    r = relay(users={USER: {"rewrite_sender": {"from_header": True, "reply_to": True}}})
    reply = send_raw(r, FOREIGN + b".\r\n", sender=b"scanner@printer.local")
    assert reply.startswith(b"250 "), reply
    stored = standin.messages()[0]
    assert stored["mail_from"] == "scanner@contoso.com"
    assert stored["data"] == (b"From: \"Scanner 3F\" <scanner@contoso.com>\r\nTo: dest@example.com\r\n"
                              b"Subject: scan\r\nReply-To: \"Scanner 3F\" <scanner@printer.local>\r\n\r\n"
                              b"From: this body line is not a header\r\n")
    assert "event=from_header_rewritten from=scanner@printer.local" in r.log_text()
    # An allowed sender is left exactly as it was.
    own = make_message(size=3000, seed="own")
    assert send_raw(r, own + b".\r\n").startswith(b"250")
    assert standin.messages()[1]["data"] == own


def test_rewrite_sender_streams_a_large_message(standin, relay):
    """The rewrite touches the header block only; a 3 MB body streams through."""
    r = relay(users={USER: {"rewrite_sender": {"from_header": True}}})
    body = make_message(size=3 * 1024 * 1024, seed="rw-big", dot_lines=True)
    msg = body.replace(b"From: scanner@contoso.com", b"From: scanner@printer.local", 1)
    stuffed = msg.replace(b"\r\n.", b"\r\n..")
    assert send_raw(r, stuffed + b".\r\n", sender=b"scanner@printer.local").startswith(b"250")
    assert standin.messages()[0]["data"] == body


def test_no_auth_rule_with_rewrite_sender(standin, relay):
    r = relay(no_auth=[{"sources": ["127.0.0.1/32"], "tenant": "contoso", "mailbox": "scanner@contoso.com",
                        "rewrite_sender": {"from_header": True}}])
    with raw_session(r.port("plain")) as c:
        c.read_reply()
        c.cmd(b"HELO mfp")
        assert c.cmd(b"MAIL FROM:<mfp@printer.local>").startswith(b"250")
        assert c.cmd(b"RCPT TO:<dest@example.com>").startswith(b"250")
        assert c.cmd(b"DATA").startswith(b"354")
        assert c.cmd(b"From: mfp@printer.local\r\n\r\nscan\r\n.").startswith(b"250")
    assert standin.messages()[0]["data"] == b"From: scanner@contoso.com\r\n\r\nscan\r\n"


def test_idle_for_hours_with_time_compressed(standin, relay):
    """Thunderbird-style IDLE: the client refreshes IDLE every 29 minutes, the
    relay ends a silent splice after splice_idle_timeout (30 minutes by
    default). Here 30 minutes are 3 s: twelve refresh cycles are six hours of
    IDLE, with mail arriving on the way; then true silence ends the session."""
    r = mailbox_relay(relay, standin, limits={"splice_idle_timeout": "3s", "command_timeout": "2s",
                                              "upstream_reply_timeout": "2s"})
    refresh = 29 / 30 * 3 - 0.3  # "29 minutes", minus a margin for a loaded machine
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(f'a LOGIN {USER} "{PASSWORD}"\r\nb SELECT INBOX\r\n'.encode())
        c.until_tagged(b"b")
        idle_cycles(c, 12, refresh, deliver_in=(3, 9),
                    deliver=lambda cycle: standin.deliver(MAILBOX, make_message(size=500, seed=f"idle-{cycle}")))
        # Now silence longer than the timeout: the relay ends the session.
        assert c.closed(timeout=10)
    assert wait_for_log(r, "result=idle")


def test_twenty_sessions_for_one_mailbox_queue_and_all_arrive_in_order(standin, relay):
    """A scanner sends 20 jobs at once; Exchange allows 3 connections per
    mailbox. The relay queues the rest (first come, first served) and every
    message arrives, in the order the sessions asked (up to the 3 that run
    side by side)."""
    standin.knobs(max_concurrent_per_mailbox=3)  # Exchange's limit: 432 4.3.2 beyond it
    r = relay(tenants={"contoso": {"smtp": {"max_connections_per_mailbox": 3}}},
              limits={"mailbox_wait_timeout": "120s"})
    results = [None] * 20
    asked = [threading.Event() for _ in range(20)]

    def job(i):
        msg = f"From: scanner@contoso.com\r\nSubject: job {i:02d}\r\n\r\npage\r\n".encode()
        try:
            with raw_session(r.port("plain")) as c:
                c.read_reply()
                c.cmd(b"EHLO scanner")
                c.send(b"AUTH PLAIN " + b64(f"\0{USER}\0{PASSWORD}") + b"\r\n")
                asked[i].set()
                assert c.read_reply(timeout=120).startswith(b"235")
                assert c.cmd(b"MAIL FROM:<scanner@contoso.com>").startswith(b"250")
                assert c.cmd(b"RCPT TO:<dest@example.com>").startswith(b"250")
                assert c.cmd(b"DATA").startswith(b"354")
                time.sleep(0.2)  # a slow device: the slot is held a while
                results[i] = c.cmd(msg + b".")
                c.cmd(b"QUIT")
        except Exception as e:  # reported below, with the job number
            results[i] = repr(e).encode()

    threads = []
    for i in range(20):
        t = threading.Thread(target=job, args=(i,))
        t.start()
        threads.append(t)
        asked[i].wait(30)
        # The relay checked this login (and so queued for the slot) before the
        # next session asks: that fixes the order of arrival.
        deadline = time.monotonic() + 30
        while r.log_text().count("event=auth_ok") < i + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    for t in threads:
        t.join(180)
    assert all(res and res.startswith(b"250 ") for res in results), results
    subjects = [re.search(rb"Subject: (job \d+)", m["data"]).group(1).decode() for m in standin.messages()]
    assert sorted(subjects) == [f"job {i:02d}" for i in range(20)]
    # First come, first served: with 3 slots, a job can only be overtaken by
    # the (at most two) jobs that held a slot beside it.
    positions = {int(s.split()[1]): n for n, s in enumerate(subjects)}
    assert all(abs(positions[i] - i) < 3 for i in range(20)), subjects

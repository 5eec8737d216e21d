"""The relay in front of real mail servers no one here wrote: Postfix takes
the relay's XOAUTH2 submission (SASL checked by Dovecot against the stand-in
token endpoint's key) and delivers over LMTP into Dovecot, and the relay's
IMAP and POP3 sessions log in to that Dovecot. A message sent through the
relay is read back through the relay."""
import contextlib
import imaplib
import poplib
import re
import smtplib
import threading
import time

import pytest

from real_upstream import MAILBOXES, real_relay
from relay_clients import imap_login, pop3_login, smtp_login
from relay_helpers import PASSWORD, USER, idle_cycles, make_message, raw_lines, wait_for_log
from conftest import merge
from control import body_of
from test_doctor import doctor

MAILBOX = MAILBOXES[0]


@pytest.mark.parametrize("chunking", [True, False], ids=["bdat", "data"])
def test_sent_through_the_relay_read_back_through_the_relay(standin, realservers, relay, chunking):
    r = real_relay(relay, realservers, chunking=chunking)
    msg = make_message(size=5 * 1024 * 1024, seed=f"real-{chunking}", dot_lines=True)
    with smtp_login(r, standin, "smtp_starttls") as s:
        assert s.sendmail(MAILBOX, [MAILBOX], msg) == {}
    [stored] = realservers.wait_messages(MAILBOX, 1)
    body_of(stored, msg)
    # The device heard Postfix's own 250, relayed after Postfix accepted.
    assert re.search(r'event=message .*reply="250 2\.0\.0 Ok: (\d+ bytes )?queued as ', r.log_text())

    with imap_login(r, standin, "imap_implicit") as m:
        assert m.select("INBOX") == ("OK", [b"1"])
        typ, fetched = m.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and fetched[0][1] == stored
    with pop3_login(r, standin, "pop3_implicit") as p:
        assert p.stat() == (1, len(stored))
        lines = p.retr(1)[1]
        assert b"\r\n".join(lines) + b"\r\n" == stored


def test_several_messages_and_recipients_in_one_session(standin, realservers, relay):
    r = real_relay(relay, realservers, users={USER: {"senders": [MAILBOX]}})
    msgs = [make_message(size=2000 + i, seed=f"multi-{i}") for i in range(3)]
    with smtp_login(r, standin, "smtp_implicit") as s:
        for msg in msgs:
            assert s.sendmail(MAILBOX, MAILBOXES, msg) == {}
    for m in MAILBOXES:
        stored = realservers.wait_messages(m, 3)
        # Postfix delivers in parallel: the order in the mailbox may differ.
        by_id = {re.search(rb"Message-ID: (<[^>]+>)", s).group(1): s for s in stored}
        for original in msgs:
            body_of(by_id[re.search(rb"Message-ID: (<[^>]+>)", original).group(1)], original)


def test_postfix_sender_refusal_reaches_the_device_verbatim(standin, realservers, relay):
    """The relay lets the user send as any contoso address; Postfix (Exchange's
    SendAs) does not: the device hears Postfix's own reply, nothing is stored,
    and the session can go on."""
    r = real_relay(relay, realservers, users={USER: {"senders": ["*@contoso.com"]}})
    with smtp_login(r, standin, "smtp_starttls") as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            s.sendmail("noreply@contoso.com", [MAILBOX], make_message(size=500, seed="sendas"))
        code, text = refused.value.recipients[MAILBOX]
        assert code == 553 and b"Sender address rejected: not owned by user scanner@contoso.com" in text
        s.rset()
        assert s.sendmail(MAILBOX, [MAILBOX], make_message(size=500, seed="after")) == {}
    assert len(realservers.wait_messages(MAILBOX, 1)) == 1


def test_dovecot_refusals_with_their_challenge_are_handled(standin, realservers, relay):
    """Dovecot answers a failed XOAUTH2 with a `+`/`334` JSON challenge first
    (Exchange does not): the relay answers it and tells the device no."""
    r = real_relay(relay, realservers)
    for service in ("smtp", "imap", "pop3"):
        realservers.grant(service, [])
    with pytest.raises(smtplib.SMTPAuthenticationError) as smtp_failed:
        with smtp_login(r, standin, "smtp_starttls"):
            pass
    assert smtp_failed.value.smtp_code == 535 and b"5.7.3" in smtp_failed.value.smtp_error
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        with imap_login(r, standin, "imap_implicit"):
            pass
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        with pop3_login(r, standin, "pop3_implicit"):
            pass
    failed = [l for l in r.log_text().splitlines() if "event=upstream_failed" in l]
    ports = {realservers.submission_port, realservers.imap_port, realservers.pop3_port}
    assert {int(re.search(r"upstream=127\.0\.0\.1:(\d+)", l).group(1)) for l in failed} == ports
    for line in failed:
        # The challenge, decoded, and the Exchange-side cause, for every protocol.
        assert '(challenge: {\\"status\\":\\"401\\"' in line, line
        assert re.search(r'likely_cause="[^-]', line), line


def test_idle_sees_a_message_sent_through_the_relay(standin, realservers, relay):
    r = real_relay(relay, realservers)
    with raw_lines(r.port("imap_implicit"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(f'a1 LOGIN {USER} "{PASSWORD}"\r\na2 SELECT INBOX\r\n'.encode())
        assert c.until_tagged(b"a2")[-1].startswith(b"a2 OK")
        c.send(b"a3 IDLE\r\n")
        assert c.line().startswith(b"+ ")
        with smtp_login(r, standin, "smtp_plain") as s:
            s.sendmail(MAILBOX, [MAILBOX], make_message(size=800, seed="idle"))
        assert c.line(timeout=30) == b"* 1 EXISTS\r\n"
        c.send(b"DONE\r\n")
        assert c.until_tagged(b"a3")[-1].startswith(b"a3 OK")
        c.send(b"a4 LOGOUT\r\n")
        assert c.until_tagged(b"a4")[-1].startswith(b"a4 OK")


def test_hours_of_idle_against_dovecot_with_time_compressed(standin, realservers, relay):
    """As test_device_quirks' IDLE test, against Dovecot, with 30 minutes
    compressed to 2 s: four refresh cycles (two hours), a message sent through
    the relay's SMTP side arriving on the way; then silence ends the session."""
    r = real_relay(relay, realservers, limits={"splice_idle_timeout": "2s", "command_timeout": "2s"})
    with raw_lines(r.port("imap_implicit"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(f'a LOGIN {USER} "{PASSWORD}"\r\nb SELECT INBOX\r\n'.encode())
        assert c.until_tagged(b"b")[-1].startswith(b"b OK")

        def send_one(cycle):
            with smtp_login(r, standin, "smtp_starttls") as s:
                s.sendmail(MAILBOX, [MAILBOX], make_message(size=600, seed=f"idle-{cycle}"))
        idle_cycles(c, 4, 29 / 30 * 2 - 0.3, deliver=send_one, deliver_in=(1,))
        assert c.closed(timeout=10)
    assert wait_for_log(r, "result=idle")


def test_append_through_imap_then_retrieve_and_delete_through_pop3(standin, realservers, relay):
    r = real_relay(relay, realservers)
    msg = make_message(size=1024 * 1024, seed="append", dot_lines=True)
    with imap_login(r, standin, "imap_starttls") as m:
        assert m.append("INBOX", None, None, msg)[0] == "OK"
    with pop3_login(r, standin, "pop3_starttls") as p:
        assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == msg
        p.dele(1)
    with imap_login(r, standin, "imap_plain") as m:
        assert m.select("INBOX") == ("OK", [b"0"])
    assert realservers.messages(MAILBOX) == []


def test_per_mailbox_cap_keeps_dovecot_under_its_connection_limit(standin, realservers, relay):
    """Dovecot refuses a 21st connection for one mailbox (as Exchange does
    beyond its limit); the relay's cap of 16 makes the 24 clients of a burst
    wait their turn instead, and every one gets in."""
    r = real_relay(relay, realservers, limits={"mailbox_wait_timeout": "30s"})
    log_before = len(realservers.dovecot_log())
    results = []

    def client():
        try:
            with imap_login(r, standin, "imap_implicit") as m:
                typ, _ = m.select("INBOX")
                time.sleep(1)  # all 24 want a connection at the same time
                results.append(typ)
        except Exception as e:  # noqa: BLE001 (reported below)
            results.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert results == ["OK"] * 24, results
    assert "Maximum number of connections" not in realservers.dovecot_log()[log_before:]


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_dovecot_connection_limit_is_temporary_for_the_client(standin, realservers, relay, protocol):
    """With the relay's cap set above Dovecot's limit, Dovecot refuses the
    21st login (`NO [LIMIT]` / `-ERR [IN-USE]`): the client hears "try again
    later", never "wrong password", and the log names the cap to lower."""
    r = real_relay(relay, realservers, tenants={"contoso": {protocol: {"max_connections_per_mailbox": 40}}})
    login, error = (imap_login, imaplib.IMAP4.error) if protocol == "imap" else (pop3_login, poplib.error_proto)
    with contextlib.ExitStack() as held:
        for _ in range(20):
            held.enter_context(login(r, standin, f"{protocol}_implicit"))
        with pytest.raises(error) as refused:
            with login(r, standin, f"{protocol}_implicit"):
                pass
        assert ("[UNAVAILABLE]" if protocol == "imap" else "[SYS/TEMP]") in str(refused.value)
        assert wait_for_log(r, "event=upstream_failed")
    line = next(l for l in r.log_text().splitlines() if "event=upstream_failed" in l)
    assert "status=temporary" in line and ("[LIMIT]" if protocol == "imap" else "[IN-USE]") in line, line
    assert f"tenants.contoso.{protocol}.max_connections_per_mailbox" in line, line
    assert wait_for_log(r, "result=upstream_unavailable")  # session_end follows the close
    assert re.search(r"session_end .*result=upstream_unavailable", r.log_text())


def test_doctor_against_postfix_and_dovecot(standin, realservers, relay):
    """doctor's logins and send-as probes against real servers: all pass; then
    with the SMTP grant gone and a sender Postfix refuses, those rows fail
    with the fix, and the rest still pass."""
    r = real_relay(relay, realservers, start=False,
                   users={USER: {"senders": [MAILBOX]}, "mfp": {"mailbox": "mfp@contoso.com",
                                                                 "protocols": ["smtp", "imap", "pop3"],
                                                                 "senders": ["mfp@contoso.com"]}})
    code, text = doctor(r, standin)
    assert code == 0, text
    for mailbox in MAILBOXES:
        for protocol in ("smtp", "imap", "pop3"):
            assert row(text, "login", protocol, mailbox).endswith(" ok"), text
    assert realservers.messages(MAILBOX) == []  # probes send nothing

    realservers.grant("smtp", ["mfp@contoso.com"])
    r.write_config(merge(r.config, {"users": {"mfp": {"senders": ["mfp@contoso.com", "noreply@contoso.com"]}}}))
    code, text = doctor(r, standin)
    assert code == 1, text
    refused = row(text, "login", "smtp", MAILBOX)
    assert "FAIL" in refused and "5.7.8" in refused and "challenge" in refused, refused
    assert "FAIL" in row(text, "send as noreply@contoso.com", "smtp", "mfp@contoso.com")
    assert row(text, "login", "imap", MAILBOX).endswith(" ok")
    assert "How to fix:" in text and "Add-MailboxPermission" in text


def row(text, check, protocol, mailbox):
    """doctor's table line for one mailbox, protocol and check."""
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 5 and cols[1] == mailbox and cols[2] == protocol and " ".join(cols[3:]).startswith(check):
            return line
    raise AssertionError(f"no row for {mailbox} {protocol} {check} in:\n{text}")

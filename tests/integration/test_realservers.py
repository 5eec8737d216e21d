"""The real-server look-alike itself (Dovecot + Postfix, no relay): it must
refuse what Exchange Online refuses, or the relay's tests against it prove
nothing."""
import base64
import imaplib
import poplib
import smtplib
import time

import pytest

from conftest import NOROLE_CLIENT_ID
from relay_helpers import make_message, tls_context
from real_upstream import MAILBOXES
from realservers_clients import xoauth2_imap, xoauth2_pop3, xoauth2_smtp

MAILBOX = MAILBOXES[0]


def test_a_valid_token_opens_the_mailbox_over_every_protocol(standin, realservers):
    token = standin.token()
    msg = make_message(size=3000, seed="look-alike")
    realservers.deliver(MAILBOX, msg)
    with xoauth2_imap(standin, realservers, MAILBOX, token) as imap:
        assert imap.select("INBOX") == ("OK", [b"1"])
    with xoauth2_pop3(standin, realservers, MAILBOX, token) as pop:
        assert pop.stat()[0] == 1
    with xoauth2_smtp(standin, realservers, MAILBOX, token) as smtp:
        assert smtp.sendmail(MAILBOX, [MAILBOXES[1]], msg) == {}
    realservers.wait_messages(MAILBOXES[1], 1)


def tampered(token):
    head, body, sig = token.split(".")
    flipped = ("A" if sig[10] != "A" else "B")
    return ".".join([head, body, sig[:10] + flipped + sig[11:]])


@pytest.mark.parametrize("case", ["bad_signature", "other_app", "expired", "mailbox_not_granted"])
def test_what_exchange_refuses_is_refused(standin, realservers, case):
    if case == "bad_signature":
        token = tampered(standin.token())
    elif case == "other_app":  # same tenant, same signing key, not the registered app
        token = standin.token(client_id=NOROLE_CLIENT_ID)
    elif case == "expired":
        standin.knobs(token_lifetime=1)
        token = standin.token()
        time.sleep(2.1)
    else:
        token = standin.token()
        for service in ("imap", "pop3", "smtp"):
            realservers.grant(service, [m for m in MAILBOXES if m != MAILBOX])
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        with xoauth2_imap(standin, realservers, MAILBOX, token):
            pass
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        with xoauth2_pop3(standin, realservers, MAILBOX, token):
            pass
    with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
        with xoauth2_smtp(standin, realservers, MAILBOX, token):
            pass
    assert failed.value.smtp_code == 535


def test_only_xoauth2_is_offered_and_only_after_tls(standin, realservers):
    with imaplib.IMAP4_SSL("127.0.0.1", realservers.imap_port, ssl_context=tls_context(standin.ca)) as imap:
        auths = sorted(c for c in imap.capabilities if c.startswith("AUTH="))
        assert auths == ["AUTH=XOAUTH2"] and "LOGINDISABLED" in imap.capabilities
    with smtplib.SMTP("127.0.0.1", realservers.submission_port, timeout=30) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")
        code, _ = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0u\0p").decode())
        assert code in (503, 530, 538)
        smtp.starttls(context=tls_context(standin.ca))
        smtp.ehlo()
        assert smtp.esmtp_features["auth"].split() == ["XOAUTH2"]
        assert smtp.has_extn("chunking")
    with smtplib.SMTP("127.0.0.1", realservers.submission_nochunking_port, timeout=30) as smtp:
        smtp.starttls(context=tls_context(standin.ca))
        smtp.ehlo()
        assert not smtp.has_extn("chunking")


def test_postfix_refuses_a_sender_the_mailbox_may_not_use(standin, realservers):
    """Exchange's SendAs check, as Postfix's reject_sender_login_mismatch."""
    with xoauth2_smtp(standin, realservers, MAILBOX, standin.token()) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail(MAILBOXES[1], [MAILBOX], make_message(size=500, seed="sendas"))
    code, text = refused.value.recipients[MAILBOX]
    assert code == 553 and b"not owned by user " + MAILBOX.encode() in text


def test_mail_for_elsewhere_is_refused(standin, realservers):
    """Only the look-alike's own mailboxes take mail: nothing can leave 127.0.0.1."""
    with xoauth2_smtp(standin, realservers, MAILBOX, standin.token()) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail(MAILBOX, ["someone@example.com"], make_message(size=500, seed="out"))
    code, text = refused.value.recipients["someone@example.com"]
    assert code == 554 and b"Relay access denied" in text

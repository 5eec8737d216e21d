"""End-to-end: per-mailbox connection caps. Exchange refuses connections
beyond its per-mailbox limit; the relay makes the extra sessions wait for a
free slot instead, and gives a temporary failure only after a bounded wait."""
import smtplib
import threading
import time

import pytest

from relay_helpers import PASSWORD, USER, make_message, tls_context


def logged_in(r, standin):
    s = smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30)
    s.starttls(context=tls_context(standin.ca))
    s.login(USER, PASSWORD)
    return s


def capped_relay(relay, wait):
    return relay(tenants={"contoso": {"smtp": {"max_connections_per_mailbox": 1}}},
                 limits={"mailbox_wait_timeout": wait})


def test_extra_session_waits_for_the_slot_then_relays(standin, relay):
    r = capped_relay(relay, "20s")
    first = logged_in(r, standin)
    result = {}

    def second():
        try:
            with logged_in(r, standin) as s:
                s.mail("scanner@contoso.com")
                s.rcpt("dest@example.com")
                result["code"] = s.data(make_message(size=300, seed="second"))[0]
        except Exception as e:  # reported below
            result["error"] = repr(e)

    t = threading.Thread(target=second)
    t.start()
    time.sleep(1.0)
    # Still waiting: the stand-in has seen only one SMTP login for the mailbox.
    assert "code" not in result and "error" not in result
    assert standin.stats()["smtp"]["auth_ok"] == 1
    first.quit()
    t.join(30)
    assert result.get("code") == 250, result
    assert len(standin.messages()) == 1


def test_wait_is_bounded_and_temporary(standin, relay):
    r = capped_relay(relay, "1s")
    with logged_in(r, standin):
        s = smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30)
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            s.login(USER, PASSWORD)
        assert err.value.smtp_code == 454
        assert b"Too many connections to this mailbox" in err.value.smtp_error
        s.close()
    assert "event=mailbox_busy" in r.log_text()

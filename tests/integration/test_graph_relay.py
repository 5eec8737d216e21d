"""SMTP devices in front of a tenant with smtp: {via: graph}, delivery direct:
each message becomes one Graph sendMail (the stand-in's Graph endpoint), and
the device hears 250 only after Graph's 202."""
import concurrent.futures
import email.parser
import email.policy
import re

import pytest

from graph_helpers import GRAPH_LIMIT, curl_send, graph_messages, graph_relay, smtp_send, swaks_send
from relay_helpers import make_message
from spool_helpers import events, wait_event, wait_until

BCC_ONLY = (b"From: scanner@contoso.com\r\nTo: visible@example.com\r\nSubject: bcc only\r\n"
            b"Message-ID: <bcc-only@test>\r\n\r\nfor the hidden copy too\r\n.a line with a dot\r\n")


def no_token_in_log(r):
    log = r.log_text()
    assert "eyJ" not in log and "Bearer" not in log and "Authorization" not in log


def test_bcc_only_recipient_gets_a_bcc_line_and_the_device_bytes_unchanged(relay, standin, tmp_path):
    r = graph_relay(relay, standin)
    rc, out = swaks_send(r, tmp_path, BCC_ONLY, rcpts=("visible@example.com", "hidden@example.com"))
    assert rc == 0, out
    [m] = graph_messages(standin)
    assert m["data"] == b"Bcc: hidden@example.com\r\n" + BCC_ONLY
    assert m["rcpts"] == ["visible@example.com", "hidden@example.com"]
    assert m["mailbox"] == "scanner@contoso.com"
    line = wait_event(r, "message", via="graph")
    assert line["bcc_added"] == "yes" and line["http_status"] == "202"
    assert line["request_id"] == m["request_id"]
    assert re.match(r"250 2\.0\.0", line["reply"])
    no_token_in_log(r)


def test_recipients_all_in_headers_get_no_bcc_line(relay, standin):
    r = graph_relay(relay, standin)
    assert smtp_send(r, BCC_ONLY, rcpts=("Visible@Example.com",))[0] == 250
    [m] = graph_messages(standin)
    assert m["data"] == BCC_ONLY


def test_two_and_a_half_mb_message_is_byte_identical(relay, standin, tmp_path):
    r = graph_relay(relay, standin)
    msg = make_message(2_500_000, seed=16, dot_lines=True)
    rc, err = curl_send(r, tmp_path, msg)
    assert rc == 0, err
    [m] = graph_messages(standin)
    assert m["data"] == msg
    assert standin.graph_stats()["accepted"] == 1


def test_over_limit_refused_at_size(relay, standin):
    r = graph_relay(relay, standin)
    code, text = smtp_send(r, b"x", mail_options=[f"SIZE={GRAPH_LIMIT + 1}"])
    assert code == 552 and text.startswith(b"5.3.4") and b"Graph" in text and b"upload" in text
    assert standin.graph_stats()["requests"] == 0
    # At the limit MAIL is fine.
    assert smtp_send(r, BCC_ONLY, mail_options=[f"SIZE={GRAPH_LIMIT}"])[0] == 250


def test_over_limit_refused_at_end_of_data_never_250(relay, standin):
    r = graph_relay(relay, standin)
    big = make_message(GRAPH_LIMIT + 10_000, seed=3)
    code, text = smtp_send(r, big)
    assert code == 552 and text.startswith(b"5.3.4"), (code, text)
    assert standin.graph_stats()["requests"] == 0 and graph_messages(standin) == []
    ev = wait_event(r, "message_refused", reason="too_large_for_graph")
    assert int(ev["size"]) > GRAPH_LIMIT
    # The session and the relay go on.
    assert smtp_send(r, BCC_ONLY)[0] == 250


@pytest.mark.parametrize("fault, want", [
    ({"status": 403, "code": "ErrorSendAsDenied"}, (550, b"5.7.60")),
    ({"status": 403}, (550, b"5.7.")),
    ({"status": 400, "code": "ErrorInvalidRecipients"}, (550, b"5.1.")),
    ({"status": 413, "code": "ErrorMessageSizeExceeded"}, (552, b"5.3.4")),
    ({"status": 429, "retry_after": 30}, (451, b"4.7.0")),
    ({"status": 503, "retry_after": 5}, (451, b"4.7.0")),
    ({"status": 500}, (451, b"4.")),
    ({"drop": True}, (451, b"4.")),
])
def test_graph_errors_map_to_smtp_replies(relay, standin, fault, want):
    r = graph_relay(relay, standin)
    standin.graph_faults(fault)
    code, text = smtp_send(r, BCC_ONLY)
    assert (code, text[:len(want[1])]) == want, text
    assert graph_messages(standin) == []
    line = wait_event(r, "message", via="graph")
    assert line["reply"].startswith(str(want[0]))
    if not fault.get("drop"):
        assert line["http_status"] == str(fault["status"]) and line["request_id"] != "-"
    if fault.get("retry_after"):
        assert line["retry_after_s"] == str(fault["retry_after"])
    no_token_in_log(r)


def test_real_send_as_and_recipient_refusals(relay, standin):
    # The relay lets the login send as any @contoso.com; Exchange (Graph) does not.
    r = graph_relay(relay, standin, users={"scanner01": {"senders": ["*@contoso.com"]}})
    boss = BCC_ONLY.replace(b"From: scanner@", b"From: boss@")
    code, text = smtp_send(r, boss, sender="boss@contoso.com")
    assert code == 550 and text.startswith(b"5.7.60"), text
    invalid = BCC_ONLY.replace(b"visible@example.com", b"someone@nowhere.invalid")
    code, text = smtp_send(r, invalid, rcpts=("someone@nowhere.invalid",))
    assert code == 550 and text.startswith(b"5.1."), text
    assert graph_messages(standin) == []
    codes = [e["graph_code"] for e in events(r, "message", via="graph")]
    assert codes == ["ErrorSendAsDenied", "ErrorInvalidRecipients"]


def test_401_refreshes_the_token_once(relay, standin):
    r = graph_relay(relay, standin)
    wait_event(r, "token_ok", tenant="contoso/graph")
    issued = standin.stats()["token"]["issued"]
    standin.graph_faults({"status": 401})
    assert smtp_send(r, BCC_ONLY)[0] == 250
    assert len(graph_messages(standin)) == 1
    assert standin.stats()["token"]["issued"] == issued + 1
    assert wait_event(r, "message", via="graph")["token_refreshed"] == "yes"
    # Twice 401: no third try, 454 for the device.
    standin.graph_faults({"status": 401, "count": 2})
    code, text = smtp_send(r, BCC_ONLY)
    assert (code, text[:5]) == (454, b"4.7.0")
    assert [e["status"] for e in standin.graph_stats()["log"]][-2:] == [401, 401]
    assert standin.graph_stats()["faults_left"] == []
    no_token_in_log(r)


def test_at_most_four_graph_requests_per_mailbox(relay, standin):
    r = graph_relay(relay, standin, limits={"mailbox_wait_timeout": 60})
    standin.knobs(graph_delay=1.0)
    with concurrent.futures.ThreadPoolExecutor(7) as pool:
        replies = list(pool.map(lambda i: smtp_send(r, BCC_ONLY.replace(b"bcc-only", b"c%d" % i)), range(7)))
    assert [c for c, _ in replies] == [250] * 7
    stats = standin.graph_stats()
    assert stats["peak_concurrent"]["scanner@contoso.com"] == 4
    assert stats["throttled"] == 0 and stats["accepted"] == 7


def test_configured_concurrency_is_honoured(relay, standin):
    r = graph_relay(relay, standin, graph={"max_concurrent_per_mailbox": 2})
    standin.knobs(graph_delay=0.7)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda i: smtp_send(r, BCC_ONLY), range(4)))
    assert [c for c, _ in replies] == [250] * 4
    assert standin.graph_stats()["peak_concurrent"]["scanner@contoso.com"] == 2


def test_smtp_upstream_is_never_contacted(relay, standin):
    r = graph_relay(relay, standin)
    assert smtp_send(r, BCC_ONLY)[0] == 250
    assert standin.stats()["smtp"]["connections"] == 0
    assert [m["via"] for m in standin.messages()] == ["graph"]


def test_refused_from_header_never_reaches_graph(relay, standin):
    r = graph_relay(relay, standin)
    foreign = BCC_ONLY.replace(b"From: scanner@contoso.com", b"From: boss@elsewhere.example")
    code, _ = smtp_send(r, foreign)
    assert code == 550
    assert standin.graph_stats()["requests"] == 0
    wait_event(r, "message_refused", reason="sender_not_allowed")


def test_rset_forgets_the_recipients(relay, standin):
    import smtplib
    from relay_helpers import PASSWORD, USER
    from spool_helpers import transaction
    r = graph_relay(relay, standin)
    with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=60) as s:
        s.ehlo("device.test")
        s.login(USER, PASSWORD)
        assert s.mail("scanner@contoso.com")[0] == 250
        assert s.rcpt("stale@example.com")[0] == 250
        assert s.rset()[0] == 250
        assert transaction(s, BCC_ONLY, rcpts=("visible@example.com",))[0] == 250
        # A second message on the same session.
        assert transaction(s, BCC_ONLY, rcpts=("other@example.com",))[0] == 250
    first, second = graph_messages(standin)
    assert first["data"] == BCC_ONLY
    assert second["data"] == b"Bcc: other@example.com\r\n" + BCC_ONLY


def test_no_graph_token_is_454_at_auth_and_nothing_is_sent(relay, standin):
    import smtplib
    standin.knobs(token_outage="503")
    r = graph_relay(relay, standin, limits={"token_timeout": 3})
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        smtp_send(r, BCC_ONLY)
    assert (e.value.smtp_code, e.value.smtp_error[:5]) == (454, b"4.7.0")
    assert standin.graph_stats()["requests"] == 0
    assert events(r, "token_unavailable", tenant="contoso", **{"for": "graph"})
    # Once the token endpoint is back, the same device gets through.
    standin.knobs(token_outage=None)
    def sent():
        try:
            return smtp_send(r, BCC_ONLY)[0] == 250
        except smtplib.SMTPAuthenticationError:
            return False
    wait_until("a Graph token", sent, r, timeout=60, interval=0.5)
    assert len(graph_messages(standin)) == 1


def header_fields(data, name):
    """The header fields called `name` in the message as Graph got it."""
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(data)
    return msg.get_all(name) or []


TWO_TO = (b"From: scanner@contoso.com\r\nTo: first@example.com\r\nTo: second@example.com\r\n"
          b"Subject: two To fields\r\nMessage-ID: <two-to@test>\r\n\r\nbody\r\n")
OWN_BCC = (b"From: scanner@contoso.com\r\nTo: visible@example.com\r\nBcc: own@example.com,\r\n"
           b" own2@example.com\r\nSubject: own Bcc\r\nMessage-ID: <own-bcc@test>\r\n\r\nBcc: in-body@example.com\r\n")


def test_second_to_field_recipient_goes_into_the_bcc_line(relay, standin):
    # A strict Exchange (the stand-in) reads only the first To field.
    r = graph_relay(relay, standin)
    assert smtp_send(r, TWO_TO, rcpts=("first@example.com", "second@example.com"))[0] == 250
    [m] = graph_messages(standin)
    assert m["data"] == b"Bcc: second@example.com\r\n" + TWO_TO
    assert sorted(m["rcpts"]) == ["first@example.com", "second@example.com"]


def test_own_bcc_field_sent_as_exactly_one_bcc_field(relay, standin):
    r = graph_relay(relay, standin)
    rcpts = ("visible@example.com", "own@example.com", "hidden@example.com")
    assert smtp_send(r, OWN_BCC, rcpts=rcpts)[0] == 250
    [m] = graph_messages(standin)
    assert header_fields(m["data"], "bcc") == ["hidden@example.com, own@example.com, own2@example.com"]
    assert m["data"] == (b"Bcc: hidden@example.com, own@example.com, own2@example.com\r\n"
                         + OWN_BCC.replace(b"Bcc: own@example.com,\r\n own2@example.com\r\n", b""))
    assert set(rcpts) <= set(m["rcpts"])

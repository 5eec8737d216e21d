"""delivery: spool for a tenant with smtp: {via: graph}: the spool sends each
message with one Graph sendMail (Bcc: line for envelope-only recipients),
honours Graph's Retry-After, bounces what Graph refuses for good, and never
queues what Graph cannot take."""
import email

from graph_helpers import GRAPH_LIMIT, graph_messages, graph_tenant
from relay_helpers import make_message
from spool_helpers import (MAILBOX, check_dsn, events, queued_id, spool_files, spool_relay, submit, wait_event,
                           wait_messages, wait_spool_empty, wait_until)

MSG = (b"From: scanner@contoso.com\r\nTo: visible@example.com\r\nSubject: spooled\r\n"
       b"Message-ID: <spooled@test>\r\n\r\nbody\r\n")


def graph_spool_relay(relay, standin, tmp_path, **kw):
    return spool_relay(relay, tmp_path, tenants=graph_tenant(standin), **kw)


def test_spooled_message_goes_through_graph_with_the_bcc_line(relay, standin, tmp_path):
    r = graph_spool_relay(relay, standin, tmp_path)
    qid = queued_id(submit(r, MSG, rcpts=("visible@example.com", "hidden@example.com")))
    [m] = wait_messages(standin, 1, r)
    assert m["via"] == "graph" and m["data"] == b"Bcc: hidden@example.com\r\n" + MSG
    assert m["rcpts"] == ["visible@example.com", "hidden@example.com"]
    wait_event(r, "delivery", id=qid, outcome="delivered")
    wait_spool_empty(r)
    assert standin.stats()["smtp"]["connections"] == 0


def test_throttled_spool_waits_for_retry_after(relay, standin, tmp_path):
    # The schedule says 1 s; Graph says 3 s: not before 3 s.
    r = graph_spool_relay(relay, standin, tmp_path)
    standin.graph_faults({"status": 429, "retry_after": 3})
    qid = queued_id(submit(r, MSG, rcpts=("visible@example.com",)))
    retry = wait_event(r, "delivery", id=qid, outcome="retry")
    assert retry["reply"].startswith("451 4.7.0")
    [m] = wait_messages(standin, 1, r, timeout=30)
    log = standin.graph_stats()["log"]
    throttled = [e["time"] for e in log if e["status"] == 429]
    accepted = [e["time"] for e in log if e["status"] == 202]
    assert len(throttled) == 1 and len(accepted) == 1
    assert accepted[0] - throttled[0] >= 3.0, accepted[0] - throttled[0]
    assert m["data"] == MSG
    wait_event(r, "delivery", id=qid, outcome="delivered")


def test_503_without_retry_after_follows_the_schedule(relay, standin, tmp_path):
    r = graph_spool_relay(relay, standin, tmp_path)
    standin.graph_faults({"status": 503, "count": 2})
    qid = queued_id(submit(r, MSG))
    wait_messages(standin, 1, r, timeout=30)
    assert [e["status"] for e in standin.graph_stats()["log"]] == [503, 503, 202]
    assert len(events(r, "delivery", id=qid, outcome="retry")) == 2


def test_permanent_refusal_bounces_with_the_mapped_reply(relay, standin, tmp_path):
    r = graph_spool_relay(relay, standin, tmp_path)
    standin.graph_faults({"status": 403, "code": "ErrorSendAsDenied"})
    qid = queued_id(submit(r, MSG))
    wait_event(r, "delivery", id=qid, outcome="failed")
    [dsn] = wait_messages(standin, 1, r)
    check_dsn(dsn, mailbox=MAILBOX, to=MAILBOX, original=MSG, status="5.7.60", recipient="dest@example.com")
    wait_spool_empty(r)


def test_401_refreshes_once_in_the_spool(relay, standin, tmp_path):
    r = graph_spool_relay(relay, standin, tmp_path)
    standin.graph_faults({"status": 401})
    qid = queued_id(submit(r, MSG))
    wait_event(r, "delivery", id=qid, outcome="delivered")
    assert [e["status"] for e in standin.graph_stats()["log"]] == [401, 202]
    assert events(r, "graph_send", id=qid) == [] or events(r, "graph_send", id=qid)[0]["token_refreshed"] == "yes"


def test_spool_never_queues_what_graph_cannot_take(relay, standin, tmp_path):
    r = graph_spool_relay(relay, standin, tmp_path)
    import smtplib
    from relay_helpers import PASSWORD, USER
    with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=60) as s:
        s.ehlo("device.test")
        s.login(USER, PASSWORD)
        code, text = s.mail(MAILBOX, [f"SIZE={GRAPH_LIMIT + 1}"])
        assert code == 552 and text.startswith(b"5.3.4") and b"Graph" in text
    code, text = submit(r, make_message(GRAPH_LIMIT + 5000, seed=9))
    assert code == 552 and text.startswith(b"5.3.4"), (code, text)
    assert spool_files(r, "queue") == []
    assert standin.graph_stats()["requests"] == 0
    # A message that fits is queued and sent.
    queued_id(submit(r, MSG))
    wait_until("the message at Graph", lambda: graph_messages(standin), r)
    assert email.message_from_bytes(graph_messages(standin)[0]["data"])["Subject"] == "spooled"


def test_spool_and_direct_sessions_share_the_mailbox_graph_slots(relay, standin, tmp_path):
    import concurrent.futures
    import smtplib
    from spool_helpers import transaction
    r = graph_spool_relay(relay, standin, tmp_path, users={"direct01": {"password": "pw-direct-01"}})
    standin.knobs(graph_delay=0.8)

    def direct(i):
        with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=60) as s:
            s.ehlo("device.test")
            s.login("direct01", "pw-direct-01")
            return transaction(s, MSG.replace(b"<spooled@test>", b"<direct%d@test>" % i),
                               rcpts=("visible@example.com",))[0]

    for i in range(4):
        queued_id(submit(r, MSG.replace(b"<spooled@test>", b"<spool%d@test>" % i), rcpts=("visible@example.com",)))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(direct, range(4))) == [250] * 4
    wait_messages(standin, 8, r, timeout=60)
    stats = standin.graph_stats()
    assert stats["throttled"] == 0 and stats["peak_concurrent"]["scanner@contoso.com"] <= 4


def test_spooled_two_and_a_half_mb_message_is_byte_identical(relay, standin, tmp_path):
    r = graph_spool_relay(relay, standin, tmp_path)
    msg = make_message(2_500_000, seed=25, dot_lines=True)
    queued_id(submit(r, msg))  # header To: dest@example.com = the envelope recipient
    [m] = wait_messages(standin, 1, r)
    assert m["data"] == msg and m["via"] == "graph"


def test_spooled_own_bcc_and_second_to_field_lose_no_recipient(relay, standin, tmp_path):
    import email.parser
    import email.policy
    msg = (b"From: scanner@contoso.com\r\nTo: visible@example.com\r\nTo: second@example.com\r\n"
           b"Bcc: own@example.com\r\nSubject: spooled own Bcc\r\nMessage-ID: <spooled-bcc@test>\r\n\r\nbody\r\n")
    r = graph_spool_relay(relay, standin, tmp_path)
    rcpts = ("visible@example.com", "second@example.com", "own@example.com", "hidden@example.com")
    qid = queued_id(submit(r, msg, rcpts=rcpts))
    [m] = wait_messages(standin, 1, r)
    head = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(m["data"])
    assert head.get_all("bcc") == ["second@example.com, hidden@example.com, own@example.com"]
    assert m["data"] == (b"Bcc: second@example.com, hidden@example.com, own@example.com\r\n"
                         + msg.replace(b"Bcc: own@example.com\r\n", b""))
    assert set(rcpts) <= set(m["rcpts"])
    wait_event(r, "delivery", id=qid, outcome="delivered")


def test_spooled_long_header_block_is_read_to_max_header_size(relay, standin, tmp_path):
    # The old 256 KiB read cut "b@y.com.au" to "b@y.com" right at the cut,
    # so the envelope's b@y.com counted as named and got no copy.
    head = b"From: scanner@contoso.com\r\nMessage-ID: <long-head@test>\r\nSubject: long header\r\n"
    to = b"To: visible@example.com,\r\n b@y.com"
    filler = b""
    while len(head) + len(filler) + len(to) < 256 * 1024 - 200:
        filler += b"X-Filler: " + b"z" * 88 + b"\r\n"
    gap = 256 * 1024 - len(head) - len(filler) - len(to)
    filler += b"X-Last: " + b"y" * (gap - 10) + b"\r\n"
    msg = head + filler + to + b".au\r\n\r\nbody\r\n"
    assert msg.index(b"b@y.com.au") + len(b"b@y.com") == 256 * 1024
    r = graph_spool_relay(relay, standin, tmp_path)
    qid = queued_id(submit(r, msg, rcpts=("visible@example.com", "b@y.com")))
    [m] = wait_messages(standin, 1, r)
    assert m["data"] == b"Bcc: b@y.com\r\n" + msg
    assert "b@y.com" in m["rcpts"]
    wait_event(r, "delivery", id=qid, outcome="delivered")

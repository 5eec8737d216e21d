"""End-to-end: store and forward (issue 12, `delivery: spool`).

A spooling user's device hears `250 2.0.0 Queued as <ID>` once the message is
durable; the relay then delivers it to the Office 365 stand-in on its own
schedule, within Exchange's per-mailbox limits, survives outages and kill -9,
bounces what cannot be delivered, and lets operators see and change the
queue. Direct delivery (the default) must not change.

Timing: retry schedules of 1-2 s; the one test that needs a message to
expire waits out the loader's minimum max_age (1m)."""
import base64
import os
import shutil
import smtplib
import threading
import time

import pytest

from conftest import merge
from control import body_of  # tests/realservers/control.py (real_upstream puts it on the path)
from real_upstream import real_relay
from relay_helpers import PASSWORD, USER, make_message, raw_session
from spool_helpers import (
    MAILBOX,
    SPOOL_DEFAULTS,
    check_dsn,
    events,
    kill9,
    message_id,
    message_ids,
    queue_cmd,
    queue_list,
    queue_rows,
    queued_id,
    restart,
    spool_files,
    spool_relay,
    submit,
    transaction,
    wait_event,
    wait_messages,
    wait_spool_empty,
    wait_until,
)
from test_relay_operations import http_get, metric, promtool_check

NOT_FOUND = "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
OUTAGES = {"token": {"token_outage": "503"}, "smtp": {"drop_after": "greeting"}}


def by_message_id(msgs):
    return {message_id(m["data"]): m for m in msgs}


# --- acceptance ---------------------------------------------------------------------------

def test_queued_as_after_fsync_and_delivered(standin, relay, tmp_path):
    r = spool_relay(relay, tmp_path)
    msg = make_message(size=20_000, seed="first", dot_lines=True)
    qid = queued_id(submit(r, msg))
    wait_event(r, "queued", id=qid)
    [stored] = wait_messages(standin, 1, r)
    assert stored["data"] == msg and stored["mail_from"] == MAILBOX and stored["rcpts"] == ["dest@example.com"]
    delivered = wait_event(r, "delivery", id=qid, outcome="delivered")
    assert delivered["attempt"] == "1"
    # The audit trail: Office 365's own final reply, with its message id.
    assert delivered["reply"] == f"250 2.0.0 OK <{stored['id']}> [Hostname=standin]", delivered
    wait_spool_empty(r)
    assert spool_files(r, "state") == [] and spool_files(r, "tmp") == []
    # The spool directory is private to the relay.
    assert os.stat(r.spool_dir).st_mode & 0o077 == 0


def test_auth_and_policy_without_office365(standin, relay, tmp_path):
    """AUTH, MAIL and RCPT are the relay's own answers in spool mode: Office
    365 is not contacted before the message is queued, and the sender policy
    is the same as in direct mode."""
    standin.knobs(token_outage="drop", drop_after="greeting")
    r = spool_relay(relay, tmp_path)
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=standin.tls_context())
        s.login(USER, PASSWORD)
        code, text = s.mail("ceo@contoso.com")
        assert code == 550 and text.startswith(b"5.7.1"), text
        assert s.mail(MAILBOX)[0] == 250
        assert s.rcpt("dest@example.com")[0] == 250
        # Before the message is queued, nothing has connected to Office 365
        # (the token endpoint is asked at start anyway, issue 15).
        stats = standin.stats()
        assert stats["smtp"]["connections"] == 0, stats
        qid = queued_id(s.data(make_message(500, "no-o365")))
    assert "event=sender_denied" in r.log_text()
    # Delivery is what contacts Office 365 (and fails here, to be retried).
    wait_event(r, "delivery", id=qid, outcome="retry")
    standin.knobs(token_outage=None, drop_after=None)
    assert message_ids(wait_messages(standin, 1, r)) == {"<no-o365@test>": 1}


FOREIGN = (b"From: \"Scanner 3F\" <scanner@printer.local>\r\nTo: dest@example.com\r\nSubject: scan\r\n"
           b"Message-ID: <foreign@test>\r\n\r\nbody\r\n")


def test_no_auth_rule_spools_with_rewrite_sender(standin, relay, tmp_path):
    r = spool_relay(relay, tmp_path, no_auth=[{
        "sources": ["127.0.0.1/32"], "tenant": "contoso", "mailbox": MAILBOX, "delivery": "spool",
        "rewrite_sender": {"from_header": True}}])
    with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=30) as s:
        s.ehlo("mfp.test")
        queued_id(transaction(s, FOREIGN, sender="scanner@printer.local"))
    [stored] = wait_messages(standin, 1, r)
    assert stored["mail_from"] == MAILBOX
    assert stored["data"].startswith(b"From: \"Scanner 3F\" <scanner@contoso.com>\r\n"), stored["data"][:200]


# --- (a) a burst against Exchange's limits -----------------------------------------------------

def test_burst_of_80_within_exchange_limits(standin, relay, tmp_path):
    """80 messages at once from 20 device sessions for one mailbox; the
    stand-in allows 3 sessions per mailbox (432 beyond) and 60 messages per
    6 s window (554 5.2.0 quota answer beyond). Everything arrives once, the
    relay never opens a 4th session, reuses sessions, and retries the quota
    answer despite its 5."""
    standin.knobs(max_concurrent_per_mailbox=3, smtp_messages_per_minute=60, smtp_quota_window=6)
    r = spool_relay(relay, tmp_path, admin=True, tenants={"contoso": {"smtp": {
        "max_connections_per_mailbox": 3, "max_messages_per_minute": 600}}})
    sessions, per_session = 20, 4
    msgs = {(n, i): make_message(size=3000 + 37 * i, seed=f"burst-{n}-{i}") for n in range(sessions)
            for i in range(per_session)}
    replies, errors = {}, []
    go = threading.Barrier(sessions)

    def device(n):
        try:
            with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=60) as s:
                s.ehlo(f"device{n}.test")
                s.login(USER, PASSWORD)
                go.wait(30)
                for i in range(per_session):
                    replies[(n, i)] = transaction(s, msgs[(n, i)])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"device {n}: {e!r}")

    started = time.monotonic()
    threads = [threading.Thread(target=device, args=(n,)) for n in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert errors == []
    ids = [queued_id(replies[k]) for k in sorted(msgs)]
    assert len(set(ids)) == len(msgs)
    accepted_in = time.monotonic() - started

    wait_messages(standin, len(msgs), r, timeout=60)
    wait_event(r, "delivery", outcome="delivered", count=len(msgs))
    wait_spool_empty(r)
    stored = standin.messages()
    assert message_ids(stored) == {f"<burst-{n}-{i}@test>": 1 for (n, i) in msgs}, "lost or doubled"
    got = by_message_id(stored)
    for (n, i), msg in msgs.items():
        assert got[f"<burst-{n}-{i}@test>"]["data"] == msg
    smtp = standin.stats()["smtp"]
    assert smtp["peak_sessions"].get(MAILBOX, 0) <= 3, smtp
    assert smtp["throttled"] == 0, smtp  # the relay never tried a 4th session
    assert smtp["quota_exceeded"] >= 1, smtp  # the quota path was exercised...
    retried = [e for e in events(r, "delivery", outcome="retry") if "5.2.0" in e.get("reply", "")]
    assert retried, "a 554 5.2.0 quota answer must be retried"  # ...and retried, not bounced
    assert events(r, "delivery", outcome="failed") == [] and events(r, "bounce") == []
    # Several messages per upstream session.
    assert smtp["connections"] < len(msgs), smtp
    per_conn = {}
    for m in stored:
        per_conn[m["connection"]] = per_conn.get(m["connection"], 0) + 1
    assert max(per_conn.values()) >= 2, per_conn
    _, text = http_get(r, "/metrics")
    promtool_check(text)
    assert metric(text, "xoauth2_relay_spool_accepted_total", outcome="queued") == len(msgs)
    assert metric(text, "xoauth2_relay_spool_deliveries_total", outcome="delivered") == len(msgs)
    assert metric(text, "xoauth2_relay_spool_deliveries_total", outcome="retry") >= 1
    assert metric(text, "xoauth2_relay_spool_messages") == 0
    print(f"80 accepted in {accepted_in:.1f}s, delivered over {smtp['connections']} connections")


def test_pacing_per_mailbox(standin, relay, tmp_path):
    """tenants.X.smtp.max_messages_per_minute: no more submissions than that
    in any minute, the rest wait in the queue."""
    r = spool_relay(relay, tmp_path, tenants={"contoso": {"smtp": {"max_messages_per_minute": 5}}})
    ids = [queued_id(submit(r, make_message(800, f"paced-{i}"))) for i in range(8)]
    wait_messages(standin, 5, r)
    # Bounded look for a 6th submission: none may start within the minute.
    time.sleep(3)
    assert len(standin.messages()) == 5
    assert len(queue_list(r)["messages"]) == 3
    assert len(set(ids)) == 8


# --- (b, c) outages -------------------------------------------------------------------------------

@pytest.mark.parametrize("outage", sorted(OUTAGES))
def test_outage_then_recovery(standin, relay, tmp_path, outage):
    standin.knobs(**OUTAGES[outage])
    r = spool_relay(relay, tmp_path, limits={"token_timeout": "3s"})
    msg = make_message(5000, f"outage-{outage}")
    started = time.monotonic()
    qid = queued_id(submit(r, msg))
    assert time.monotonic() - started < 5, "the device waited for Office 365"
    retry = wait_event(r, "delivery", id=qid, outcome="retry")
    assert retry["attempt"] == "1"
    assert standin.messages() == []
    [row] = queue_list(r)["messages"]
    assert row["id"] == qid and row["attempts"] >= 1 and row["last_error"]
    standin.knobs(**{k: None for k in OUTAGES[outage]})
    [stored] = wait_messages(standin, 1, r)
    assert stored["data"] == msg
    wait_event(r, "delivery", id=qid, outcome="delivered")  # logged just after the entry is removed
    wait_spool_empty(r)
    assert len(standin.messages()) == 1
    assert len(events(r, "delivery", id=qid, outcome="delivered")) == 1


# --- (d) kill -9 ------------------------------------------------------------------------------------

def test_kill_9_during_acceptance_and_delivery(standin, relay, tmp_path):
    """kill -9 (1) while a message is half received, right after another
    one's 250; restart; (2) while that one is being delivered; restart: it
    arrives exactly once, the half message never, no temporary file left."""
    standin.knobs(drop_after="greeting")  # nothing leaves before the first kill
    r = spool_relay(relay, tmp_path)
    half = make_message(1024 * 1024, "half")
    whole = make_message(20_000, "whole")
    with raw_session(r.port("plain")) as c:
        assert c.read_reply().startswith(b"220")
        assert c.cmd(b"EHLO device.test").startswith(b"250")
        auth = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
        assert c.cmd(b"AUTH PLAIN " + auth).startswith(b"235")
        assert c.cmd(b"MAIL FROM:<scanner@contoso.com>").startswith(b"250")
        assert c.cmd(b"RCPT TO:<dest@example.com>").startswith(b"250")
        assert c.cmd(b"DATA").startswith(b"354")
        c.send(half[: len(half) // 2])
        # The message streams into tmp/ (never whole in memory).
        wait_until("the half message's file in tmp/", lambda: spool_files(r, "tmp"), r, timeout=15)
        qid = queued_id(submit(r, whole))
        kill9(r)  # right after the 250; the half message never got its end
    assert os.path.exists(os.path.join(r.spool_dir, "queue", qid)), "acknowledged but not on disk"

    standin.knobs(drop_after=None, reply_delay=1)
    restart(r)
    recovered = wait_event(r, "spool_recovered", count=2)  # the 1st is the first start's
    assert recovered.get("messages") == "1", recovered
    assert recovered.get("temp_removed") in (None, "1"), recovered
    assert spool_files(r, "tmp") == []
    # Kill again while the delivery is under way (logged in, not yet at the end
    # of DATA: every reply takes 1 s, so several seconds remain before the
    # stand-in stores anything).
    wait_until("the delivery's upstream login", lambda: standin.stats()["smtp"]["auth_ok"] >= 1, r)
    kill9(r)
    assert standin.messages() == [], "the kill came too late (the test's timing, not the relay)"

    standin.knobs(reply_delay=None)
    restart(r)
    assert wait_event(r, "spool_recovered", count=3).get("messages") == "1"
    [stored] = wait_messages(standin, 1, r)
    assert stored["data"] == whole
    wait_spool_empty(r)
    assert message_ids(standin.messages()) == {"<whole@test>": 1}
    assert spool_files(r, "tmp") == [] and spool_files(r, "state") == []
    assert spool_files(r, "corrupt") == []


# --- (e) bounces -------------------------------------------------------------------------------------

def test_permanent_failure_bounces_once(standin, relay, tmp_path):
    standin.knobs(reject_rcpt={"nobody@example.com": {"code": 550, "text": NOT_FOUND}})
    r = spool_relay(relay, tmp_path, admin=True)
    msg = make_message(4000, "to-nobody")
    qid = queued_id(submit(r, msg, rcpts=["nobody@example.com"]))
    failed = wait_event(r, "delivery", id=qid, outcome="failed")
    bounce = wait_event(r, "bounce", id=qid)
    assert bounce["dsn"] == qid + "B" and bounce["to"] == MAILBOX, bounce
    [dsn] = wait_messages(standin, 1, r)
    check_dsn(dsn, mailbox=MAILBOX, to=MAILBOX, original=msg, status="5.1.10", recipient="nobody@example.com")
    wait_event(r, "delivery", id=qid + "B", outcome="delivered")
    wait_spool_empty(r)
    assert len(standin.messages()) == 1
    assert len(events(r, "bounce")) == 1
    _, text = http_get(r, "/metrics")
    assert metric(text, "xoauth2_relay_spool_bounces_total") == 1
    assert metric(text, "xoauth2_relay_spool_deliveries_total", outcome="failed") == 1
    # The attempt's log line carries Office 365's refusal (the RCPT reply here).
    assert "5.1.10" in failed.get("reply", ""), failed


def test_a_failing_bounce_is_not_bounced(standin, relay, tmp_path):
    """The original is refused (550) and so is its DSN: the DSN is dropped,
    never answered by a third message."""
    standin.knobs(reject_rcpt={"nobody@example.com": {"code": 550, "text": NOT_FOUND},
                               "printer@contoso.com": {"code": 550, "text": NOT_FOUND}})
    r = spool_relay(relay, tmp_path, users={USER: {"mailbox": "mfp@contoso.com", "senders": ["*@contoso.com"]}})
    qid = queued_id(submit(r, make_message(1000, "double-fail"), sender="printer@contoso.com",
                           rcpts=["nobody@example.com"]))
    wait_event(r, "bounce", id=qid)
    wait_until("the DSN's failure or drop",
               lambda: events(r, "bounce_dropped") or events(r, "delivery", id=qid + "B", outcome="failed"), r)
    wait_spool_empty(r)
    assert standin.messages() == []
    assert len(events(r, "bounce")) == 1
    assert qid + "BB" not in r.log_text()


def test_expired_message_bounces_once_with_4_4_7(standin, relay, tmp_path):
    """Retried (4xx) until max_age (the loader's minimum, 1m), then one DSN
    with Status 4.4.7, to bounce_to."""
    standin.knobs(reject_rcpt={"busy@example.com": {"code": 450, "text": "4.2.1 Mailbox busy, try later"}})
    r = spool_relay(relay, tmp_path, spool={"max_age": "1m", "bounce_to": "helpdesk@contoso.com"})
    msg = make_message(2000, "expiring")
    qid = queued_id(submit(r, msg, rcpts=["busy@example.com"]))
    wait_event(r, "delivery", id=qid, outcome="retry")
    expired = wait_event(r, "delivery", id=qid, outcome="expired", timeout=100)
    assert expired.get("reply") in (None, "-") or "4.2.1" in expired["reply"], expired  # "-": none
    [dsn] = wait_messages(standin, 1, r)
    check_dsn(dsn, mailbox=MAILBOX, to="helpdesk@contoso.com", original=msg, status="4.4.7",
              recipient="busy@example.com")
    wait_spool_empty(r)
    assert len(standin.messages()) == 1 and len(events(r, "bounce", id=qid)) == 1


# --- (f) out of space -----------------------------------------------------------------------------------

def test_max_size_refuses_with_452_and_keeps_the_queue(standin, relay, tmp_path):
    standin.knobs(drop_after="greeting")  # a held backlog
    r = spool_relay(relay, tmp_path, admin=True, spool={"max_size": "1M"})
    msgs = [make_message(300_000, f"fill-{i}") for i in range(6)]
    accepted, refused = [], None
    for i, msg in enumerate(msgs):
        code, text = submit(r, msg)
        if code == 250:
            assert refused is None, "accepted again while the backlog is still there"
            accepted.append((queued_id((code, text)), msg))
        else:
            assert code == 452 and text.startswith(b"4.3.1"), (code, text)
            refused = refused if refused is not None else i
    # 3 x 300 KB fit in 1 MiB; a 5th would be 1.5 MB.
    assert refused in (3, 4), (refused, len(accepted))
    assert events(r, "spool_refused"), "no event=spool_refused"
    _, text = http_get(r, "/metrics")
    assert metric(text, "xoauth2_relay_spool_accepted_total", outcome="refused") >= 1
    assert metric(text, "xoauth2_relay_spool_accepted_total", outcome="queued") == len(accepted)
    assert metric(text, "xoauth2_relay_spool_messages") == len(accepted)
    assert metric(text, "xoauth2_relay_spool_bytes") >= 300_000 * len(accepted)

    standin.knobs(drop_after=None)
    wait_messages(standin, len(accepted), r)
    wait_spool_empty(r)
    got = by_message_id(standin.messages())
    for _, msg in accepted:
        assert got[message_id(msg)]["data"] == msg
    # The refused message was never acknowledged: the device sends it again.
    retry = msgs[refused]
    queued_id(submit(r, retry))
    wait_messages(standin, len(accepted) + 1, r)
    assert by_message_id(standin.messages())[message_id(retry)]["data"] == retry


def test_min_free_refuses_with_452_and_readyz_says_why(standin, relay, tmp_path):
    if shutil.disk_usage(str(tmp_path)).free >= 1 << 40:
        pytest.skip("more than 1 TiB free: min_free cannot be set above it (the loader's maximum is 1024G)")
    standin.knobs(drop_after="greeting")
    r = spool_relay(relay, tmp_path, admin=True)
    kept = make_message(3000, "kept")
    qid = queued_id(submit(r, kept))
    assert r.stop() == 0
    # The same spool, now with less free space than min_free.
    r.write_config(merge(r.config, {"spool": {"min_free": "1024G"}}))
    r.start()
    code, text = submit(r, make_message(3000, "refused"))
    assert code == 452 and text.startswith(b"4.3.1"), (code, text)
    refusal = wait_event(r, "spool_refused")
    assert "min_free" in refusal.get("reason", ""), refusal
    status, body = http_get(r, "/readyz")
    assert status == 503 and "min_free" in body, (status, body)
    _, text = http_get(r, "/metrics")
    assert metric(text, "xoauth2_relay_spool_accepted_total", outcome="refused") >= 1
    # What was queued before is unharmed and still delivered.
    standin.knobs(drop_after=None)
    [stored] = wait_messages(standin, 1, r)
    assert stored["data"] == kept
    wait_event(r, "delivery", id=qid, outcome="delivered")


# --- (g) operators ------------------------------------------------------------------------------------------

def test_queue_commands_on_a_running_relay(standin, relay, tmp_path):
    standin.knobs(drop_after="greeting")
    r = spool_relay(relay, tmp_path, admin=True, spool={"retry_schedule": ["1h"]})
    msgs = {name: make_message(2500 + i * 100, f"cli-{name}") for i, name in enumerate("abc")}
    ids = {name: queued_id(submit(r, msg)) for name, msg in msgs.items()}
    for qid in ids.values():
        wait_event(r, "delivery", id=qid, attempt=1, outcome="retry")

    listing = queue_list(r)
    rows = {m["id"]: m for m in listing["messages"]}
    assert set(rows) == set(ids.values())
    for name, qid in ids.items():
        row = rows[qid]
        assert (row["user"], row["tenant"], row["mailbox"], row["from"]) == (USER, "contoso", MAILBOX, MAILBOX)
        assert row["rcpts"] == ["dest@example.com"]
        assert row["size"] == len(msgs[name])
        assert row["attempts"] == 1 and row["last_error"] and row["held"] is False and not row["dsn"]
        assert row["next_attempt"] - listing["now"] > 30 * 60 * 1000  # ms: the 1h step
        assert 0 <= row["age_s"] < 120
    table = queue_cmd(r, "list")
    assert table.returncode == 0 and all(qid in table.stdout for qid in ids.values()), table.stdout

    _, text = http_get(r, "/metrics")
    promtool_check(text)
    assert metric(text, "xoauth2_relay_spool_messages") == 3
    assert metric(text, "xoauth2_relay_spool_bytes") >= sum(len(m) for m in msgs.values())
    assert metric(text, "xoauth2_relay_spool_oldest_age_seconds") >= 0
    assert metric(text, "xoauth2_relay_spool_accepted_total", outcome="queued") == 3
    assert metric(text, "xoauth2_relay_spool_deliveries_total", outcome="retry") == 3

    assert queue_cmd(r, "hold", ids["a"]).returncode == 0
    assert queue_rows(r)[ids["a"]]["held"] is True
    assert queue_cmd(r, "delete", ids["b"]).returncode == 0
    assert ids["b"] not in queue_rows(r)
    assert ids["b"] not in spool_files(r, "queue")
    assert queue_cmd(r, "delete", ids["b"]).returncode != 0  # not there any more
    assert queue_cmd(r, "hold", "0123456789ABCDEF0123").returncode != 0

    standin.knobs(drop_after=None)
    time.sleep(1.5)  # bounded: the 1h schedule holds everything back
    assert standin.messages() == []
    assert queue_cmd(r, "flush", ids["c"]).returncode == 0
    started = time.monotonic()
    [stored] = wait_messages(standin, 1, r, timeout=15)
    assert stored["data"] == msgs["c"] and time.monotonic() - started < 15
    wait_event(r, "delivery", id=ids["c"], attempt=2, outcome="delivered")
    # flush (all) leaves a held message held.
    assert queue_cmd(r, "flush").returncode == 0
    time.sleep(1.5)
    assert len(standin.messages()) == 1 and queue_rows(r)[ids["a"]]["held"] is True
    # release: held no more, and tried now.
    assert queue_cmd(r, "release", ids["a"]).returncode == 0
    wait_messages(standin, 2, r, timeout=15)
    wait_event(r, "delivery", id=ids["a"], outcome="delivered")
    wait_spool_empty(r)
    assert message_ids(standin.messages()) == {"<cli-a@test>": 1, "<cli-c@test>": 1}  # b: no DSN
    assert queue_list(r)["messages"] == []
    _, text = http_get(r, "/metrics")
    assert metric(text, "xoauth2_relay_spool_messages") == 0
    assert metric(text, "xoauth2_relay_spool_deliveries_total", outcome="delivered") == 2
    assert metric(text, "xoauth2_relay_spool_bounces_total") == 0


# --- (h, i, j) reload, direct mode, shutdown ----------------------------------------------------------------

def test_user_switched_to_direct_keeps_its_queue(standin, relay, tmp_path):
    standin.knobs(drop_after="greeting")
    r = spool_relay(relay, tmp_path)
    ids = [queued_id(submit(r, make_message(1500, f"switch-{i}"))) for i in range(2)]
    cfg = merge(r.config, {"users": {USER: {"delivery": "direct"}}})
    r.write_config(cfg)
    r.reload()
    wait_event(r, "reloaded")
    standin.knobs(drop_after=None)
    wait_messages(standin, 2, r)
    for qid in ids:
        wait_event(r, "delivery", id=qid, outcome="delivered")
    # New mail from that user goes direct: Office 365's own reply.
    code, text = submit(r, make_message(1500, "switch-direct"))
    assert code == 250 and b"Hostname=standin" in text, text
    wait_spool_empty(r)
    assert message_ids(standin.messages()) == {"<switch-0@test>": 1, "<switch-1@test>": 1,
                                               "<switch-direct@test>": 1}


def test_direct_mode_is_unchanged_beside_the_spool(standin, relay, tmp_path):
    r = spool_relay(relay, tmp_path, users={USER: {"delivery": None}, "spooler": {"delivery": "spool"}})
    queued_id(submit(r, make_message(700, "spooled"), user="spooler"))
    wait_messages(standin, 1, r)
    code, text = submit(r, make_message(700, "direct"))
    assert code == 250 and b"Hostname=standin" in text and b"Queued as" not in text, text
    standin.knobs(reject_data={"code": 554, "text": "5.6.0 Corrupt message content"})
    assert submit(r, make_message(700, "direct-rejected")) == (554, b"5.6.0 Corrupt message content")
    standin.knobs(reject_data=None)
    assert message_ids(standin.messages()) == {"<spooled@test>": 1, "<direct@test>": 1}
    assert not events(r, "queued", user=USER)


@pytest.mark.parametrize("grace", ["1s", "15s"])
def test_sigterm_during_a_delivery(standin, relay, tmp_path, grace):
    """SIGTERM while a delivery is under way: within shutdown_grace it is
    finished (15s) or abandoned (1s) and done after the restart; either way
    the message arrives exactly once."""
    standin.knobs(reply_delay=1)
    r = spool_relay(relay, tmp_path, limits={"shutdown_grace": grace})
    msg = make_message(3000, f"sigterm-{grace}")
    qid = queued_id(submit(r, msg))
    wait_until("the delivery's upstream login", lambda: standin.stats()["smtp"]["auth_ok"] >= 1, r)
    assert standin.messages() == []
    r.proc.terminate()
    assert r.proc.wait(30) == 0
    if grace == "1s":
        assert standin.messages() == [], "abandoned after 1 s, long before the end of DATA"
        assert qid in spool_files(r, "queue")
    standin.knobs(reply_delay=None)
    restart(r)
    wait_messages(standin, 1, r)
    wait_spool_empty(r)
    assert message_ids(standin.messages()) == {f"<sigterm-{grace}@test>": 1}
    assert standin.messages()[0]["data"] == msg


def test_a_second_relay_on_the_same_spool_is_refused(standin, relay, tmp_path):
    r = spool_relay(relay, tmp_path)
    other = spool_relay(relay, tmp_path, start=False)
    other.start(wait=False)
    assert other.proc.wait(30) != 0
    assert "event=startup_failed" in other.log_text() and r.spool_dir + "/lock" in other.log_text()
    queued_id(submit(r, make_message(500, "still-fine")))
    wait_messages(standin, 1, r)


# --- the real Postfix upstream ----------------------------------------------------------------------------------

def test_spooled_into_real_postfix(standin, realservers, relay, tmp_path):
    """Three messages spooled, then delivered to Postfix (XOAUTH2 checked by
    Dovecot) and read back from Dovecot's mailbox, unchanged but for trace
    headers."""
    r = real_relay(relay, realservers, users={USER: {"delivery": "spool"}},
                   spool=dict(SPOOL_DEFAULTS, dir=str(tmp_path / "spool")))
    r.spool_dir = str(tmp_path / "spool")
    msgs = [make_message(4000 + i, f"real-spool-{i}", dot_lines=True) for i in range(3)]
    ids = [queued_id(submit(r, m, rcpts=[MAILBOX], listener="smtp_plain")) for m in msgs]
    stored = realservers.wait_messages(MAILBOX, 3)
    for m in msgs:
        # Postfix and Dovecot prepend trace headers; the Message-ID is still in the header block.
        match = [b for b in stored if message_id(b) == message_id(m)]
        assert len(match) == 1, f"{message_id(m)}: {len(match)} copies"
        body_of(match[0], m)
    for qid in ids:
        delivered = wait_event(r, "delivery", id=qid, outcome="delivered")
        assert delivered["reply"].startswith("250 2.0.0 Ok"), delivered
    wait_spool_empty(r)

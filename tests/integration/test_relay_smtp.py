"""End-to-end: real SMTP clients -> xoauth2-relay -> the Office 365 stand-in.

Each test starts its own relay (fixture `relay`) in front of the shared stand-in
(fixture `standin`, reset before every test) and checks what the device hears
and what the stand-in stored.
"""
import email.utils
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from relay_helpers import (
    PASSWORD,
    USER,
    make_message,
    raw_session,
    tls_context,
)


def send(r, kind, msg, *, sender="scanner@contoso.com", rcpts=("dest@example.com",), user=USER,
         password=PASSWORD, mechanism=None, ca=None):
    """Sends one message through listener `kind` with smtplib; returns the DATA reply."""
    port = r.port(kind)
    ctx = tls_context(ca)
    if kind == "implicit":
        client = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=30)
    else:
        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
    with client as s:
        s.ehlo("device.test")
        if kind == "starttls":
            s.starttls(context=ctx)
            s.ehlo("device.test")
        if user is not None:
            if mechanism:
                s.user, s.password = user, password
                s.auth(mechanism, getattr(s, "auth_" + mechanism.lower().replace("-", "_")),
                       initial_response_ok=mechanism == "PLAIN")
            else:
                s.login(user, password)
        s.mail(sender)
        for rc in rcpts:
            code, _ = s.rcpt(rc)
            assert code == 250
        code, resp = s.data(msg)
        return code, resp


@pytest.mark.parametrize("kind", ["starttls", "implicit", "plain"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_message_arrives_byte_identical(standin, relay, kind, mechanism):
    r = relay()
    msg = make_message(size=30_000, seed=kind + mechanism)
    code, resp = send(r, kind, msg, mechanism=mechanism, ca=standin.ca)
    assert code == 250, resp
    stored = standin.messages()
    assert len(stored) == 1
    assert stored[0]["data"] == msg
    assert stored[0]["mail_from"] == "scanner@contoso.com"
    assert stored[0]["rcpts"] == ["dest@example.com"]
    assert stored[0]["mailbox"] == "scanner@contoso.com"
    # The device heard Office 365's own reply, not one the relay made up.
    assert b"Hostname=" in resp


def test_five_megabyte_message_with_dots_and_long_lines(standin, relay):
    r = relay()
    body = make_message(size=5 * 1024 * 1024, seed="big", dot_lines=True)
    code, resp = send(r, "starttls", body, ca=standin.ca)
    assert code == 250, resp
    assert standin.messages()[0]["data"] == body


def test_several_messages_in_one_session(standin, relay):
    r = relay()
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        s.login(USER, PASSWORD)
        for i in range(3):
            s.sendmail("scanner@contoso.com", ["a@example.com"], make_message(size=1000, seed=str(i)))
    datas = [m["data"] for m in standin.messages()]
    assert datas == [make_message(size=1000, seed=str(i)) for i in range(3)]


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
def test_swaks_starttls_auth_login(standin, relay):
    r = relay()
    out = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{r.port('starttls')}", "--tls", "--tls-verify",
         "--tls-ca-path", standin.ca, "--auth", "LOGIN", "--auth-user", USER, "--auth-password", PASSWORD,
         "--from", "scanner@contoso.com", "--to", "x@example.com", "--header", "Subject: swaks",
         "--body", "hello from swaks", "--hide-all"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    msgs = standin.messages()
    assert len(msgs) == 1 and b"hello from swaks" in msgs[0]["data"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_implicit_tls_auth_plain(standin, relay, tmp_path):
    r = relay()
    mail = make_message(size=4000, seed="curl")
    (tmp_path / "mail.eml").write_bytes(mail)
    out = subprocess.run(
        ["curl", "--silent", "--show-error", f"smtps://127.0.0.1:{r.port('implicit')}",
         "--cacert", standin.ca, "--login-options", "AUTH=PLAIN", "--user", f"{USER}:{PASSWORD}",
         "--mail-from", "scanner@contoso.com", "--mail-rcpt", "r@example.com",
         "--upload-file", str(tmp_path / "mail.eml")],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert standin.messages()[0]["data"] == mail


def test_wrong_password_gets_535_and_no_upstream_connection(standin, relay):
    r = relay()
    before = standin.stats()["smtp"]["connections"]
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            s.login(USER, "not-the-password")
        assert err.value.smtp_code == 535
        assert b"5.7.8" in err.value.smtp_error
    assert standin.stats()["smtp"]["connections"] == before
    assert "reason=bad_password" in r.log_text()


def test_unknown_user_and_source_not_allowed(standin, relay):
    r = relay(users={"remote01": {"sources": ["10.99.0.0/16"]}})
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("remote01", PASSWORD)
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("nobody", PASSWORD)
    log = r.log_text()
    assert "reason=source_not_allowed" in log
    assert "reason=unknown_user" in log


def test_auth_refused_before_tls_unless_allowed(standin, relay):
    r = relay()
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.ehlo("x")
        assert "auth" not in s.esmtp_features
        code, _ = s.docmd("AUTH", "PLAIN AHNjYW5uZXIwMQB4")
        assert code == 538


def test_token_endpoint_down_gives_454_then_recovers(standin, relay):
    standin.knobs(token_outage="503")  # before the start, which fetches the token
    r = relay(limits={"token_timeout": "3s"})
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            s.login(USER, PASSWORD)
        assert err.value.smtp_code == 454
    assert standin.messages() == []
    standin.knobs(token_outage=None)
    deadline = time.time() + 20
    while True:
        try:
            code, _ = send(r, "starttls", make_message(size=500, seed="recover"), ca=standin.ca)
            break
        except smtplib.SMTPAuthenticationError:
            assert time.time() < deadline, "relay did not recover after the token endpoint returned"
            time.sleep(0.5)
    assert code == 250
    assert "event=token_failed" in r.log_text()


def test_wrong_client_secret_is_explained_in_the_log(standin, relay):
    r = relay(client_secret="definitely-wrong")
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            s.login(USER, PASSWORD)
        assert err.value.smtp_code == 454
    log = r.log_text()
    assert "AADSTS7000215" in log
    assert "trace_id=" in log


def test_concurrent_sessions_share_one_token_request(standin, relay):
    # Counted from before the start: the start's fetch is the one they share.
    before = standin.stats()["token"]["requests"]
    r = relay()
    errors = []

    def one(i):
        try:
            code, _ = send(r, "starttls", make_message(size=800, seed=f"c{i}"), ca=standin.ca)
            assert code == 250
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(standin.messages()) == 12
    assert standin.stats()["token"]["requests"] - before == 1


def test_expired_token_is_refreshed_before_use(standin, relay):
    standin.knobs(token_lifetime=3)
    before = standin.stats()["token"]["issued"]
    r = relay()
    assert send(r, "starttls", make_message(size=300, seed="t1"), ca=standin.ca)[0] == 250
    time.sleep(3.5)
    assert send(r, "starttls", make_message(size=300, seed="t2"), ca=standin.ca)[0] == 250
    assert standin.stats()["token"]["issued"] - before >= 2
    assert len(standin.messages()) == 2


def attempt(r, msg, ca):
    """One transaction that may fail anywhere: returns (stage, code, text) of
    the first reply that is not a success, or ("done", 250, text)."""
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(ca))
        s.login(USER, PASSWORD)
        code, text = s.mail("scanner@contoso.com")
        if code != 250:
            return "mail", code, text
        code, text = s.rcpt("dest@example.com")
        if code != 250:
            return "rcpt", code, text
        try:
            code, text = s.data(msg)
        except smtplib.SMTPDataError as e:  # raised for a non-354 reply to DATA itself
            return "data", e.smtp_code, e.smtp_error
        return ("done" if code == 250 else "data"), code, text


def test_upstream_rejects_data_reaches_device_verbatim(standin, relay):
    r = relay()
    standin.knobs(reject_data={"code": 554, "text": "5.6.0 Corrupt message content"})
    stage, code, text = attempt(r, make_message(size=500, seed="rej"), standin.ca)
    assert (stage, code) == ("data", 554)
    assert b"5.6.0 Corrupt message content" in text
    assert standin.messages() == []


@pytest.mark.parametrize("point", ["data_mid", "data_end", "rcpt"])
def test_upstream_drop_is_never_250(standin, relay, point):
    r = relay()
    standin.knobs(drop_after=point)
    stage, code, _ = attempt(r, make_message(size=200_000, seed="drop"), standin.ca)
    assert stage != "done"
    assert 400 <= code < 500, (stage, code)
    assert standin.messages() == []


def test_upstream_auth_refused_is_535_573_with_cause_in_log(standin, relay):
    r = relay()
    standin.knobs(smtp_auth_disabled=True)
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            s.login(USER, PASSWORD)
        assert err.value.smtp_code == 535
        assert b"5.7.3" in err.value.smtp_error
    assert "SmtpClientAuthenticationDisabled" in r.log_text()


def test_upstream_concurrency_limit_is_temporary(standin, relay):
    r = relay()
    standin.knobs(max_concurrent_per_mailbox=0)
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            s.login(USER, PASSWORD)
        assert err.value.smtp_code == 454


def test_sender_policy(standin, relay):
    r = relay()
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        s.login(USER, PASSWORD)
        code, resp = s.mail("ceo@contoso.com")
        assert code == 550 and b"5.7.1" in resp
        code, _ = s.mail("scanner@contoso.com")
        assert code == 250
    assert "event=sender_denied" in r.log_text()


def test_send_as_refusal_from_exchange_is_verbatim(standin, relay):
    # The relay allows the sender, Office 365 does not: its 5.7.60 reaches the device.
    r = relay(users={USER: {"senders": ["*@contoso.com"]}})
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        s.login(USER, PASSWORD)
        code, resp = s.mail("other@contoso.com")
        assert code == 550 and b"5.7.60" in resp


def test_no_auth_device_admitted_by_source(standin, relay):
    r = relay(no_auth=[{"sources": ["127.0.0.1/32"], "tenant": "contoso", "mailbox": "mfp@contoso.com",
                        "senders": ["*@contoso.com"]}])
    msg = make_message(size=700, seed="mfp")
    with smtplib.SMTP("127.0.0.1", r.port("plain"), timeout=30) as s:
        s.sendmail("printer@contoso.com", ["x@example.com"], msg)
    stored = standin.messages()
    assert stored[0]["mailbox"] == "mfp@contoso.com" and stored[0]["data"] == msg


def test_line_too_long_and_size_limit(standin, relay):
    r = relay(limits={"max_message_size": 100_000, "max_line_length": 1000})
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        s.login(USER, PASSWORD)
        code, _ = s.docmd("NOOP " + "x" * 2000)
        assert code == 500
        code, _ = s.docmd("MAIL FROM:<scanner@contoso.com> SIZE=200000")
        assert code == 552
        s.mail("scanner@contoso.com")
        s.rcpt("x@example.com")
        code, _ = s.data(make_message(size=150_000, seed="big"))
        assert code == 552
        # The session goes on: the next message is relayed.
        s.sendmail("scanner@contoso.com", ["x@example.com"], make_message(size=500, seed="ok"))
    assert [m["data"] for m in standin.messages()] == [make_message(size=500, seed="ok")]


def test_idle_timeout_gives_421(standin, relay):
    r = relay(limits={"command_timeout": "2s"})
    with raw_session(r.port("plain")) as conn:
        assert conn.read_reply().startswith(b"220")
        conn.send(b"EHLO x\r\n")
        conn.read_reply()
        reply = conn.read_reply(timeout=10)
        assert reply.startswith(b"421 4.4.2")


def test_starttls_discards_pipelined_commands(standin, relay):
    r = relay()
    with raw_session(r.port("starttls")) as conn:
        conn.read_reply()
        conn.send(b"EHLO x\r\n")
        conn.read_reply()
        # The injected NOOP must not be answered inside the TLS session.
        conn.send(b"STARTTLS\r\nNOOP injected\r\n")
        assert conn.read_reply().startswith(b"220")
        conn.start_tls(standin.ca)
        assert conn.cmd(b"EHLO x").startswith(b"250-")
        assert conn.cmd(b"QUIT").startswith(b"221")


def test_check_config_reports_line_numbers(tmp_path, relay_bin):
    cfg = tmp_path / "relay.yaml"
    cfg.write_text(
        "server:\n  hostname: x\n"
        "tenants:\n  contoso:\n    tenantid: abc\n    client_id: def\n    client_secret_env: NOPE_NOT_SET\n"
        "listeners:\n  - protocol: smtp\n    listen: \"127.0.0.1:99999\"\n    tls: none\n")
    out = subprocess.run([relay_bin, "check-config", "--config", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 1
    assert f"{cfg}:5:5" in out.stderr and "tenant_id" in out.stderr
    assert f"{cfg}:10:" in out.stderr


def test_hash_password_output_is_a_yescrypt_hash(relay_bin):
    out = subprocess.run([relay_bin, "hash-password"], input="s3cret\n", capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip().splitlines()[-1].startswith("$y$")
    assert "s3cret" not in out.stdout + out.stderr


def test_upstream_tls_is_resumed_for_the_next_session(standin, relay):
    r = relay()
    for i in range(2):
        assert send(r, "starttls", make_message(size=500, seed=f"resume{i}"), ca=standin.ca)[0] == 250
    ok = [line for line in r.log_text().splitlines() if "event=upstream_ok" in line]
    assert len(ok) == 2
    assert "tls_resumed=no" in ok[0]
    assert "tls_resumed=yes" in ok[1]

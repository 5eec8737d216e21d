"""Tests of the Office 365 stand-in itself, with clients no one here wrote
(smtplib, urllib): if the stand-in is wrong, every relay test is wrong."""
import base64
import json
import os
import smtplib
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import CLIENT_ID, NOROLE_CLIENT_ID, PYTHON, STANDIN_DIR, TENANT_ID
import jwt_tokens
import pki

BODY = (b"From: scanner@contoso.com\r\nTo: dest@example.com\r\nSubject: hi\r\n\r\n"
        b"line one\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n")


def sasl(mailbox, token):
    return f"user={mailbox}\x01auth=Bearer {token}\x01\x01"


def connect(standin, *, login=None, token=None, initial_response=True):
    """smtplib over STARTTLS trusting the test CA; with `login` (a mailbox),
    also AUTH XOAUTH2 and raise on failure."""
    s = smtplib.SMTP("127.0.0.1", standin.smtp_port, timeout=15)
    s.starttls(context=standin.tls_context())
    s.ehlo("device.test")
    if login:
        tok = token or standin.token()
        s.auth("XOAUTH2", lambda challenge=None: sasl(login, tok), initial_response_ok=initial_response)
    return s


def auth_reply(s, mailbox, token):
    code, text = s.docmd("AUTH", "XOAUTH2 " + base64.b64encode(sasl(mailbox, token).encode()).decode())
    return code, text.decode()


# --- token endpoint -------------------------------------------------------------

def test_token_has_the_claims_exchange_checks(standin):
    status, doc = standin.request_token()
    assert status == 200
    assert doc["token_type"] == "Bearer" and doc["expires_in"] == 3599 == doc["ext_expires_in"]
    signing = pki.load_key(os.path.join(standin.dir, pki.TOKEN_KEY)).public_key()
    _, claims = jwt_tokens.verify(doc["access_token"], signing)
    assert claims["aud"] == "https://outlook.office365.com"
    assert claims["iss"] == f"https://sts.windows.net/{TENANT_ID}/"
    assert claims["tid"] == TENANT_ID and claims["appid"] == CLIENT_ID
    assert claims["idtyp"] == "app" and "SMTP.SendAsApp" in claims["roles"]
    assert claims["exp"] - claims["iat"] == 3599 and claims["nbf"] <= time.time()
    uuid.UUID(claims["oid"])
    assert len(doc["access_token"]) > 1500  # as long as real ones
    stats = standin.stats()["token"]
    assert (stats["requests"], stats["issued"]) == (1, 1)
    assert stats["tenants"][TENANT_ID] == {"requests": 1, "issued": 1}


def check_entra_error(status, doc, want_status, want_error, code):
    assert status == want_status
    assert doc["error"] == want_error
    assert doc["error_codes"] == [code]
    desc = doc["error_description"]
    assert desc.startswith(f"AADSTS{code}: ")
    assert f"Trace ID: {doc['trace_id']}" in desc
    assert f"Correlation ID: {doc['correlation_id']}" in desc
    assert "Timestamp: " in desc and doc["timestamp"]


@pytest.mark.parametrize("form, tenant, want", [
    ({"client_secret": "wrong"}, TENANT_ID, (401, "invalid_client", 7000215)),
    ({}, "00000000-dead-4000-8000-000000000000", (400, "invalid_request", 90002)),
    ({"client_id": str(uuid.UUID(int=7))}, TENANT_ID, (400, "unauthorized_client", 700016)),
    ({"scope": "https://management.azure.com/.default"}, TENANT_ID, (400, "invalid_scope", 70011)),
    ({"client_secret": None}, TENANT_ID, (401, "invalid_client", 7000218)),
])
def test_token_errors_in_entra_shape(standin, form, tenant, want):
    status, doc = standin.request_token(tenant=tenant, **form)
    check_entra_error(status, doc, *want)
    assert standin.stats()["token"]["issued"] == 0


def test_expired_secret(standin):
    standin.knobs(secret_expired=True)
    check_entra_error(*standin.request_token(), 401, "invalid_client", 7000222)
    # A wrong secret is still reported as wrong, not as expired.
    check_entra_error(*standin.request_token(client_secret="x"), 401, "invalid_client", 7000215)


def assertion(standin, *, alg="PS256", key=None, cert=None, **claims):
    cert = cert or pki.load_cert(standin.client_cert)
    key = key or pki.load_key(standin.client_key)
    now = int(time.time())
    body = {"aud": standin.token_url(), "iss": CLIENT_ID, "sub": CLIENT_ID, "jti": str(uuid.uuid4()),
            "nbf": now, "iat": now, "exp": now + 600}
    body.update(claims)
    header = {"alg": alg, "typ": "JWT", "x5t#S256": jwt_tokens.b64url(pki.thumbprint_s256(cert))}
    return jwt_tokens.encode(header, body, key)


JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_certificate_assertion_accepted(standin, alg):
    status, doc = standin.request_token(client_secret=None, client_assertion_type=JWT_BEARER,
                                        client_assertion=assertion(standin, alg=alg))
    assert status == 200 and doc["access_token"].count(".") == 2


def test_bad_assertions_are_700027(standin):
    other_cert, other_key = pki.self_signed("not registered")
    bad = [
        assertion(standin, aud="https://login.microsoftonline.com/x/oauth2/v2.0/token"),
        assertion(standin, iss="someone-else"),
        assertion(standin, sub="someone-else"),
        assertion(standin, exp=int(time.time()) - 10),
        assertion(standin, cert=other_cert, key=other_key),  # unregistered certificate
        assertion(standin, key=other_key),                   # right thumbprint, wrong key
    ]
    for a in bad:
        status, doc = standin.request_token(client_secret=None, client_assertion_type=JWT_BEARER,
                                            client_assertion=a)
        check_entra_error(status, doc, 401, "invalid_client", 700027)
    assert standin.stats()["token"]["issued"] == 0


def test_token_outage_and_delay(standin):
    standin.knobs(token_outage="503")
    assert standin.request_token()[0] == 503
    standin.knobs(token_outage="drop")
    with pytest.raises((urllib.error.URLError, ConnectionError, http_client_errors())):
        standin.request_token()
    standin.knobs(token_outage=None, token_delay=0.6)
    t0 = time.monotonic()
    assert standin.request_token()[0] == 200
    assert time.monotonic() - t0 >= 0.6
    stats = standin.stats()["token"]
    assert (stats["requests"], stats["issued"]) == (3, 1)


def http_client_errors():
    import http.client
    return http.client.HTTPException


# --- SMTP -------------------------------------------------------------------------

def test_greeting_and_ehlo_like_exchange(standin):
    with socket.create_connection(("127.0.0.1", standin.smtp_port), timeout=10) as raw:
        greeting = raw.makefile("rb").readline()
    assert greeting.startswith(b"220 ") and b" Microsoft ESMTP MAIL Service ready at " in greeting
    s = smtplib.SMTP("127.0.0.1", standin.smtp_port, timeout=15)
    s.ehlo("device.test")
    assert "starttls" in s.esmtp_features and "auth" not in s.esmtp_features
    assert s.esmtp_features["size"] == "37748736"
    assert s.docmd("AUTH", "XOAUTH2")[0] == 504  # no AUTH before TLS
    s.starttls(context=standin.tls_context())
    s.ehlo("device.test")
    assert "starttls" not in s.esmtp_features
    assert s.esmtp_features["auth"].split() == ["LOGIN", "XOAUTH2"]
    for ext in ("pipelining", "dsn", "enhancedstatuscodes", "8bitmime", "binarymime", "chunking", "smtputf8"):
        assert ext in s.esmtp_features
    assert s.mail("scanner@contoso.com")[0] == 530
    assert s.noop()[0] == 250 and s.rset()[0] == 250
    assert s.docmd("QUIT") == (221, b"2.0.0 Service closing transmission channel")
    s.close()


@pytest.mark.parametrize("initial_response", [True, False])
def test_xoauth2_send_stores_exact_bytes(standin, initial_response):
    with connect(standin, login="scanner@contoso.com", initial_response=initial_response) as s:
        refused = s.sendmail("scanner@contoso.com", ["a@example.com", "b@example.net"], BODY)
        assert refused == {}
        code, text = s.noop()
    [m] = standin.messages()
    assert m["data"] == BODY  # smtplib dot-stuffed; the stand-in unstuffed
    assert m["mailbox"] == "scanner@contoso.com" and m["mail_from"] == "scanner@contoso.com"
    assert m["rcpts"] == ["a@example.com", "b@example.net"]
    st = standin.stats()["smtp"]
    assert (st["connections"], st["auth_ok"], st["messages"]) == (1, 1, 1)


def test_data_reply_carries_id_and_hostname(standin):
    with connect(standin, login="scanner@contoso.com") as s:
        s.mail("scanner@contoso.com")
        s.rcpt("a@example.com")
        code, text = s.data(BODY)
    assert code == 250 and text.startswith(b"2.0.0 OK <") and text.endswith(b"[Hostname=standin]")
    assert standin.messages()[0]["id"].encode() in text


@pytest.mark.parametrize("case", ["role_missing", "wrong_mailbox", "expired", "tampered", "garbage"])
def test_xoauth2_refusals(standin, case):
    mailbox, token = "scanner@contoso.com", None
    if case == "role_missing":
        token = standin.token(client_id=NOROLE_CLIENT_ID)
    elif case == "wrong_mailbox":
        mailbox = "ceo@contoso.com"
    elif case == "expired":
        standin.knobs(token_lifetime=1)
        token = standin.token()
        time.sleep(1.2)
    elif case == "tampered":
        head, body, sig = standin.token().split(".")
        claims = json.loads(jwt_tokens.b64url_decode(body))
        claims["roles"] = ["SMTP.SendAsApp"]
        claims["appid"] = NOROLE_CLIENT_ID
        token = ".".join([head, jwt_tokens.b64url(json.dumps(claims).encode()), sig])
    elif case == "garbage":
        token = "not-a-jwt"
    with connect(standin) as s:
        code, text = auth_reply(s, mailbox, token or standin.token())
        assert (code, text) == (535, "5.7.3 Authentication unsuccessful [standin]")
        assert s.mail("scanner@contoso.com")[0] == 530
    assert standin.stats()["smtp"]["auth_failed"] == 1


def test_send_as(standin):
    with connect(standin, login="scanner@contoso.com") as s:
        code, text = s.mail("other@contoso.com")
        assert code == 550 and text == b"5.7.60 SMTP; Client does not have permissions to send as this sender"
        assert s.mail("SCANNER@Contoso.com")[0] == 250
    with connect(standin, login="mfp@contoso.com") as s:
        assert s.mail("anyone@contoso.com")[0] == 250
        s.rset()
        assert s.mail("anyone@contoso.com.evil.test")[0] == 550
        assert s.mail("anyone@fabrikam.com")[0] == 550


def test_bdat_chunks_are_stored_verbatim(standin):
    chunk1, chunk2 = b"Subject: bdat\r\n\r\n.not stuffed\r\n", b".\r\nend\r\n"
    with connect(standin, login="scanner@contoso.com") as s:
        s.mail("scanner@contoso.com")
        s.rcpt("a@example.com")
        s.send(b"BDAT %d\r\n" % len(chunk1) + chunk1)
        assert s.getreply()[0] == 250
        s.send(b"BDAT %d LAST\r\n" % len(chunk2) + chunk2)
        code, text = s.getreply()
        assert code == 250 and b"Hostname=standin" in text
    assert standin.messages()[0]["data"] == chunk1 + chunk2


def test_auth_fail_and_auth_disabled_knobs(standin):
    standin.knobs(auth_fail=True)
    with connect(standin) as s:
        assert auth_reply(s, "scanner@contoso.com", standin.token())[0] == 535
    standin.knobs(auth_fail=None, smtp_auth_disabled=True)
    with connect(standin) as s:
        code, text = auth_reply(s, "scanner@contoso.com", standin.token())
        assert code == 535 and text.startswith(
            "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.")
    assert standin.stats()["smtp"]["auth_failed"] == 2


def test_google_style_failure_challenge(standin):
    standin.knobs(auth_fail=True, auth_fail_challenge=True)
    with connect(standin) as s:
        code, text = auth_reply(s, "scanner@contoso.com", standin.token())
        assert code == 334
        assert json.loads(base64.b64decode(text))["status"] == "401"
        assert s.docmd("")[0] == 535


def test_concurrency_limit_per_mailbox(standin):
    standin.knobs(max_concurrent_per_mailbox=1)
    token = standin.token()
    first = connect(standin, login="scanner@contoso.com", token=token)
    try:
        with connect(standin) as second:
            assert auth_reply(second, "scanner@contoso.com", token) == (
                432, "4.3.2 Concurrent connections limit exceeded.")
            # Another mailbox has its own limit.
            assert auth_reply(second, "mfp@contoso.com", token)[0] == 235
        assert standin.stats()["smtp"]["sessions"]["scanner@contoso.com"] == 1
    finally:
        first.quit()
    deadline = time.monotonic() + 5
    while standin.stats()["smtp"]["sessions"].get("scanner@contoso.com"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with connect(standin) as third:
        assert auth_reply(third, "scanner@contoso.com", token)[0] == 235


def test_reject_data(standin):
    standin.knobs(reject_data={"code": 554, "text": "5.6.0 Corrupt message content"})
    with connect(standin, login="scanner@contoso.com") as s:
        with pytest.raises(smtplib.SMTPDataError) as err:
            s.sendmail("scanner@contoso.com", ["a@example.com"], BODY)
        assert (err.value.smtp_code, err.value.smtp_error) == (554, b"5.6.0 Corrupt message content")
    assert standin.messages() == []



def test_concurrency_peak_and_throttled_counters(standin):
    """peak_sessions: the most authenticated sessions a mailbox had at once
    (what Exchange's limit counts); throttled: how many 432s were given."""
    standin.knobs(max_concurrent_per_mailbox=2)
    token = standin.token()
    first = connect(standin, login="scanner@contoso.com", token=token)
    second = connect(standin, login="scanner@contoso.com", token=token)
    try:
        with connect(standin) as third:
            assert auth_reply(third, "scanner@contoso.com", token)[0] == 432
            assert auth_reply(third, "scanner@contoso.com", token)[0] == 432
        smtp = standin.stats()["smtp"]
        assert smtp["peak_sessions"] == {"scanner@contoso.com": 2}
        assert smtp["throttled"] == 2
    finally:
        first.quit()
        second.quit()
    # The peak stays after the sessions end; reset clears it.
    deadline = time.monotonic() + 5
    while standin.stats()["smtp"]["sessions"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert standin.stats()["smtp"]["peak_sessions"] == {"scanner@contoso.com": 2}
    standin.reset()
    assert standin.stats()["smtp"]["peak_sessions"] == {}
    assert standin.stats()["smtp"]["throttled"] == 0


QUOTA_REPLY = (b"5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process "
               b"message due to a permanent exception with message [BeginDiagnosticData]Cannot submit "
               b"message.[EndDiagnosticData]")


def test_submission_quota_per_mailbox(standin):
    standin.knobs(smtp_messages_per_minute=2, smtp_quota_window=1.5)
    with connect(standin, login="scanner@contoso.com") as s:
        for _ in range(2):
            assert s.sendmail("scanner@contoso.com", ["a@example.com"], BODY) == {}
        with pytest.raises(smtplib.SMTPDataError) as err:
            s.sendmail("scanner@contoso.com", ["a@example.com"], BODY)
        assert (err.value.smtp_code, err.value.smtp_error) == (554, QUOTA_REPLY)
        # BDAT is counted the same way.
        s.mail("scanner@contoso.com")
        s.rcpt("a@example.com")
        s.send(b"BDAT %d LAST\r\n" % len(BODY) + BODY)
        assert s.getreply() == (554, QUOTA_REPLY)
        # Another mailbox has its own quota.
        with connect(standin, login="mfp@contoso.com") as other:
            assert other.sendmail("mfp@contoso.com", ["a@example.com"], BODY) == {}
        assert len(standin.messages()) == 3
        assert standin.stats()["smtp"]["quota_exceeded"] == 2
        # Once the oldest submissions leave the window, the mailbox may send again.
        oldest = standin.messages()[0]["time"]
        while time.time() < oldest + 1.6:
            time.sleep(0.05)
        assert s.sendmail("scanner@contoso.com", ["a@example.com"], BODY) == {}
    assert [m["mailbox"] for m in standin.messages()] == ["scanner@contoso.com"] * 2 + [
        "mfp@contoso.com", "scanner@contoso.com"]


def test_submission_quota_default_window_is_a_minute(standin):
    standin.knobs(smtp_messages_per_minute=0)
    assert standin.knobs()["smtp_quota_window"] == 60
    with connect(standin, login="scanner@contoso.com") as s:
        with pytest.raises(smtplib.SMTPDataError) as err:
            s.sendmail("scanner@contoso.com", ["a@example.com"], BODY)
        assert err.value.smtp_code == 554
    assert standin.messages() == []


def test_reject_rcpt(standin):
    not_found = "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
    standin.knobs(reject_rcpt={"Nobody@Example.com": {"code": 550, "text": not_found},
                               "busy@example.com": {"code": 452, "text": "4.2.2 Mailbox full"}})
    with connect(standin, login="scanner@contoso.com") as s:
        s.mail("scanner@contoso.com")
        assert s.rcpt("nobody@example.com") == (550, not_found.encode())  # any case
        assert s.rcpt("busy@example.com") == (452, b"4.2.2 Mailbox full")
        assert s.rcpt("a@example.com")[0] == 250
        assert s.data(BODY)[0] == 250
    [m] = standin.messages()
    assert m["rcpts"] == ["a@example.com"]
    with pytest.raises(urllib.error.HTTPError):
        standin.knobs(reject_rcpt={"a@example.com": {"code": "550"}})


def test_messages_record_their_connection(standin):
    """Each stored message says which SMTP connection (1, 2, ... since the
    reset) brought it, so tests can see messages that shared a session."""
    with connect(standin, login="scanner@contoso.com") as s:
        s.sendmail("scanner@contoso.com", ["a@example.com"], BODY)
        s.sendmail("scanner@contoso.com", ["a@example.com"], BODY)
    with connect(standin, login="scanner@contoso.com") as s:
        s.sendmail("scanner@contoso.com", ["a@example.com"], BODY)
    msgs = standin.messages()
    assert [m["connection"] for m in msgs] == [1, 1, 2]
    assert all(abs(m["time"] - time.time()) < 30 for m in msgs)


STEPS = ["greeting", "ehlo", "auth", "mail", "rcpt", "data_start", "data_mid", "data_end"]


@pytest.mark.parametrize("point", STEPS)
def test_drop_after(standin, point):
    """The connection closes exactly at `point`: every earlier step is answered."""
    standin.knobs(drop_after=point)
    token = standin.token()
    reached = []
    s = None
    with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError, ssl.SSLEOFError)):
        s = smtplib.SMTP("127.0.0.1", standin.smtp_port, timeout=15)
        reached.append("greeting")
        s.ehlo("x")
        s.starttls(context=standin.tls_context())
        s.ehlo("x")
        reached.append("ehlo")
        assert auth_reply(s, "scanner@contoso.com", token)[0] == 235
        reached.append("auth")
        assert s.mail("scanner@contoso.com")[0] == 250
        reached.append("mail")
        assert s.rcpt("a@example.com")[0] == 250
        reached.append("rcpt")
        assert s.putcmd("DATA") is None and s.getreply()[0] == 354
        reached.append("data_start")
        first_line = BODY.index(b"\r\n") + 2
        s.send(BODY[:first_line])
        # Dropped mid-data means closed before the rest is sent: an EOF now.
        s.sock.settimeout(1)
        try:
            if s.sock.recv(1) == b"":
                raise smtplib.SMTPServerDisconnected("closed mid-data")
        except socket.timeout:
            pass  # still open, waiting for the rest
        s.sock.settimeout(15)
        reached.append("data_mid")
        s.send(BODY[first_line:] + b".\r\n")
        s.getreply()
        reached.append("data_end")
    if s:
        s.close()
    assert reached == STEPS[:STEPS.index(point)]
    assert standin.messages() == []


def test_reply_and_greeting_delay(standin):
    standin.knobs(greeting_delay=0.5)
    t0 = time.monotonic()
    with smtplib.SMTP("127.0.0.1", standin.smtp_port, timeout=15) as s:
        assert time.monotonic() - t0 >= 0.5
        standin.knobs(greeting_delay=None, reply_delay=0.4)
        t1 = time.monotonic()
        assert s.noop()[0] == 250
        assert time.monotonic() - t1 >= 0.4


def test_command_line_limit_and_cancel(standin):
    with connect(standin) as s:
        assert s.docmd("NOOP", "x" * 40000)[0] == 500
        assert s.docmd("AUTH", "XOAUTH2")[0] == 334
        assert s.docmd("*")[0] == 501
        assert s.docmd("AUTH", "XOAUTH2")[0] == 334
        assert s.docmd("x" * 40000)[0] == 500
        assert s.noop()[0] == 250


def test_plaintext_pipelined_after_starttls_is_refused(standin):
    with socket.create_connection(("127.0.0.1", standin.smtp_port), timeout=10) as sock:
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"EHLO x\r\n")
        while f.readline()[3:4] == b"-":
            pass
        sock.sendall(b"STARTTLS\r\nNOOP injected\r\n")
        assert f.readline().startswith(b"220 2.0.0")
        assert f.readline() == b""  # closed instead of a TLS handshake


# --- control API and process life ----------------------------------------------------

def test_unknown_knob_is_refused(standin):
    with pytest.raises(urllib.error.HTTPError) as err:
        standin.knobs(drop_afer="mail")
    assert err.value.code == 400
    with pytest.raises(urllib.error.HTTPError):
        standin.knobs(drop_after="sometime")


def test_reset_and_delete_messages(standin):
    with connect(standin, login="scanner@contoso.com") as s:
        s.sendmail("scanner@contoso.com", ["a@example.com"], BODY)
    assert len(standin.messages()) == 1
    standin.clear_messages()
    assert standin.messages() == [] and standin.stats()["smtp"]["messages"] == 1
    standin.knobs(auth_fail=True)
    standin.reset()
    assert standin.stats()["smtp"]["connections"] == 0
    assert standin.knobs()["auth_fail"] is False


def test_reload_reads_the_apps_file_again(standin):
    with open(standin.apps_path) as f:
        original = f.read()
    doc = json.loads(original)
    doc["tenants"][TENANT_ID]["apps"][CLIENT_ID]["mailboxes"]["new@contoso.com"] = {}
    try:
        with open(standin.apps_path, "w") as f:
            json.dump(doc, f)
        standin.reload()
        with connect(standin, login="new@contoso.com") as s:
            assert s.mail("new@contoso.com")[0] == 250  # send_as defaults to the mailbox
    finally:
        with open(standin.apps_path, "w") as f:
            f.write(original)
        standin.reload()
    with connect(standin) as s:
        assert auth_reply(s, "new@contoso.com", standin.token())[0] == 535


@pytest.mark.parametrize("how", ["stdin", "sigterm"])
def test_process_stops_by_itself_and_keeps_its_ca(tmp_path, standin, how):
    # Reuses the session's directory's certificates by copying them: a second
    # start in an existing directory must keep the CA clients already trust.
    d = tmp_path / "s"
    d.mkdir()
    for name in (pki.CA_CERT, pki.CA_KEY):
        (d / name).write_bytes(open(os.path.join(standin.dir, name), "rb").read())
    proc = subprocess.Popen([PYTHON, os.path.join(STANDIN_DIR, "standin.py"), "--dir", str(d),
                             "--config", standin.apps_path], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (d / "ports.json").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        ports = json.loads((d / "ports.json").read_text())
        # (other endpoints, e.g. Graph's, add their own ports)
        assert {"token", "smtp", "imap", "pop3", "control", "graph"} <= set(ports)
        assert (d / pki.CA_CERT).read_bytes() == open(standin.ca, "rb").read()
        # Its new server certificate chains to that CA, for 127.0.0.1.
        with socket.create_connection(("127.0.0.1", ports["token"]), timeout=10) as raw:
            with standin.tls_context().wrap_socket(raw, server_hostname="127.0.0.1"):
                pass
        if how == "stdin":
            proc.stdin.close()
        else:
            proc.terminate()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

"""A Google Workspace tenant (provider: google) beside the Microsoft tenant,
end to end: the relay signs a JWT bearer assertion with the service account's
key for each mailbox (domain-wide delegation), the stand-in's Google token
endpoint checks it and mints a token for that mailbox only, and Python's
smtplib and imaplib use the relay as they would with Gmail. A mailbox whose
domain never delegated the scope gives a token error that names the fix;
Gmail's refusal (a JSON challenge, then 535 5.7.8 / NO) is answered and logged
decoded. Nothing secret reaches the log."""
import base64
import imaplib
import json
import os
import smtplib
import subprocess
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import _write_private
from relay_helpers import PASSWORD, USER, make_message, tls_context, wait_for_log
import google_token  # the stand-in's modules (tests/standin, on sys.path through conftest)
import jwt_tokens
from ports import poll
import xoauth2

CLIENT_EMAIL = "relay@acme-project.iam.gserviceaccount.com"
CLIENT_ID = "112233445566778899001"
KEY_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
SCAN, FRONT, DESK = "scan@acme.test", "front@acme.test", "desk@beta.test"
LISTENERS = [{"tls": "starttls"}, {"name": "imaps", "protocol": "imap", "tls": "implicit"}]


@pytest.fixture(scope="module")
def google(standin, tmp_path_factory):
    """A service account in the stand-in's Google section: acme.test delegated
    https://mail.google.com/ to its client ID, beta.test did not. Yields
    (key file path, private key PEM); the apps file is restored afterwards."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with open(standin.apps_path, "rb") as f:
        original = f.read()
    apps = json.loads(original)
    apps["google"] = {
        "service_accounts": {CLIENT_EMAIL: {"client_id": CLIENT_ID, "keys": {KEY_ID: public}}},
        "domains": {
            "acme.test": {"users": [SCAN, FRONT], "delegation": {CLIENT_ID: [google_token.MAIL_SCOPE]}},
            "beta.test": {"users": [DESK], "delegation": {}},
        },
    }
    _write_private(standin.apps_path, json.dumps(apps).encode())
    standin.reload()
    d = str(tmp_path_factory.mktemp("google"))
    path = os.path.join(d, "acme-sa.json")
    _write_private(path, json.dumps({
        "type": "service_account", "project_id": "acme-project", "private_key_id": KEY_ID,
        "private_key": pem, "client_email": CLIENT_EMAIL, "client_id": CLIENT_ID,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": f"https://127.0.0.1:{standin.ports['google_token']}/token",
    }, indent=2).encode())
    try:
        yield path, pem, key
    finally:
        _write_private(standin.apps_path, original)
        standin.reload()


def acme_tenant(standin, key_file):
    return {"acme": {
        "provider": "google", "service_account_file": key_file, "ca_file": standin.ca,
        "smtp": {"host": "127.0.0.1", "port": standin.smtp_port, "tls": "starttls"},
        "imap": {"host": "127.0.0.1", "port": standin.imap_port, "tls": "implicit"}}}


def google_relay(relay, standin, google, users):
    key_file, pem, _ = google
    r = relay(listeners=LISTENERS, tenants=acme_tenant(standin, key_file), users=users, start=False)
    # The key's body (a line of its base64) must never reach the log.
    r.forbid_in_log("service account private key", pem.splitlines()[5])
    return r.start()


def send(r, standin, user, sender, rcpt, message):
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=60) as s:
        s.starttls(context=tls_context(standin.ca))
        s.login(user, PASSWORD)
        assert s.sendmail(sender, [rcpt], message) == {}


def google_message(sender, seed):
    return (f"From: {sender}\r\nTo: dest@example.com\r\nSubject: google {seed}\r\n"
            f"Message-ID: <{seed}@acme.test>\r\n\r\nhello from {sender}\r\n").encode()


def test_google_tenant_beside_microsoft_smtp_and_imap(relay, standin, google):
    r = google_relay(relay, standin, google, users={
        "gscan": {"tenant": "acme", "mailbox": SCAN, "protocols": ["smtp", "imap"]},
        "gfront": {"tenant": "acme", "mailbox": FRONT, "protocols": ["smtp"]},
    })
    # Every token at start: the Microsoft tenant's, one per Google mailbox.
    for key in ("tenant=contoso ", f"tenant=acme/{SCAN} ", f"tenant=acme/{FRONT} "):
        assert wait_for_log(r, "event=token_ok " + key) or wait_for_log(r, key), r.redacted_tail()
    assert standin.stats()["token"]["tenants"]["google"]["issued"] == 2

    ms = make_message(size=20000, seed="google-beside-ms")
    send(r, standin, USER, "scanner@contoso.com", "dest@example.com", ms)
    scan_msg, front_msg = google_message(SCAN, "g1"), google_message(FRONT, "g2")
    send(r, standin, "gscan", SCAN, "dest@example.com", scan_msg)
    send(r, standin, "gfront", FRONT, "dest@example.com", front_msg)
    got = {m["mailbox"]: m["data"] for m in standin.messages()}
    assert got == {"scanner@contoso.com": ms, SCAN: scan_msg, FRONT: front_msg}

    # IMAP as Gmail answers it ("OK <mailbox> authenticated (Success)").
    standin.deliver(SCAN, b"Subject: for scan\r\n\r\nimap body\r\n")
    with imaplib.IMAP4_SSL("127.0.0.1", r.port("imaps"), ssl_context=tls_context(standin.ca), timeout=60) as m:
        m.login("gscan", PASSWORD)
        assert m.select("INBOX")[0] == "OK"
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == b"Subject: for scan\r\n\r\nimap body\r\n"
        m.logout()
    log = r.log_text()
    assert "upstream_ok" in log and "protocol=imap" in log
    # Tokens were not fetched again for the sessions: cached per mailbox.
    assert standin.stats()["token"]["tenants"]["google"]["issued"] == 2


def test_google_config_matches_schema(relay, standin, google):
    """The Google tenant the tests run validates against conf/relay.schema.json;
    Microsoft's keys on it, or a Microsoft tenant without its ids, do not."""
    import jsonschema
    from test_config_schema import SCHEMA_PATH, load_yaml
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        validator = jsonschema.Draft7Validator(json.load(f))
    r = relay(listeners=LISTENERS, tenants=acme_tenant(standin, google[0]), start=False,
              users={"gscan": {"tenant": "acme", "mailbox": SCAN, "protocols": ["smtp", "imap"]}})
    with open(r.config_path, encoding="utf-8") as f:
        doc = load_yaml(f.read())
    assert list(validator.iter_errors(doc)) == []
    doc["tenants"]["acme"]["client_id"] = CLIENT_ID
    assert list(validator.iter_errors(doc)) != []
    del doc["tenants"]["acme"]["client_id"]
    del doc["tenants"]["acme"]["service_account_file"]
    assert list(validator.iter_errors(doc)) != []
    doc["tenants"]["contoso"]["service_account_file"] = google[0]
    doc["tenants"]["acme"]["service_account_file"] = google[0]
    assert list(validator.iter_errors(doc)) != []


def test_missing_delegation_is_a_clear_token_error(relay, standin, google):
    r = google_relay(relay, standin, google, users={
        "gdesk": {"tenant": "acme", "mailbox": DESK, "protocols": ["smtp"]},
    })
    assert wait_for_log(r, f"tenant=acme/{DESK}"), r.redacted_tail()
    assert wait_for_log(r, "event=token_failed"), r.redacted_tail()
    line = next(l for l in r.log_text().splitlines() if "event=token_failed" in l and DESK in l)
    assert "domain-wide delegation is missing" in line
    assert "unauthorized_client" in line
    assert "Security > API controls > Domain-wide delegation" in line
    assert CLIENT_ID in line and "https://mail.google.com/" in line
    # The device hears a temporary failure, not "wrong password".
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=60) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("gdesk", PASSWORD)
        assert e.value.smtp_code == 454


def test_gmail_refusal_challenge_is_answered_and_logged_decoded(relay, standin, google):
    r = google_relay(relay, standin, google, users={
        "gscan": {"tenant": "acme", "mailbox": SCAN, "protocols": ["smtp", "imap"]},
    })
    assert wait_for_log(r, f"event=token_ok tenant=acme/{SCAN}") or wait_for_log(r, f"tenant=acme/{SCAN}")
    standin.knobs(auth_fail=True)
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=60) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("gscan", PASSWORD)
    with imaplib.IMAP4_SSL("127.0.0.1", r.port("imaps"), ssl_context=tls_context(standin.ca), timeout=60) as m:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            m.login("gscan", PASSWORD)
    log = r.log_text()
    assert "5.7.8" in log  # Gmail's final SMTP refusal reached the log
    assert "Invalid credentials (Failure)" in log  # and Gmail's IMAP NO
    # Each challenge answered, and logged decoded (quotes escaped in the text log).
    assert log.count('challenge: {\\"status\\":\\"400\\",\\"schemes\\":\\"Bearer\\",'
                     '\\"scope\\":\\"https://mail.google.com/\\"}') >= 2, r.redacted_tail()
    # The likely cause is Google's set-up, not Exchange's.
    refusals = [l for l in log.splitlines() if "event=upstream_failed" in l]
    assert refusals and all("Domain-wide delegation" in l and "SendAsApp" not in l and "AccessAsApp" not in l
                            for l in refusals), r.redacted_tail()
    assert any("IMAP access" in l for l in refusals)


# --- the stand-in's Google side on its own --------------------------------------

def request_google_token(standin, assertion, grant=google_token.GRANT):
    url = f"https://127.0.0.1:{standin.ports['google_token']}/token"
    body = urllib.parse.urlencode({"grant_type": grant, "assertion": assertion}).encode()
    req = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=standin.ca), timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def assertion(standin, key, sub, kid=KEY_ID, **over):
    now = int(time.time())
    claims = {"iss": CLIENT_EMAIL, "sub": sub, "scope": google_token.MAIL_SCOPE,
              "aud": f"https://127.0.0.1:{standin.ports['google_token']}/token", "iat": now, "exp": now + 3600}
    claims.update(over)
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    return jwt_tokens.encode(header, claims, key)


def xoauth2_imap(standin, user, token):
    sasl = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    with imaplib.IMAP4_SSL("127.0.0.1", standin.imap_port, ssl_context=tls_context(standin.ca), timeout=30) as m:
        try:
            typ, data = m.authenticate("XOAUTH2", lambda _: sasl)
            return typ, data
        except imaplib.IMAP4.error as e:
            return "NO", [str(e).encode()]


def test_standin_google_tokens_are_per_mailbox(standin, google):
    _, _, key = google
    status, doc = request_google_token(standin, assertion(standin, key, SCAN))
    assert status == 200 and doc["token_type"] == "Bearer" and doc["access_token"].startswith("ya29.")
    typ, data = xoauth2_imap(standin, SCAN, doc["access_token"])
    assert typ == "OK" and f"{SCAN} authenticated (Success)" in data[0].decode()
    typ, data = xoauth2_imap(standin, FRONT, doc["access_token"])  # another mailbox: refused
    assert typ == "NO" and "AUTHENTICATIONFAILED" in data[0].decode()


@pytest.mark.parametrize("case,over,status,error,description", [
    ("no delegation", {"sub": DESK}, 401, "unauthorized_client", "Client is unauthorized"),
    ("unknown user", {"sub": "nobody@acme.test"}, 400, "invalid_grant", "Invalid email or User ID"),
    ("unknown domain", {"sub": "x@example.org"}, 400, "invalid_grant", "Invalid email or User ID"),
    ("wrong scope", {"scope": "https://www.googleapis.com/auth/gmail.send"}, 400, "invalid_scope", "Invalid OAuth"),
    ("wrong aud", {"aud": "https://oauth2.googleapis.com/token"}, 400, "invalid_grant", "audience"),
    ("too long", {"exp": int(time.time()) + 7200}, 400, "invalid_grant", "short-lived"),
    ("unknown account", {"iss": "other@x.iam.gserviceaccount.com"}, 400, "invalid_grant", "account not found"),
])
def test_standin_google_errors(standin, google, case, over, status, error, description):
    _, _, key = google
    over = dict(over)
    got_status, doc = request_google_token(standin, assertion(standin, key, over.pop("sub", SCAN), **over))
    assert (got_status, doc["error"]) == (status, error), case
    assert description in doc["error_description"]


def test_standin_google_checks_the_signature(standin, google):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    status, doc = request_google_token(standin, assertion(standin, other, SCAN))
    assert (status, doc["error"], doc["error_description"]) == (400, "invalid_grant", "Invalid JWT Signature.")
    status, doc = request_google_token(standin, "x", grant="client_credentials")
    assert (status, doc["error"]) == (400, "unsupported_grant_type")
    status, doc = request_google_token(standin, assertion(standin, google[2], SCAN, kid="not-a-key-of-it"))
    assert (status, doc["error_description"]) == (400, "Invalid JWT Signature.")


def test_gmail_challenge_text():
    assert json.loads(base64.b64decode(xoauth2.GOOGLE_FAIL_CHALLENGE)) == {
        "status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}


# --- doctor -----------------------------------------------------------------------

def run_doctor(r, *args):
    out = subprocess.run([r.bin, "doctor", "--config", r.config_path, *args], capture_output=True, timeout=120)
    text = out.stdout.decode() + out.stderr.decode()
    assert "eyJ" not in text and "PRIVATE KEY" not in text  # never a token or the key
    return out.returncode, text


def acme_rows(text, check):
    """The acme tenant's table lines whose CHECK column starts with `check`."""
    return [l for l in text.splitlines() if l.startswith("acme ") and " ".join(l.split()[3:]).startswith(check)]


def test_doctor_checks_a_token_per_google_mailbox_then_the_logins(relay, standin, google):
    r = relay(listeners=LISTENERS, tenants=acme_tenant(standin, google[0]), start=False, users={
        "gscan": {"tenant": "acme", "mailbox": SCAN, "protocols": ["smtp", "imap"]},
        "gfront": {"tenant": "acme", "mailbox": FRONT, "protocols": ["smtp"]}})
    code, text = run_doctor(r, "--tenant", "acme")
    assert code == 0, text
    assert any(CLIENT_EMAIL in l and CLIENT_ID in l for l in acme_rows(text, "service account")), text
    tokens = acme_rows(text, "token")
    assert len(tokens) == 2 and all("ok, valid for" in l for l in tokens), text
    logins = acme_rows(text, "login")
    assert len(logins) == 3 and all(l.endswith(" ok") for l in logins), text
    assert standin.messages() == []  # nothing was sent


def test_doctor_names_the_missing_delegation(relay, standin, google):
    r = relay(listeners=LISTENERS, tenants=acme_tenant(standin, google[0]), start=False, users={
        "gscan": {"tenant": "acme", "mailbox": SCAN, "protocols": ["smtp"]},
        "gdesk": {"tenant": "acme", "mailbox": DESK, "protocols": ["smtp", "imap"]}})
    code, text = run_doctor(r, "--tenant", "acme")
    assert code == 1, text
    bad = [l for l in acme_rows(text, "token") if DESK in l]
    assert bad and "domain-wide delegation is missing" in bad[0], text
    fixes = text[text.find("fix"):]
    assert "Security > API controls > Domain-wide delegation" in fixes
    assert CLIENT_ID in fixes and "https://mail.google.com/" in fixes
    # Its logins are not tried; the delegated mailbox still passes.
    assert all("not tried" in l for l in acme_rows(text, "login") if DESK in l)
    assert all(l.endswith(" ok") for l in acme_rows(text, "login") if SCAN in l)


def test_a_rotated_key_file_is_read_on_reload_and_fetches_new_tokens(relay, standin, google):
    key_file, _, _ = google
    r = google_relay(relay, standin, google, users={
        "gscan": {"tenant": "acme", "mailbox": SCAN, "protocols": ["smtp"]}})
    assert wait_for_log(r, f"event=token_ok tenant=acme/{SCAN}"), r.redacted_tail()
    # The admin creates a new key (Google registers it) and replaces the file.
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_pem = new.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    apps = json.loads(open(standin.apps_path, "rb").read())
    apps["google"]["service_accounts"][CLIENT_EMAIL]["keys"]["k2"] = new.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    _write_private(standin.apps_path, json.dumps(apps).encode())
    standin.reload()
    doc = json.loads(open(key_file, "rb").read())
    rotated = os.path.join(os.path.dirname(r.config_path), "acme-sa.json")
    _write_private(rotated, json.dumps(dict(doc, private_key_id="k2", private_key=new_pem)).encode())
    r.forbid_in_log("the rotated private key", new_pem.splitlines()[5])
    r.config["tenants"]["acme"]["service_account_file"] = rotated
    r.write_config(r.config)
    r.reload()
    assert wait_for_log(r, "event=reloaded"), r.redacted_tail()
    reloaded = next(l for l in r.log_text().splitlines() if "event=reloaded" in l)
    assert f"acme/{SCAN}" in reloaded and "contoso" not in reloaded.split("fetching_tokens=")[1]
    assert poll(lambda: r.log_text().count(f"event=token_ok tenant=acme/{SCAN}") == 2, 15), r.redacted_tail()
    send(r, standin, "gscan", SCAN, "dest@example.com", google_message(SCAN, "rotated"))
    assert [m["mailbox"] for m in standin.messages()] == [SCAN]


def test_a_spooled_message_for_a_google_mailbox_is_delivered_with_its_token(relay, standin, google, tmp_path):
    key_file, pem, _ = google
    r = relay(listeners=LISTENERS, tenants=acme_tenant(standin, key_file), start=False,
              users={"gscan": {"tenant": "acme", "mailbox": SCAN, "protocols": ["smtp"], "delivery": "spool"}},
              spool={"dir": str(tmp_path / "spool"), "retry_schedule": ["1s", "2s"]})
    r.forbid_in_log("service account private key", pem.splitlines()[5])
    r.start()
    msg = google_message(SCAN, "spooled")
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=60) as s:
        s.starttls(context=tls_context(standin.ca))
        s.login("gscan", PASSWORD)
        s.mail(SCAN)
        s.rcpt("dest@example.com")
        code, text = s.data(msg)
        assert code == 250 and text.startswith(b"2.0.0 Queued as"), text
    assert poll(lambda: [m["data"] for m in standin.messages() if m["mailbox"] == SCAN] == [msg], 20), \
        r.redacted_tail()

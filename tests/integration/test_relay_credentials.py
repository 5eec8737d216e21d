"""End-to-end: the other ways in and out — a certificate credential towards
Entra ID instead of a secret, and UTF-8 passwords from devices."""
import base64
import smtplib
import subprocess

import pytest

from relay_helpers import PASSWORD, USER, make_message, raw_session, tls_context


def test_certificate_credential_signs_an_assertion_the_token_endpoint_accepts(standin, relay):
    # Counted from before the start: the relay fetches the token at start.
    before = standin.stats()["token"]["issued"]
    r = relay(tenants={"contoso": {
        "client_secret_file": None,
        "certificate": {"cert_file": standin.client_cert, "key_file": standin.client_key}}})
    msg = make_message(size=2000, seed="cert")
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        s.login(USER, PASSWORD)
        s.mail("scanner@contoso.com")
        s.rcpt("dest@example.com")
        code, _ = s.data(msg)
    assert code == 250
    assert standin.stats()["token"]["issued"] - before == 1
    assert [m["data"] for m in standin.messages()] == [msg]


def test_wrong_certificate_is_explained_in_the_log(standin, relay, tmp_path):
    # A key/certificate pair the app registration does not know.
    key, crt = tmp_path / "other.key", tmp_path / "other.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=other",
                    "-days", "1", "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    r = relay(tenants={"contoso": {
        "client_secret_file": None,
        "certificate": {"cert_file": str(crt), "key_file": str(key)}}})
    with smtplib.SMTP("127.0.0.1", r.port("starttls"), timeout=30) as s:
        s.starttls(context=tls_context(standin.ca))
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            s.login(USER, PASSWORD)
        assert err.value.smtp_code == 454
    assert "event=token_failed" in r.log_text()
    assert "AADSTS700027" in r.log_text()


def test_utf8_password_with_auth_plain(standin, relay):
    password = "pässwörd ünïcode €"
    r = relay(users={"printer7": {"password": password}})
    with raw_session(r.port("starttls")) as conn:
        assert conn.read_reply().startswith(b"220")
        conn.cmd(b"EHLO device")
        assert conn.cmd(b"STARTTLS").startswith(b"220")
        conn.start_tls(standin.ca)
        conn.cmd(b"EHLO device")
        creds = base64.b64encode(b"\0printer7\0" + password.encode("utf-8"))
        assert conn.cmd(b"AUTH PLAIN " + creds).startswith(b"235")
        conn.cmd(b"QUIT")

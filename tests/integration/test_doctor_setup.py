"""`xoauth2-relay doctor` on the set-up mistakes of issue 15: fixes that name
the secret's file, the client ID and the tenant; certificate failures towards
the authority or Exchange pointing at `ca_file` and a TLS-inspecting proxy; a
404 from the token endpoint showing the URL tried; `--mailbox` outside the
configuration; and the IMAP login Exchange accepts without FullAccess, caught
by EXAMINE INBOX (the stand-in's knob imap_full_access_at_select)."""
import contextlib
import imaplib
import os
import socket
import ssl
import sys
import tempfile
import threading
import uuid

import pytest

from conftest import CLIENT_ID, TENANT_ID
from relay_helpers import USER, tls_context
from test_doctor import ALL, doctor, doctor_relay, row

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "standin"))
import pki  # noqa: E402

# The stand-in's service principal object ID for the app (the token's oid).
SP_OBJECT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{TENANT_ID}/{CLIENT_ID}"))


# --- a TLS-inspecting proxy: TLS servers with a certificate from a CA the relay does not trust ---

class TlsServer:
    """Accepts on 127.0.0.1 and runs a TLS handshake with `cert`/`key`, after
    `before` (a plaintext SMTP dialogue up to STARTTLS) when given; `answer`
    (bytes) is sent once the handshake succeeded. Counts handshakes tried."""

    def __init__(self, cert_file, key_file, before=None, answer=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert_file, key_file)
        self.before, self.answer = before, answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.closed = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        with contextlib.suppress(OSError, ssl.SSLError), conn:
            conn.settimeout(20)
            if self.before:
                self.before(conn)
            self.handshakes += 1
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                if self.answer:
                    tls.sendall(self.answer)
                    tls.recv(65536)

    def close(self):
        self.closed = True
        self.sock.close()


def smtp_until_starttls(conn):
    """Exchange's plaintext part: greeting, EHLO offering STARTTLS, then 220."""
    f = conn.makefile("rb")
    conn.sendall(b"220 proxy.example Microsoft ESMTP MAIL Service ready\r\n")
    while True:
        line = f.readline()
        if not line:
            raise OSError("closed")
        verb = line.split(b" ")[0].upper().strip()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250-proxy.example Hello\r\n250-SIZE 37748736\r\n250 STARTTLS\r\n")
        elif verb == b"STARTTLS":
            conn.sendall(b"220 2.0.0 SMTP server ready\r\n")
            return
        else:
            conn.sendall(b"503 5.5.1 Bad sequence\r\n")


@pytest.fixture
def inspecting_proxy():
    """Servers presenting a certificate from an "inspection" CA the relay does
    not trust: what a TLS-inspecting proxy does to the relay's connections."""
    with tempfile.TemporaryDirectory() as d:
        ca, ca_key = pki.make_ca("Corporate TLS inspection CA")
        cert, key = pki.issue(ca, ca_key, "127.0.0.1", dns=["localhost"], ips=["127.0.0.1"])
        cert_file, key_file = os.path.join(d, "proxy.crt"), os.path.join(d, "proxy.key")
        pki.write_public(cert_file, pki.cert_pem(cert))
        pki.write_private(key_file, pki.key_pem(key))
        servers = {"https": TlsServer(cert_file, key_file), "implicit": TlsServer(cert_file, key_file),
                   "smtp": TlsServer(cert_file, key_file, before=smtp_until_starttls)}
        yield servers
        for s in servers.values():
            s.close()


def assert_points_at_ca_file(fix_text, peer):
    assert peer in fix_text, fix_text
    assert "tenants.contoso.ca_file" in fix_text and "TLS-inspecting proxy" in fix_text
    assert "DNS" not in fix_text and "firewall" not in fix_text


def fixes(text):
    """The numbered fix lines."""
    return [line for line in text.split("How to fix:\n", 1)[-1].splitlines() if line.startswith("  ")]


# --- the tests ------------------------------------------------------------------------------------

def test_wrong_secret_fix_names_the_file_the_client_id_and_the_tenant(standin, relay):
    r = doctor_relay(relay, standin, client_secret="not-the-secret")
    code, text = doctor(r, standin)
    assert code == 1
    assert "FAIL: AADSTS7000215" in row(text, "token")
    secret_file = os.path.join(r.dir, "contoso.secret")
    assert (f"the client secret in {secret_file} is not valid for client ID {CLIENT_ID} in tenant contoso "
            f"({TENANT_ID}): create a new secret in Entra admin center > App registrations > application (client) "
            f"ID {CLIENT_ID} > Certificates & secrets and put its Value (not the Secret ID) into that file") in text
    assert "not-the-secret" not in text


def test_authority_certificate_not_trusted_points_at_ca_file(standin, relay, inspecting_proxy):
    proxy = inspecting_proxy["https"]
    r = doctor_relay(relay, standin, tenants={"contoso": {"authority": f"https://127.0.0.1:{proxy.port}"}})
    code, text = doctor(r, standin)
    assert code == 1
    assert "FAIL: token endpoint unreachable" in row(text, "token") and "certificate" in row(text, "token")
    [fix] = fixes(text)
    assert_points_at_ca_file(fix, f"the token endpoint https://127.0.0.1:{proxy.port}")
    assert f"tenants.contoso.ca_file is now {standin.ca}" in fix
    assert proxy.handshakes >= 1  # it did get there: not a DNS or firewall problem


def test_exchange_certificate_not_trusted_points_at_ca_file(standin, relay, inspecting_proxy):
    smtp, implicit = inspecting_proxy["smtp"], inspecting_proxy["implicit"]
    r = doctor_relay(relay, standin, tenants={"contoso": {
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "tls": "starttls"},
        "imap": {"host": "127.0.0.1", "port": implicit.port, "tls": "implicit"},
        "pop3": {"host": "127.0.0.1", "port": implicit.port, "tls": "implicit"}}})
    code, text = doctor(r, standin)
    assert code == 1
    assert "ok, valid for" in row(text, "token")
    for p in ALL:
        assert "FAIL" in row(text, "login", p) and "certificate" in row(text, "login", p)
    found = fixes(text)
    assert len(found) == 3
    assert_points_at_ca_file(next(f for f in found if "(smtp)" in f), f"127.0.0.1:{smtp.port}")
    for p in ("imap", "pop3"):
        assert_points_at_ca_file(next(f for f in found if f"({p})" in f), f"127.0.0.1:{implicit.port}")
    assert smtp.handshakes >= 1 and implicit.handshakes >= 2


def test_authority_with_a_path_is_refused_with_the_bare_origin(standin, relay):
    # The tenant ID in the authority's path makes the token URL 404. The
    # configuration loader refuses it before any request (check-config and run
    # do too); doctor's own 404 fix says the same should one get through.
    authority = f"{standin.authority}/{TENANT_ID}"
    r = doctor_relay(relay, standin, tenants={"contoso": {"authority": authority}})
    code, text = doctor(r, standin)
    assert code != 0
    assert "tenants.contoso.authority" in text and f"authority: {standin.authority}\n" in text
    assert standin.stats()["token"]["requests"] == 0


def test_token_404_from_a_bare_origin_shows_the_url(standin, relay):
    # An HTTPS server the relay trusts (the stand-in's certificate) that is
    # not Entra ID: it answers 404 with an HTML page, as a web server would.
    page = b"<html><body>Not Found</body></html>"
    answer = (b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: "
              + str(len(page)).encode() + b"\r\n\r\n" + page)
    server = TlsServer(standin.server_cert, standin.server_key, answer=answer)
    try:
        origin = f"https://127.0.0.1:{server.port}"
        r = doctor_relay(relay, standin, tenants={"contoso": {"authority": origin}})
        code, text = doctor(r, standin)
    finally:
        server.close()
    assert code == 1
    tried = f"{origin}/{TENANT_ID}/oauth2/v2.0/token"
    assert f"(URL tried: {tried})" in row(text, "token")
    assert f"there is no token endpoint at {tried}: check tenants.contoso.authority" in text


def test_mailbox_outside_the_config_is_an_error(standin, relay):
    r = doctor_relay(relay, standin, users={USER: {"protocols": ["imap"]},
                                            "mfp": {"mailbox": "mfp@contoso.com", "protocols": ["smtp"]}})
    code, text = doctor(r, standin, "--mailbox", "typo@contoso.com")
    assert code == 1, text
    assert text.strip() == ("mailbox typo@contoso.com is in no user or no_auth rule of the configuration; it maps "
                            "mailboxes: mfp@contoso.com, scanner@contoso.com")
    assert standin.stats()["token"]["requests"] == 0  # nothing was tried
    code, text = doctor(r, standin, "--mailbox", "scanner@contoso.com")
    assert code == 0, text


def test_mailbox_filter_when_the_config_maps_none(standin, relay):
    r = doctor_relay(relay, standin, users={USER: None})
    code, text = doctor(r, standin, "--mailbox", "scanner@contoso.com")
    assert code == 1
    assert text.strip() == ("mailbox scanner@contoso.com is in no user or no_auth rule of the configuration; the "
                            "configuration maps no mailboxes")


def test_imap_login_without_full_access_is_caught_by_examine(standin, relay):
    standin.knobs(imap_full_access_at_select=True)
    r = doctor_relay(relay, standin, users={USER: {"protocols": ["imap"], "mailbox": "someone@contoso.com",
                                                   "senders": ["someone@contoso.com"]}})
    code, text = doctor(r, standin)
    assert code == 1, text
    assert row(text, "login", "imap").endswith(" ok")  # Exchange let it log in...
    examine = row(text, "examine INBOX", "imap")
    assert "FAIL: BAD User is authenticated but not connected." in examine  # ...but not into the mailbox
    [fix] = fixes(text)
    assert (f"Add-MailboxPermission -Identity someone@contoso.com -User {SP_OBJECT_ID} -AccessRights FullAccess"
            in fix)
    assert "the app registration's Object ID differs" in fix
    assert f"New-ServicePrincipal -AppId {CLIENT_ID} -ObjectId {SP_OBJECT_ID}" in fix
    assert standin.stats()["imap"]["auth_ok"] == 1


def test_imap_examine_passes_with_full_access(standin, relay):
    standin.knobs(imap_full_access_at_select=True)
    r = doctor_relay(relay, standin, users={USER: {"protocols": ["imap"]}})
    code, text = doctor(r, standin)
    assert code == 0, text
    assert row(text, "examine INBOX", "imap").endswith(" ok")


def test_standin_knob_answers_like_exchange(standin):
    """The knob itself, with imaplib: login accepted for a mailbox without
    FullAccess, SELECT/EXAMINE refused; a mailbox with access opens."""
    token = standin.token()

    def login(mailbox):
        m = imaplib.IMAP4_SSL("127.0.0.1", standin.imap_port, ssl_context=tls_context(standin.ca), timeout=30)
        m.authenticate("XOAUTH2", lambda _: f"user={mailbox}\x01auth=Bearer {token}\x01\x01".encode())
        return m

    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATE failed"):
        login("someone@contoso.com")  # knob off: refused at login, as before
    standin.knobs(imap_full_access_at_select=True)
    m = login("someone@contoso.com")
    for command in (lambda: m.select("INBOX", readonly=True), lambda: m.select("INBOX")):
        with pytest.raises(imaplib.IMAP4.error, match="User is authenticated but not connected"):
            command()
    m.logout()
    m = login("scanner@contoso.com")
    assert m.select("INBOX", readonly=True)[0] == "OK"
    m.logout()

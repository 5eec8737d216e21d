"""`xoauth2-relay doctor` against the stand-in's failure knobs: each broken
step of the Entra/Exchange set-up is reported with the right fix, with the
tenant's own IDs, and the exit status is 0 only when everything passes."""
import subprocess
import uuid

from conftest import CLIENT_ID, NOROLE_CLIENT_ID, TENANT_ID
from relay_helpers import USER

ALL = ["smtp", "imap", "pop3"]


def doctor_relay(relay, standin, users=None, tenants=None, **kw):
    endpoints = {"contoso": {
        "imap": {"host": "127.0.0.1", "port": standin.imap_port, "tls": "implicit"},
        "pop3": {"host": "127.0.0.1", "port": standin.pop3_port, "tls": "implicit"}}}
    for name, t in (tenants or {}).items():
        endpoints[name] = {**endpoints.get(name, {}), **t}
    listeners = [{"tls": "none"}, {"name": "imap", "protocol": "imap", "tls": "none"},
                 {"name": "pop3", "protocol": "pop3", "tls": "none"}]
    return relay(listeners=listeners, users=users or {USER: {"protocols": ALL}}, tenants=endpoints, start=False, **kw)


def doctor(r, standin, *args):
    out = subprocess.run([r.bin, "doctor", "--config", r.config_path, *args], capture_output=True, timeout=120)
    text = out.stdout.decode() + out.stderr.decode()
    assert standin.secret not in text and "eyJ" not in text  # never a secret or a token
    return out.returncode, text


def row(text, check, protocol="-"):
    """The table line of one check."""
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 4 and protocol in cols[2:3] and line.find(check) > 0 and cols[0] == "contoso":
            if " ".join(cols[3:]).startswith(check):
                return line
    raise AssertionError(f"no row for {check}/{protocol} in:\n{text}")


def test_a_healthy_setup_passes_every_check(standin, relay):
    r = doctor_relay(relay, standin, tenants={"contoso": {"client_secret_expires": "2099-12-31"}},
                     users={USER: {"protocols": ALL, "senders": ["scanner@contoso.com"]},
                                            "mfp": {"mailbox": "mfp@contoso.com",
                                                    "senders": ["mfp@contoso.com", "alerts@contoso.com",
                                                                "*@contoso.com"]}})
    code, text = doctor(r, standin)
    assert code == 0, text
    assert "ok, valid for" in row(text, "token")
    assert "ok, client secret expires on 2099-12-31" in row(text, "credential")
    assert "SMTP.SendAsApp" in row(text, "roles") and "POP.AccessAsApp" in row(text, "roles")
    for p in ALL:
        assert row(text, "login", p).endswith(" ok")
    assert row(text, "examine INBOX", "imap").endswith(" ok")  # FullAccess: it opens the mailbox
    assert row(text, "send as alerts@contoso.com", "smtp").endswith(" ok")
    assert "*@contoso.com" not in text  # wildcards are not addresses to try
    assert text.endswith("checks passed.\n")
    # It logged in and out: nothing was sent, no session is left open.
    assert standin.messages() == []
    stats = standin.stats()
    assert stats["smtp"]["auth_ok"] == 2 and stats["imap"]["auth_ok"] == 1 and stats["pop3"]["auth_ok"] == 1


def test_wrong_secret(standin, relay):
    r = doctor_relay(relay, standin, client_secret="not-the-secret")
    code, text = doctor(r, standin)
    assert code == 1
    assert "FAIL: AADSTS7000215" in row(text, "token")
    assert "put its Value (not the Secret ID) into that file" in text
    assert "not tried: no token for this tenant" in row(text, "login", "smtp")
    assert "not-the-secret" not in text


def test_expired_secret(standin, relay):
    standin.knobs(secret_expired=True)
    r = doctor_relay(relay, standin, tenants={"contoso": {"client_secret_expires": "2026-01-31"}})
    code, text = doctor(r, standin)
    assert code == 1
    assert "FAIL: client secret expired on 2026-01-31" in row(text, "credential")
    assert "FAIL: AADSTS7000222" in row(text, "token")
    assert f"create a new client secret in Entra admin center > App registrations > application (client) ID {CLIENT_ID}" in text


def test_missing_role(standin, relay):
    r = doctor_relay(relay, standin, tenants={"contoso": {"client_id": NOROLE_CLIENT_ID}})
    code, text = doctor(r, standin)
    assert code == 1
    roles = row(text, "roles")
    assert "FAIL: missing SMTP.SendAsApp, IMAP.AccessAsApp, POP.AccessAsApp (the token has: no roles)" in roles
    assert (f"Entra admin center > App registrations > {NOROLE_CLIENT_ID} > API permissions > Add a permission > "
            "APIs my organization uses > Office 365 Exchange Online > Application permissions: SMTP.SendAsApp, "
            f"IMAP.AccessAsApp, POP.AccessAsApp; then Grant admin consent for tenant {TENANT_ID}") in text
    assert "FAIL: 535 5.7.3" in row(text, "login", "smtp")
    assert "the token lacks SMTP.SendAsApp; see the roles fix above" in text
    assert "the token lacks IMAP.AccessAsApp" in text


def test_mailbox_permission_missing(standin, relay):
    r = doctor_relay(relay, standin, users={USER: {"protocols": ALL, "mailbox": "someone@contoso.com",
                                                   "senders": ["someone@contoso.com"]}})
    code, text = doctor(r, standin)
    assert code == 1
    assert row(text, "roles").split()[-1] != "FAIL"
    for p in ALL:
        assert "FAIL" in row(text, "login", p)
    # -User and -ObjectId take the service principal's object ID (the token's
    # oid, the Enterprise application's Object ID), not the client ID.
    oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{TENANT_ID}/{CLIENT_ID}"))
    assert f"Add-MailboxPermission -Identity someone@contoso.com -User {oid} -AccessRights FullAccess" in text
    assert f"New-ServicePrincipal -AppId {CLIENT_ID} -ObjectId {oid}" in text
    assert f"-User {CLIENT_ID}" not in text


def test_smtp_auth_disabled(standin, relay):
    standin.knobs(smtp_auth_disabled=True)
    r = doctor_relay(relay, standin)
    code, text = doctor(r, standin)
    assert code == 1
    assert "FAIL: 535 5.7.139" in row(text, "login", "smtp")
    assert row(text, "login", "imap").endswith(" ok")
    assert "Set-CASMailbox -Identity scanner@contoso.com -SmtpClientAuthenticationDisabled $false" in text


def test_send_as_refused(standin, relay):
    r = doctor_relay(relay, standin, users={USER: {"protocols": ["smtp"],
                                                   "senders": ["scanner@contoso.com", "ceo@contoso.com"]}})
    code, text = doctor(r, standin)
    assert code == 1
    assert row(text, "send as scanner@contoso.com", "smtp").endswith(" ok")
    assert "FAIL: 550 5.7.60" in row(text, "send as ceo@contoso.com", "smtp")
    oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{TENANT_ID}/{CLIENT_ID}"))  # the token's service principal
    assert f"Add-RecipientPermission -Identity ceo@contoso.com -Trustee {oid} -AccessRights SendAs" in text
    assert standin.messages() == []


def test_filters_and_unknown_tenant(standin, relay):
    r = doctor_relay(relay, standin, users={USER: {"protocols": ["imap"]},
                                            "mfp": {"mailbox": "mfp@contoso.com", "protocols": ["smtp"]}})
    code, text = doctor(r, standin, "--mailbox", "MFP@contoso.com")
    assert code == 0, text
    assert "mfp@contoso.com" in text and "scanner@contoso.com" not in text
    code, text = doctor(r, standin, "--tenant", "nope")
    assert code == 1 and "no tenant named nope" in text

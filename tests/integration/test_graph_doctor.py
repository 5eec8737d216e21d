"""`xoauth2-relay doctor` for a tenant that sends through Microsoft Graph
(smtp: {via: graph}), against the stand-in's Graph endpoint: the Graph token
and its Mail.Send role, a dry check per mailbox (GET /v1.0/users/{mailbox}:
nothing is sent), and fixes naming RBAC for Applications with the tenant's
own IDs. No SMTP login is tried for such a tenant (its SMTP AUTH may be off)."""
import subprocess

from conftest import CLIENT_ID, NOROLE_CLIENT_ID, RBAC_CLIENT_ID, TENANT_ID, free_port
from relay_helpers import USER


def graph_relay(relay, standin, client_id=CLIENT_ID, endpoint=None, users=None):
    tenant = {"client_id": client_id, "smtp": {"via": "graph"},
              "graph": {"endpoint": endpoint or standin.graph_endpoint}}
    return relay(listeners=[{"tls": "none"}], users=users, tenants={"contoso": tenant}, start=False)


def doctor(r, standin):
    out = subprocess.run([r.bin, "doctor", "--config", r.config_path], capture_output=True, timeout=120)
    text = out.stdout.decode() + out.stderr.decode()
    assert standin.secret not in text and "eyJ" not in text  # never a secret or a token
    return out.returncode, text


def row(text, check, mailbox="-"):
    """The table line of one check."""
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[0] == "contoso" and cols[1] == mailbox and " ".join(cols[3:]).startswith(check):
            return line
    raise AssertionError(f"no row for {check}/{mailbox} in:\n{text}")


def no_message_sent(standin):
    assert standin.messages() == []
    stats = standin.graph_stats()
    assert stats["accepted"] == 0
    assert all(entry["method"] == "GET" for entry in stats["log"]), stats["log"]


def test_graph_tenant_with_mail_send_passes(standin, relay):
    r = graph_relay(relay, standin)
    code, text = doctor(r, standin)
    assert code == 0, text
    assert "ok, scope https://graph.microsoft.com/.default, valid for" in row(text, "graph token")
    assert "ok: Mail.Send" in row(text, "graph roles")
    assert row(text, "graph mailbox", "scanner@contoso.com").endswith(
        "ok, found by GET /v1.0/users/scanner@contoso.com")
    # No SMTP login (the tenant's SMTP AUTH may be off).
    assert " login " not in text and "send as" not in text
    assert standin.stats()["smtp"]["auth_ok"] == 0
    no_message_sent(standin)


def test_app_without_role_or_grant_gets_the_rbac_fix(standin, relay):
    r = graph_relay(relay, standin, client_id=NOROLE_CLIENT_ID)
    code, text = doctor(r, standin)
    assert code == 1, text
    # Not a failure by itself: RBAC for Applications puts no role in the token.
    # The Exchange token's row does not ask for SMTP.SendAsApp: SMTP goes through Graph.
    assert row(text, "roles").endswith("ok: none needed")
    roles = row(text, "graph roles")
    assert "FAIL" not in roles and "Mail.Send not in the token: fine with RBAC for Applications" in roles
    mailbox = row(text, "graph mailbox", "scanner@contoso.com")
    assert "FAIL: HTTP 403 ErrorAccessDenied" in mailbox
    assert f"New-ServicePrincipal -AppId {NOROLE_CLIENT_ID} -ObjectId " in text
    assert (f'New-ManagementRoleAssignment -App {NOROLE_CLIENT_ID} -Role "Application Mail.Send" '
            '-CustomResourceScope "xoauth2-relay mailboxes"') in text
    assert "-RecipientRestrictionFilter \"PrimarySmtpAddress -eq 'scanner@contoso.com'\"" in text
    assert f"Test-ServicePrincipalAuthorization -Identity {NOROLE_CLIENT_ID} -Resource scanner@contoso.com" in text
    assert f"Grant admin consent for tenant {TENANT_ID}" in text
    no_message_sent(standin)


def test_rbac_grant_passes_for_its_mailbox_only(standin, relay):
    r = graph_relay(relay, standin, client_id=RBAC_CLIENT_ID,
                    users={"mfp": {"mailbox": "other@contoso.com"}})
    code, text = doctor(r, standin)
    assert code == 1, text
    assert "Mail.Send not in the token" in row(text, "graph roles")
    assert row(text, "graph mailbox", "scanner@contoso.com").endswith("ok, found by GET /v1.0/users/scanner@contoso.com")
    other = row(text, "graph mailbox", "other@contoso.com")
    assert "FAIL: HTTP 403" in other
    assert f"Test-ServicePrincipalAuthorization -Identity {RBAC_CLIENT_ID} -Resource other@contoso.com" in text
    assert "Test-ServicePrincipalAuthorization -Identity {} -Resource scanner@contoso.com".format(RBAC_CLIENT_ID) \
        not in text  # only the failing mailbox gets a fix


def test_unknown_mailbox(standin, relay):
    r = graph_relay(relay, standin, users={USER: {"mailbox": "nobody@contoso.com"}})
    code, text = doctor(r, standin)
    assert code == 1, text
    assert "FAIL: HTTP 404" in row(text, "graph mailbox", "nobody@contoso.com")
    assert f"Microsoft Graph knows no mailbox nobody@contoso.com in tenant {TENANT_ID}" in text


def test_unreachable_graph_endpoint(standin, relay):
    endpoint = f"https://127.0.0.1:{free_port()}"
    r = graph_relay(relay, standin, endpoint=endpoint)
    code, text = doctor(r, standin)
    assert code == 1, text
    assert "ok" in row(text, "graph token")  # the token endpoint is elsewhere
    assert "FAIL: no answer from Microsoft Graph" in row(text, "graph mailbox", "scanner@contoso.com")
    assert f"the relay could not reach {endpoint}" in text


def test_directory_read_refused_is_not_conclusive_not_a_failure(standin, relay):
    """Real Graph answers GET /users with 403 Authorization_RequestDenied to an
    app that may not read the directory (Mail.Send alone, least privilege):
    that says nothing about the send right, so it is no failure."""
    standin.graph_faults({"status": 403, "code": "Authorization_RequestDenied", "path": "user",
                          "message": "Insufficient privileges to complete the operation."})
    r = graph_relay(relay, standin)
    code, text = doctor(r, standin)
    assert code == 0, text
    mailbox = row(text, "graph mailbox", "scanner@contoso.com")
    assert "FAIL" not in mailbox and "not conclusive: the app may not read users" in mailbox
    assert standin.graph_stats()["faults"] == 1


def test_graph_throttling_and_server_errors_say_try_again(standin, relay):
    standin.graph_faults({"status": 503, "retry_after": 5, "path": "user"})
    r = graph_relay(relay, standin)
    code, text = doctor(r, standin)
    assert code == 1, text
    assert "FAIL: HTTP 503" in row(text, "graph mailbox", "scanner@contoso.com")
    assert "retry_after=5s" in text
    assert "Microsoft Graph is throttling or failing for now (HTTP 503); run doctor again later" in text

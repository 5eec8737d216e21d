"""Issue 15: a tenant's token is fetched at start and after a reload that
changed its credential, so a wrong secret shows in the log (token_failed with
its fix), in /readyz (503 naming the tenant) and in systemd's STATUS= within
seconds, without any device logging in; failed fetches are retried with a
backoff and readiness follows."""
import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from relay_helpers import make_message, wait_for_log
from test_relay_operations import admin_relay, http_get, metric
from test_relay_smtp import send

WRONG = "not-the-secret-value"
FIX_HINT = "Value (not the Secret ID)"  # part of AADSTS7000215's fix


def wait_until(what, predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def readyz(r):
    return http_get(r, "/readyz")


def token_requests(standin):
    return standin.stats()["token"]["requests"]


def log_lines(r, event):
    return [l for l in r.log_text().splitlines() if f"event={event} " in l + " "]


def test_wrong_secret_shows_token_failed_with_its_fix_at_start_without_any_device(standin, relay):
    r = admin_relay(relay, client_secret=WRONG)
    assert wait_for_log(r, "event=token_failed", timeout=10), r.redacted_tail()
    [line] = log_lines(r, "token_failed")[:1]
    assert " error event=token_failed tenant=contoso " in line, line  # level error: no token
    assert 'error="AADSTS7000215 invalid client secret"' in line, line
    assert FIX_HINT in line and "contoso.secret" in line, line  # the fix names the file
    assert "retry=yes" in line and re.search(r"next_try_s=[56]\b", line), line  # 5 s ±10 %
    # Nothing reached Exchange: no device logged in, the token was fetched on its own.
    assert standin.stats()["smtp"]["connections"] == 0
    status, body = readyz(r)
    assert status == 503, body
    assert "not ready: tenant contoso has no token: AADSTS7000215 invalid client secret; fix: " in body, body
    assert FIX_HINT in body and "next try in" in body, body
    _, text = http_get(r, "/metrics")
    assert metric(text, "xoauth2_relay_token_requests_total", tenant="contoso", outcome="error") >= 1
    r.forbid_in_log("the wrong secret", WRONG)


def test_good_secret_shows_token_ok_and_readyz_200_and_the_first_login_uses_that_token(standin, relay):
    r = admin_relay(relay)
    assert wait_for_log(r, "event=token_ok", timeout=10), r.redacted_tail()
    [line] = log_lines(r, "token_ok")
    assert "tenant=contoso" in line and re.search(r"lifetime_s=3\d{3}\b", line), line
    assert "fetching_tokens=contoso" in log_lines(r, "ready")[0]
    wait_until("readyz 200", lambda: readyz(r) == (200, "ready\n"))
    assert token_requests(standin) == 1
    assert send(r, "starttls", make_message(300, "first"), ca=standin.ca)[0] == 250
    assert token_requests(standin) == 1  # the device used the token fetched at start
    assert len(log_lines(r, "token_ok")) == 1


def test_readyz_says_fetching_while_the_first_request_is_under_way(standin, relay):
    standin.knobs(token_delay=5)  # long enough to ask during it, even on a slow build
    r = admin_relay(relay)
    status, body = readyz(r)
    assert (status, body) == (503, "not ready: fetching a token for tenant contoso\n")
    assert wait_for_log(r, "event=token_ok", timeout=15), r.redacted_tail()
    wait_until("readyz 200", lambda: readyz(r) == (200, "ready\n"))


def test_reload_that_fixes_the_secret_fetches_at_once_and_readyz_turns_200(standin, relay):
    r = admin_relay(relay, client_secret=WRONG)
    r.forbid_in_log("the wrong secret", WRONG)
    assert wait_for_log(r, "event=token_failed", timeout=10), r.redacted_tail()
    assert readyz(r)[0] == 503
    with open(os.path.join(r.dir, "contoso.secret"), "w") as f:
        f.write(standin.secret + "\n")
    r.reload()
    assert wait_for_log(r, "event=reloaded"), r.redacted_tail()
    assert "fetching_tokens=contoso" in log_lines(r, "reloaded")[0]
    # Fetched by the reload itself (the next background retry is seconds away).
    assert wait_for_log(r, "event=token_ok", timeout=4), r.redacted_tail()
    wait_until("readyz 200", lambda: readyz(r) == (200, "ready\n"), timeout=5)
    assert standin.stats()["smtp"]["connections"] == 0


def test_reload_that_changes_nothing_does_not_fetch_again(standin, relay):
    r = admin_relay(relay)
    assert wait_for_log(r, "event=token_ok", timeout=10), r.redacted_tail()
    before = token_requests(standin)
    r.write_config(r.config)  # the same file again
    r.reload()
    assert wait_for_log(r, "event=reloaded"), r.redacted_tail()
    assert "fetching_tokens=-" in log_lines(r, "reloaded")[0]
    assert send(r, "starttls", make_message(300, "same"), ca=standin.ca)[0] == 250
    assert token_requests(standin) == before
    assert len(log_lines(r, "token_ok")) == 1
    assert readyz(r) == (200, "ready\n")


def test_reload_that_replaces_the_certificate_file_fetches_again(standin, relay, tmp_path):
    crt, key = tmp_path / "app.crt", tmp_path / "app.key"
    shutil.copy(standin.client_cert, crt)
    shutil.copy(standin.client_key, key)
    r = admin_relay(relay, tenants={"contoso": {
        "client_secret_file": None, "certificate": {"cert_file": str(crt), "key_file": str(key)}}})
    assert wait_for_log(r, "event=token_ok", timeout=10), r.redacted_tail()
    # Same paths, other contents (a rotation to a certificate the app
    # registration does not know yet): the new pair is tried at once.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=other",
                    "-days", "1", "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    r.reload()
    assert wait_for_log(r, "event=reloaded"), r.redacted_tail()
    assert "fetching_tokens=contoso" in log_lines(r, "reloaded")[0]
    assert wait_for_log(r, "AADSTS700027", timeout=10), r.redacted_tail()
    status, body = readyz(r)
    assert status == 503 and "tenant contoso has no token: AADSTS700027" in body, body


def test_a_failed_fetch_is_retried_with_backoff_and_readyz_follows(standin, relay):
    # Entra says the secret expired (permanent: no quick retries); it is then
    # renewed on Entra's side without touching the relay.
    standin.knobs(secret_expired=True)
    r = admin_relay(relay)
    assert wait_for_log(r, "AADSTS7000222", timeout=10), r.redacted_tail()
    assert readyz(r)[0] == 503
    first = token_requests(standin)
    assert first == 1  # a permanent error: one request, then the background backoff
    standin.knobs(secret_expired=False)
    # No device asks: the background retry (about 5 s later) gets the token.
    wait_until("readyz 200", lambda: readyz(r) == (200, "ready\n"), timeout=20)
    assert wait_for_log(r, "event=token_ok", timeout=1)
    assert token_requests(standin) == 2
    assert standin.stats()["smtp"]["connections"] == 0


# --- systemd's STATUS= -------------------------------------------------------------------------

@contextlib.contextmanager
def notify_socket(monkeypatch):
    """A unix datagram socket as systemd's NOTIFY_SOCKET for relays started in
    the block; yields a function returning the next message (a dict)."""
    d = tempfile.mkdtemp(prefix="xr-notify-", dir="/tmp")  # sun_path is short
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)

    def next_message(timeout=15):
        sock.settimeout(timeout)
        data = sock.recv(65536).decode()
        return dict(line.split("=", 1) for line in data.splitlines() if "=" in line)

    try:
        yield next_message
    finally:
        monkeypatch.delenv("NOTIFY_SOCKET")
        sock.close()
        shutil.rmtree(d, ignore_errors=True)


def statuses_until(next_message, wanted, timeout=20):
    """STATUS= values received until one equals `wanted` (which is last)."""
    seen = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] != wanted:
        left = deadline - time.monotonic()
        assert left > 0, f"no STATUS={wanted!r}; got {seen}"
        msg = next_message(timeout=left)
        if "STATUS" in msg:
            seen.append(msg["STATUS"])
    return seen


def test_status_line_names_the_tenant_without_a_token_and_follows_a_reload(standin, relay, monkeypatch):
    with notify_socket(monkeypatch) as next_message:
        r = relay(client_secret=WRONG)
        r.forbid_in_log("the wrong secret", WRONG)
        first = next_message()
        assert first.get("READY") == "1", first
        assert first["STATUS"] in ("ready; fetching a token for tenant contoso",
                                   "ready; tenant contoso has no token (AADSTS7000215 invalid client secret)"), first
        statuses_until(next_message, "ready; tenant contoso has no token (AADSTS7000215 invalid client secret)")
        with open(os.path.join(r.dir, "contoso.secret"), "w") as f:
            f.write(standin.secret + "\n")
        r.reload()
        statuses_until(next_message, "ready; tenant contoso has a token")
        r.stop()
        while True:
            msg = next_message()
            if "STOPPING" in msg:
                break
        assert msg["STATUS"].startswith("stopping")


def test_status_line_counts_tenants(standin, relay, monkeypatch):
    with notify_socket(monkeypatch) as next_message:
        r = relay(start=False, tenants={"fabrikam": {
            "tenant_id": standin.tenant_id, "client_id": standin.client_id,
            "client_secret_file": "fabrikam.secret", "authority": standin.authority, "ca_file": standin.ca}})
        fd = os.open(os.path.join(r.dir, "fabrikam.secret"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(WRONG + "\n")
        r.forbid_in_log("the wrong secret", WRONG)
        r.start()
        statuses_until(next_message, "ready; tenant fabrikam has no token (AADSTS7000215 invalid client secret); "
                                     "1 of 2 tenants have tokens")
        with open(os.path.join(r.dir, "fabrikam.secret"), "w") as f:
            f.write(standin.secret + "\n")
        r.reload()
        statuses_until(next_message, "ready; all 2 tenants have tokens")

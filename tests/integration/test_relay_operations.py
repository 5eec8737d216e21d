"""End-to-end operations: the admin endpoint (/metrics checked by Prometheus'
own promtool, /healthz, /readyz), live reload (listeners, secrets, bad
configs), SIGTERM draining, and credential-expiry warnings."""
import base64
import datetime
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import free_port
from mailbox_relay import mailbox_relay
from relay_helpers import PASSWORD, USER, make_message, raw_lines, raw_session, wait_for_log
from test_relay_smtp import send


def admin_relay(relay, **kw):
    port = free_port()
    r = relay(admin={"listen": f"127.0.0.1:{port}"}, **kw)
    r.admin_port = port
    return r


def http_get(r, path):
    """(status, body) of GET http://admin/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{r.admin_port}{path}", timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text, name, **labels):
    """The value of one series in a /metrics exposition (0 if absent)."""
    for line in text.splitlines():
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return 0.0


def promtool_check(text):
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/install-deps.sh installs the prometheus package"
    out = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()


def test_metrics_count_what_happened_and_pass_promtool(standin, relay):
    r = admin_relay(relay)
    # The fixture's readiness probes were sessions too: count from here.
    deadline = time.monotonic() + 10
    while r.log_text().count("event=session_end") < len(r.ports) and time.monotonic() < deadline:
        time.sleep(0.05)
    _, before = http_get(r, "/metrics")
    assert send(r, "starttls", make_message(2000, "m1"), ca=standin.ca)[0] == 250
    with pytest.raises(smtplib.SMTPAuthenticationError):
        send(r, "plain", b"x", password="wrong password")
    r.forbid_in_log("the wrong password", "wrong password")
    assert wait_for_log(r, "result=auth_failed") or wait_for_log(r, "event=session_end", timeout=5)
    time.sleep(0.3)  # the second session's end is counted just after its reply
    status, text = http_get(r, "/metrics")
    assert status == 200
    promtool_check(text)
    starttls = f"smtp:127.0.0.1:{r.port('starttls')}"
    plain = f"smtp:127.0.0.1:{r.port('plain')}"
    for listener in (starttls, plain):
        assert metric(text, "xoauth2_relay_sessions_total", protocol="smtp", listener=listener) == \
            metric(before, "xoauth2_relay_sessions_total", protocol="smtp", listener=listener) + 1
    assert metric(text, "xoauth2_relay_sessions_active", protocol="smtp", listener=starttls) == 0
    assert metric(text, "xoauth2_relay_logins_total", protocol="smtp", outcome="ok") == 1
    assert metric(text, "xoauth2_relay_logins_total", protocol="smtp", outcome="denied") >= 1
    assert metric(text, "xoauth2_relay_upstream_logins_total", protocol="smtp", outcome="ok") == 1
    assert metric(text, "xoauth2_relay_messages_total", outcome="accepted") == 1
    assert metric(text, "xoauth2_relay_bytes_total", protocol="smtp", direction="device_to_office365") > 2000
    assert metric(text, "xoauth2_relay_token_requests_total", tenant="contoso", outcome="ok") == \
        standin.stats()["token"]["requests"] == 1
    assert 3000 < metric(text, "xoauth2_relay_token_expiry_seconds", tenant="contoso") <= 3600
    assert metric(text, "xoauth2_relay_build_info") == 1
    assert http_get(r, "/healthz") == (200, "ok\n")
    assert http_get(r, "/readyz") == (200, "ready\n")
    assert http_get(r, "/nope")[0] == 404


def test_readyz_fails_while_the_tenant_has_no_token(standin, relay):
    r = admin_relay(relay, client_secret="not-the-secret")
    r.forbid_in_log("the wrong secret", "not-the-secret")
    # The token is fetched at start (issue 15): not ready before any device came.
    assert wait_for_log(r, "event=token_failed")
    status, body = http_get(r, "/readyz")
    assert status == 503
    assert "not ready: tenant contoso has no token: AADSTS7000215" in body
    with pytest.raises(smtplib.SMTPException):
        send(r, "plain", b"x")
    _, text = http_get(r, "/metrics")
    assert metric(text, "xoauth2_relay_token_requests_total", tenant="contoso", outcome="error") >= 1
    assert metric(text, "xoauth2_relay_upstream_logins_total", protocol="smtp", outcome="ok") == 0


def test_reload_opens_and_closes_listeners_and_sessions_in_progress_finish(standin, relay):
    r = admin_relay(relay)
    old_plain = r.port("plain")
    with smtplib.SMTP("127.0.0.1", old_plain, timeout=30) as s:
        s.ehlo("device.test")
        s.login(USER, PASSWORD)
        cfg = dict(r.config)
        new_port = free_port()
        cfg["listeners"] = [l for l in cfg["listeners"] if l["tls"] != "none"] + [
            {"protocol": "smtp", "listen": f"127.0.0.1:{new_port}", "tls": "none", "allow_plaintext_auth": True}]
        r.write_config(cfg)
        r.reload()
        assert wait_for_log(r, "event=reloaded")
        assert f"event=listener_closed listener=smtp:127.0.0.1:{old_plain}" in r.log_text()
        # The session that started before the reload is undisturbed.
        s.mail("scanner@contoso.com")
        s.rcpt("dest@example.com")
        assert s.data(make_message(500, "during-reload"))[0] == 250
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", old_plain), timeout=5).close()
    r.ports["plain"] = new_port
    assert send(r, "plain", make_message(500, "after-reload"))[0] == 250
    assert send(r, "starttls", make_message(500, "kept"), ca=standin.ca)[0] == 250
    assert len(standin.messages()) == 3
    _, text = http_get(r, "/metrics")
    assert metric(text, "xoauth2_relay_config_reloads_total", outcome="ok") == 1


def test_bad_reload_changes_nothing_and_names_the_line(standin, relay):
    r = admin_relay(relay)
    good = open(r.config_path).read()
    with open(r.config_path, "w") as f:
        f.write(good.replace("tenant_id:", "tenantid:", 1))
    r.reload()
    assert wait_for_log(r, "event=reload_failed")
    log = r.log_text()
    assert re.search(r"event=config_error error=\"" + re.escape(r.config_path) + r":\d+:\d+: "
                     r"tenants\.contoso\.tenantid: .*did you mean `tenant_id`", log), r.redacted_tail()
    assert "the running configuration is kept" in log
    for kind in ("starttls", "implicit", "plain"):
        assert send(r, kind, make_message(300, kind), ca=standin.ca)[0] == 250
    _, text = http_get(r, "/metrics")
    assert metric(text, "xoauth2_relay_config_reloads_total", outcome="failed") == 1


def test_reload_rereads_a_rotated_secret_and_keeps_tokens_of_unchanged_tenants(standin, relay):
    r = admin_relay(relay, client_secret="the-old-secret")
    r.forbid_in_log("the old secret", "the-old-secret")
    with pytest.raises(smtplib.SMTPException):
        send(r, "plain", b"x")
    with open(os.path.join(r.dir, "contoso.secret"), "w") as f:
        f.write(standin.secret + "\n")
    r.reload()
    assert wait_for_log(r, "event=reloaded")
    assert send(r, "plain", make_message(300, "rotated"))[0] == 250
    requests = standin.stats()["token"]["requests"]
    # A reload that changes nothing about the tenant keeps its token.
    r.reload()
    deadline = time.monotonic() + 10
    while r.log_text().count("event=reloaded") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert send(r, "plain", make_message(300, "same-token"))[0] == 250
    assert standin.stats()["token"]["requests"] == requests


def test_sigterm_lets_a_message_finish_then_says_421(standin, relay):
    r = relay(limits={"shutdown_grace": "10s"})
    with raw_session(r.port("plain")) as c:
        c.read_reply()
        c.cmd(b"EHLO device.test")
        assert c.cmd(b"AUTH PLAIN " + base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())).startswith(b"235")
        assert c.cmd(b"MAIL FROM:<scanner@contoso.com>").startswith(b"250")
        assert c.cmd(b"RCPT TO:<dest@example.com>").startswith(b"250")
        assert c.cmd(b"DATA").startswith(b"354")
        msg = make_message(20000, "draining")
        c.send(msg[:10000])
        r.proc.send_signal(signal.SIGTERM)
        assert wait_for_log(r, "event=shutdown")
        c.send(msg[10000:] + b".\r\n")
        assert c.read_reply().startswith(b"250")
        assert c.read_reply().startswith(b"421 4.3.2")
    assert r.proc.wait(15) == 0
    assert [m["data"] for m in standin.messages()] == [msg]


def test_sigterm_gives_relayed_imap_the_grace_period_then_bye(standin, relay):
    r = mailbox_relay(relay, standin, limits={"shutdown_grace": "2s"})
    with raw_lines(r.port("imaps"), standin.ca, implicit_tls=True) as c:
        c.line()
        c.send(f'a LOGIN {USER} "{PASSWORD}"\r\n'.encode())
        assert c.until_tagged(b"a")[-1].startswith(b"a OK")
        r.proc.send_signal(signal.SIGTERM)
        assert wait_for_log(r, "event=shutdown")
        c.send(b"b NOOP\r\n")  # still relayed during the grace period
        assert c.until_tagged(b"b")[-1].startswith(b"b OK")
        started = time.monotonic()
        assert c.line(timeout=10) == b"* BYE [UNAVAILABLE] Server shutting down\r\n"
        assert time.monotonic() - started < 5
    assert r.proc.wait(15) == 0
    assert "result=shutdown" in r.log_text()


@pytest.mark.parametrize("days,event,level", [(10, "credential_expiring", "warn"), (-3, "credential_expired", "error")])
def test_secret_expiry_is_warned_with_the_fix(standin, relay, days, event, level):
    date = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=days)).isoformat()
    r = admin_relay(relay, tenants={"contoso": {"client_secret_expires": date}})
    assert wait_for_log(r, f"event={event}")
    line = next(l for l in r.log_text().splitlines() if f"event={event}" in l)
    assert f" {level} " in line
    assert "tenant=contoso" in line
    assert "create a new client secret" in line and standin.client_id in line
    _, text = http_get(r, "/metrics")
    left = metric(text, "xoauth2_relay_credential_expiry_seconds", tenant="contoso")
    assert (days - 1) * 86400 < left <= days * 86400
    # Every reload checks again: unchanged, it warns again...
    before = r.log_text().count(f"event={event}")
    r.reload()
    assert wait_for_log(r, "event=reloaded")
    deadline = time.monotonic() + 10
    while r.log_text().count(f"event={event}") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.log_text().count(f"event={event}") == before + 1
    # ...rotated (the admin set the new secret's date), it is quiet.
    later = (datetime.date.fromisoformat(date) + datetime.timedelta(days=700)).isoformat()
    cfg = dict(r.config)
    cfg["tenants"] = {"contoso": dict(cfg["tenants"]["contoso"], client_secret_expires=later)}
    r.write_config(cfg)
    before = r.log_text().count(f"event={event}")
    reloads = r.log_text().count("event=reloaded")
    r.reload()
    deadline = time.monotonic() + 10
    while r.log_text().count("event=reloaded") == reloads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.log_text().count("event=reloaded") == reloads + 1
    assert r.log_text().count(f"event={event}") == before


def test_reloads_under_load_drop_nothing(standin, relay):
    """Devices keep sending while the admin reloads again and again: every
    message gets 250 and arrives once."""
    import threading
    r = admin_relay(relay)
    results, errors = [], []

    def device(n):
        try:
            for i in range(5):
                results.append(send(r, "plain", make_message(3000, f"load-{n}-{i}"))[0])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=device, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for n in range(1, 6):
        r.reload()
        deadline = time.monotonic() + 10
        while r.log_text().count("event=reloaded") < n and time.monotonic() < deadline:
            time.sleep(0.02)
    for t in threads:
        t.join(60)
    assert errors == []
    assert results == [250] * 20
    assert sorted(m["data"] for m in standin.messages()) == \
        sorted(make_message(3000, f"load-{n}-{i}") for n in range(4) for i in range(5))
    assert r.log_text().count("event=reloaded") == 5

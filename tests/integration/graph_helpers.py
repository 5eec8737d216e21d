"""Shared by the Graph end-to-end tests (test_graph_*.py): a relay whose
tenant sends through the stand-in's Microsoft Graph endpoint, and the
clients that talk to it."""
import os
import smtplib
import subprocess

from conftest import merge
from relay_helpers import PASSWORD, USER
from spool_helpers import MAILBOX, transaction

# graph::max_raw_message: (4 MiB - 64 KiB) / 4 * 3
GRAPH_LIMIT = (4 * 1024 * 1024 - 64 * 1024) // 4 * 3


def graph_tenant(standin, **graph):
    return {"contoso": {"smtp": {"via": "graph"}, "graph": merge({"endpoint": standin.graph_endpoint}, graph)}}


def graph_relay(relay, standin, *, tenants=None, graph=None, **kw):
    """A relay whose tenant contoso has smtp: {via: graph}, aimed at the stand-in."""
    return relay(tenants=merge(graph_tenant(standin, **(graph or {})), tenants or {}), **kw)


def smtp_send(r, msg, *, sender=MAILBOX, rcpts=("dest@example.com",), mail_options=(), listener="plain"):
    """smtplib over the relay's plaintext listener: (code, text) of the final
    reply, or of the first refusal."""
    with smtplib.SMTP("127.0.0.1", r.port(listener), timeout=120) as s:
        s.ehlo("device.test")
        s.login(USER, PASSWORD)
        if mail_options:
            code, text = s.mail(sender, list(mail_options))
            if code != 250:
                return code, text
            s.rset()
        return transaction(s, msg, sender=sender, rcpts=rcpts)


def curl_send(r, tmp_path, msg, *, sender=MAILBOX, rcpts=("dest@example.com",)):
    """curl as the device (the file's bytes go as they are); its exit status
    and stderr."""
    path = os.path.join(str(tmp_path), "message.eml")
    with open(path, "wb") as f:
        f.write(msg)
    conf = os.path.join(str(tmp_path), "curl.conf")
    user = f"{USER}:{PASSWORD}".replace("\\", "\\\\").replace('"', '\\"')
    with open(conf, "w") as f:
        f.write(f'user = "{user}"\n')
    args = ["curl", "-sS", "-K", conf, "--login-options", "AUTH=PLAIN", "--url",
            f"smtp://127.0.0.1:{r.port('plain')}", "--mail-from", sender, "--upload-file", path]
    for rc in rcpts:
        args += ["--mail-rcpt", rc]
    out = subprocess.run(args, capture_output=True, timeout=180)
    return out.returncode, out.stderr.decode("utf-8", "replace")


def swaks_send(r, tmp_path, msg, *, sender=MAILBOX, rcpts=("dest@example.com",)):
    """swaks as the device. swaks sends the data, then CRLF "." CRLF: without
    the message's last CRLF it arrives exactly as written."""
    path = os.path.join(str(tmp_path), "swaks.eml")
    with open(path, "wb") as f:
        f.write(msg[:-2] if msg.endswith(b"\r\n") else msg)
    out = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(r.port("plain")), "--auth", "PLAIN",
                          "--auth-user", USER, "--auth-password", PASSWORD, "--from", sender,
                          "--to", ",".join(rcpts), "--data", path, "--timeout", "120"],
                         capture_output=True, timeout=180)
    return out.returncode, out.stdout.decode("utf-8", "replace")


def graph_messages(standin):
    return [m for m in standin.messages() if m.get("via") == "graph"]

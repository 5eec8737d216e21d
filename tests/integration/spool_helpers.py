"""Helpers for the store-and-forward tests (test_spool.py): a relay whose
default user has `delivery: spool`, the device's view of an acceptance
("250 2.0.0 Queued as <ID>"), the relay's key=value log events, the spool's
directories, the `queue` command, and the delivery status notifications the
stand-in receives."""
import collections
import email
import email.utils
import json
import os
import re
import signal
import smtplib
import subprocess
import time

import pytest

from conftest import free_port, merge
from relay_helpers import PASSWORD, USER

QUEUED = re.compile(rb"^2\.0\.0 Queued as ([0-9A-F]{20})$")
MAILBOX = "scanner@contoso.com"
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)

# Short everything: a test must not wait for a production schedule.
SPOOL_DEFAULTS = {"max_size": "2G", "min_free": "512M", "max_age": "5d", "retry_schedule": ["1s", "2s"],
                  "bounce_to": None}


def spool_relay(relay, tmp_path, *, spool=None, users=None, admin=False, **kw):
    """A relay whose default user (scanner01 -> scanner@contoso.com) spools.
    `spool` is merged over SPOOL_DEFAULTS plus dir = tmp_path/spool (a value
    None removes the key); `admin=True` adds an admin listener
    (r.admin_port). Also sets r.spool_dir."""
    cfg = dict(SPOOL_DEFAULTS, dir=str(tmp_path / "spool"))
    for k, v in (spool or {}).items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    if "bounce_to" not in cfg:
        cfg["bounce_to"] = None  # keep the key: `bounce_to: null` is part of the contract
    all_users = merge({USER: {"delivery": "spool"}}, users or {})
    extra = dict(kw)
    admin_port = None
    if admin:
        admin_port = free_port()
        extra["admin"] = {"listen": f"127.0.0.1:{admin_port}"}
    start = extra.pop("start", True)
    r = relay(spool=cfg, users=all_users, start=False, **extra)
    r.spool_dir = cfg["dir"]
    r.admin_port = admin_port
    return r.start() if start else r


# --- the device ---------------------------------------------------------------------

def submit(r, msg, *, sender=MAILBOX, rcpts=("dest@example.com",), user=USER, password=PASSWORD,
           listener="plain"):
    """One transaction with smtplib over the relay's plaintext listener (AUTH
    allowed there). Returns (code, text) of the final DATA reply, or of the
    first reply that refused (MAIL, RCPT, DATA)."""
    with smtplib.SMTP("127.0.0.1", r.port(listener), timeout=60) as s:
        s.ehlo("device.test")
        if user is not None:
            s.login(user, password)
        return transaction(s, msg, sender=sender, rcpts=rcpts)


def transaction(s, msg, *, sender=MAILBOX, rcpts=("dest@example.com",)):
    code, text = s.mail(sender)
    if code != 250:
        s.rset()
        return code, text
    for rc in rcpts:
        code, text = s.rcpt(rc)
        if code != 250:
            s.rset()
            return code, text
    try:
        return s.data(msg)
    except smtplib.SMTPDataError as e:  # a refusal of DATA itself
        return e.smtp_code, e.smtp_error


def queued_id(reply):
    """The queue id of a spool acceptance; fails unless the device heard
    exactly `250 2.0.0 Queued as <20 upper-case hex digits>`."""
    code, text = reply
    m = QUEUED.match(text)
    assert code == 250 and m, f"not a spool acceptance: {code} {text!r}"
    return m.group(1).decode()


def message_id(data):
    m = MESSAGE_ID.search(data.split(b"\r\n\r\n", 1)[0])
    return m.group(1).decode() if m else None


def message_ids(msgs):
    """Counter of the Message-IDs the stand-in stored (duplicates show as > 1)."""
    return collections.Counter(message_id(m["data"]) for m in msgs)


# --- waiting -------------------------------------------------------------------------

def wait_until(what, fn, r=None, timeout=30, interval=0.05):
    """fn()'s first truthy value; fails after `timeout` s naming `what` (and
    with the relay's redacted log tail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = ("\n" + r.redacted_tail()) if r is not None else ""
            pytest.fail(f"timed out after {timeout}s waiting for {what}{tail}", pytrace=False)
        time.sleep(interval)


def wait_messages(standin, n, r=None, timeout=30):
    """The stand-in's messages once it holds at least n."""
    return wait_until(f"{n} message(s) at the stand-in",
                      lambda: (lambda m: m if len(m) >= n else None)(standin.messages()), r, timeout)


# --- the relay's log --------------------------------------------------------------------

def parse_line(line):
    out = {}
    for k, v in FIELD.findall(line):
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out.setdefault(k, v)
    return out


def events(r, name, **match):
    """Every `event=<name>` line of the relay's log (all its runs) as a dict,
    those whose fields equal `match`."""
    found = []
    for line in r.log_text().splitlines():
        if f" event={name} " not in line + " ":
            continue
        fields = parse_line(line)
        if fields.get("event") == name and all(fields.get(k) == str(v) for k, v in match.items()):
            found.append(fields)
    return found


def wait_event(r, name, timeout=30, count=1, **match):
    """The `count`-th matching event (1 = the first), once it is logged. The
    log holds every run of the relay: after a restart, ask for the next one."""
    got = wait_until(f"{count}x event={name} {match}",
                     lambda: (lambda e: e if len(e) >= count else None)(events(r, name, **match)), r, timeout)
    return got[count - 1]


# --- the spool's files ------------------------------------------------------------------

def spool_files(r, sub):
    """Names in <spool>/<sub> ([] when the directory does not exist)."""
    try:
        return sorted(os.listdir(os.path.join(r.spool_dir, sub)))
    except FileNotFoundError:
        return []


def wait_spool_empty(r, timeout=30):
    """Waits until queue/ holds nothing: after that nothing more can be delivered."""
    wait_until("an empty queue/", lambda: not spool_files(r, "queue"), r, timeout)


# --- the relay process --------------------------------------------------------------------

def kill9(r):
    """SIGKILL, as a power cut would (no chance to clean up)."""
    r.proc.send_signal(signal.SIGKILL)
    r.proc.wait(10)


def restart(r):
    """Starts the relay again on the same config (and spool), after it died."""
    assert r.proc.poll() is not None
    return r.start()


# --- `xoauth2-relay queue ...` ----------------------------------------------------------------

def queue_cmd(r, op, *args):
    """Runs `xoauth2-relay queue <op> --config <cfg> args...`; returns the
    CompletedProcess (text). Output is checked for credentials."""
    out = subprocess.run([r.bin, "queue", op, "--config", r.config_path, *args],
                         capture_output=True, text=True, timeout=60)
    for what, value in r.forbidden.items():
        assert not value or value not in out.stdout + out.stderr, f"`queue {op}` printed {what}"
    return out


def queue_list(r):
    """`queue list --json` parsed: {"now", "messages": [...]} (fails on a non-zero exit)."""
    out = queue_cmd(r, "list", "--json")
    assert out.returncode == 0, f"queue list --json exited {out.returncode}: {out.stderr[-2000:]}"
    return json.loads(out.stdout)


def queue_rows(r):
    return {m["id"]: m for m in queue_list(r)["messages"]}


# --- delivery status notifications ----------------------------------------------------------

def is_dsn(data):
    msg = email.message_from_bytes(data)
    return msg.get_content_type() == "multipart/report"


def check_dsn(stored, *, mailbox, to, original, status, recipient):
    """A DSN as the issue specifies it: sent through `mailbox` (MAIL FROM and
    From: "Mail Delivery System" <mailbox>) to `to`, multipart/report with
    report-type=delivery-status, a delivery-status part for `recipient` with
    Action: failed and Status `status` (a prefix such as "5." or "4.4.7"),
    and the original message's headers attached."""
    assert stored["mailbox"] == mailbox
    assert stored["mail_from"] == mailbox, stored["mail_from"]
    assert stored["rcpts"] == [to], stored["rcpts"]
    data = stored["data"]
    msg = email.message_from_bytes(data)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert (msg.get_param("report-type") or "").lower() == "delivery-status", msg.get("Content-Type")
    name, addr = email.utils.parseaddr(msg.get("From", ""))
    assert (name, addr.lower()) == ("Mail Delivery System", mailbox), msg.get("From")
    assert msg.get("Message-ID") and msg.get("Message-ID") != message_id(original)
    parts = {p.get_content_type(): p for p in msg.walk()}
    assert "message/delivery-status" in parts, sorted(parts)
    report = parts["message/delivery-status"].as_bytes()
    assert re.search(rb"(?im)^Action:\s*failed\s*$", report), report[-1500:]
    assert re.search(rb"(?im)^Status:\s*" + re.escape(status.encode()), report), report[-1500:]
    assert re.search(rb"(?im)^Final-Recipient:\s*rfc822;\s*" + re.escape(recipient.encode()), report), \
        report[-1500:]
    headers = next((p for t, p in parts.items()
                    if t in ("text/rfc822-headers", "message/rfc822-headers", "message/rfc822")), None)
    assert headers is not None, f"no original headers attached: {sorted(parts)}"
    original_head = original.split(b"\r\n\r\n", 1)[0]
    attached = headers.as_bytes()
    for line in original_head.split(b"\r\n")[:5]:
        assert line in attached, f"original header {line!r} not attached"
    return msg

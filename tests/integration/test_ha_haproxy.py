"""High availability, end to end (issue 14): two relays behind a real HAProxy
(Debian's /usr/sbin/haproxy) that balances SMTP across them with PROXY v2
(`send-proxy-v2`) and checks each relay's admin `/readyz` (the set-up
docs/deploy.md and deploy/haproxy/haproxy.cfg describe). Devices (smtplib
threads) send a stream of messages; one relay is killed with SIGKILL in the
middle. What devices must see:

- every message they were told 250 for arrives at Office 365 (the stand-in),
  matched by Message-ID;
- nothing worse than a retryable error (4xx or a dropped connection), after
  which they send the message again, as devices do;
- once HAProxy has marked the dead relay DOWN, every message goes through at
  the first try; HAProxy's stats socket and log say DOWN.

Both relays share one mailbox, and Exchange counts connections per mailbox
over all relays together: the stand-in allows 4 (as Exchange allows 3), each
relay gets 4 // 2 = 2 (`max_connections_per_mailbox`), and the stand-in must
never have to refuse one.

The spool variant: messages a relay told 250 (`Queued as`) wait on its own
spool when it dies, and are delivered when it starts again on that spool."""
import csv
import io
import json
import os
import random
import shutil
import signal
import smtplib
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml_emit

from conftest import free_port
from relay_helpers import PASSWORD, USER, make_message, stop_process
from spool_helpers import (
    QUEUED,
    events,
    message_id,
    queue_list,
    queued_id,
    restart,
    spool_files,
    spool_relay,
    submit,
    wait_until,
)

HAPROXY = "/usr/sbin/haproxy"
MAILBOX = "scanner@contoso.com"
EXCHANGE_CAP = 4          # the stand-in's per-mailbox limit (Exchange's is 3)
RELAYS = 2
PER_RELAY_CAP = EXCHANGE_CAP // RELAYS  # docs/deploy.md: floor(limit / N)
CLIENTS = 6
PROXIED = [{"name": "proxied", "tls": "none", "proxy_protocol": True, "proxy_from": ["127.0.0.1/32"]}]


# --- HAProxy ------------------------------------------------------------------------------

class HAProxy:
    """HAProxy in TCP mode in front of the relays' `proxied` listeners, with
    an HTTP health check on each relay's admin port, a stats socket and its
    log on stdout (captured to a file)."""

    def __init__(self, tmp_path, relays):
        self.port = free_port()
        self.sock_path = str(tmp_path / "haproxy.sock")
        self.cfg_path = tmp_path / "haproxy.cfg"
        self.log_path = tmp_path / "haproxy.log"
        servers = "\n".join(
            f"    server r{i} 127.0.0.1:{r.port('proxied')} check port {r.admin_port}"
            for i, r in enumerate(relays, 1))
        # The same directives as deploy/haproxy/haproxy.cfg, with test timings:
        # checks every 200 ms, DOWN after 2 failures, UP after 2 successes.
        self.cfg_path.write_text(f"""global
    maxconn 500
    stats socket {self.sock_path} mode 600 level admin
    log stdout format raw local0 info
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 1s
    retries 3
    option redispatch 1
frontend smtp_submission
    bind 127.0.0.1:{self.port}
    default_backend relays_smtp
backend relays_smtp
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server send-proxy-v2 inter 200ms fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
""")
        check = subprocess.run([HAPROXY, "-c", "-f", str(self.cfg_path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        with open(self.log_path, "wb") as log:
            # -db: foreground, no daemon (stopped by the test).
            self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.cfg_path)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_until("haproxy's stats socket", lambda: self.proc.poll() is not None or self._stat_ok(), timeout=10)
        assert self.proc.poll() is None, "haproxy exited:\n" + self.log()

    def _stat_ok(self):
        try:
            self.stat()
            return True
        except OSError:
            return False

    def command(self, line):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.sock_path)
            s.sendall(line.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def stat(self):
        """{server name: its `show stat` row} for the relays' backend."""
        text = self.command("show stat").lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(io.StringIO(text))
                if row.get("pxname") == "relays_smtp" and row["svname"] not in ("FRONTEND", "BACKEND")}

    def status(self, server):
        return self.stat()[server]["status"]

    def wait_status(self, server, want, timeout=15):
        return wait_until(f"haproxy to report {server} {want}",
                          lambda: self.status(server).startswith(want), timeout=timeout, interval=0.02)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def haproxy(tmp_path):
    if not os.access(HAPROXY, os.X_OK):
        pytest.skip(f"{HAPROXY} is missing (Debian package haproxy)")
    started = []

    def start(relays):
        h = HAProxy(tmp_path, relays)
        started.append(h)
        return h

    yield start
    for h in started:
        h.stop()


# --- the relays ------------------------------------------------------------------------------

def readyz(r):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{r.admin_port}/readyz", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def capped(per_minute=None, **kw):
    smtp = {"max_connections_per_mailbox": PER_RELAY_CAP}
    if per_minute:
        smtp["max_messages_per_minute"] = per_minute
    return dict(tenants={"contoso": {"smtp": smtp}}, **kw)


def direct_relays(relay):
    out = []
    for _ in range(RELAYS):
        admin = free_port()
        r = relay(listeners=PROXIED, admin={"listen": f"127.0.0.1:{admin}"}, **capped())
        r.admin_port = admin
        out.append(r)
    return out


def spool_relays(relay, tmp_path):
    out = []
    for i in range(RELAYS):
        d = tmp_path / f"node{i + 1}"
        d.mkdir()
        # Pacing is not under test here (test_spool.py has it): the stand-in
        # has no per-minute quota, and a few hundred messages must drain fast.
        out.append(spool_relay(relay, d, admin=True, listeners=PROXIED, **capped(per_minute=100000)))
    return out


def ready_behind(haproxy, relays):
    for r in relays:
        wait_until(f"/readyz 200 on {r.admin_port}", lambda: readyz(r) == 200, r)
    h = haproxy(relays)
    for i in range(1, len(relays) + 1):
        h.wait_status(f"r{i}", "UP")
    return h


# --- the devices ---------------------------------------------------------------------------

class Stream:
    """CLIENTS threads, each sending one message per connection through
    HAProxy, as printers do, until stop(). A message that fails with a
    retryable error (4xx, a dropped or refused connection) is sent again
    (same Message-ID), up to 10 times. Every attempt is recorded."""

    RETRYABLE = (smtplib.SMTPServerDisconnected, ConnectionError)

    def __init__(self, port, size=(2_000, 60_000)):
        self.port, self.size = port, size
        self.lock = threading.Lock()
        self.attempts = []    # (message id, started, ended, outcome): "250", "4xx ...", "drop ...", "FATAL ..."
        self.accepted = {}    # message id -> the final reply's text
        self.unsent = []      # message ids never accepted after 10 attempts
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._device, args=(n,)) for n in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads), "a device thread hung"

    def count(self, pred=lambda a: True):
        with self.lock:
            return sum(1 for a in self.attempts if pred(a))

    def _device(self, n):
        rnd = random.Random(n)
        seq = 0
        while not self.stopping.is_set():
            seq += 1
            seed = f"ha-{n}-{seq}"
            msg = make_message(size=rnd.randint(*self.size), seed=seed)
            for _ in range(10):
                started = time.monotonic()
                outcome, text = self._send(msg)
                with self.lock:
                    self.attempts.append((f"<{seed}@test>", started, time.monotonic(), outcome))
                if outcome == "250":
                    with self.lock:
                        self.accepted[f"<{seed}@test>"] = text
                    break
                if outcome.startswith("FATAL"):
                    return
                time.sleep(0.1)  # a device's retry, much shortened
            else:
                with self.lock:
                    self.unsent.append(f"<{seed}@test>")

    def _send(self, msg):
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=20) as s:
                s.ehlo("printer.test")
                s.login(USER, PASSWORD)
                code, text = s.mail(MAILBOX)
                if code == 250:
                    code, text = s.rcpt("dest@example.com")
                if code == 250:
                    code, text = s.data(msg)
                text = text.decode("utf-8", "replace")
                if code == 250:
                    return "250", text
                return (f"{code} {text}" if 400 <= code < 500 else f"FATAL {code} {text}"), text
        except smtplib.SMTPResponseException as e:
            kind = "" if 400 <= e.smtp_code < 500 else "FATAL "
            return f"{kind}{e.smtp_code} {e.smtp_error!r}", ""
        except self.RETRYABLE as e:
            return f"drop {type(e).__name__}", ""
        except Exception as e:  # noqa: BLE001 - a timeout or anything else is not what a device may see
            return f"FATAL {type(e).__name__}: {e}", ""


def kill9(r):
    """SIGKILL; returns when (monotonic time)."""
    r.proc.send_signal(signal.SIGKILL)
    r.proc.wait(10)
    return time.monotonic()


def stream_until_down(h, stream, r1, at_least_per_relay, count_on):
    """Waits until both relays have carried messages, kills r1 mid-stream,
    waits for HAProxy to mark it DOWN, then lets the stream run on for at
    least 2 s and 24 more messages. Returns (killed at, DOWN at)."""
    wait_until("messages through both relays", lambda: min(count_on()) >= at_least_per_relay, timeout=30)
    killed = kill9(r1)
    h.wait_status("r1", "DOWN", timeout=10)
    down = time.monotonic()
    wait_until("the stream to go on after DOWN",
               lambda: time.monotonic() - down >= 2
               and stream.count(lambda a: a[1] > down and a[3] == "250") >= 24, timeout=30)
    stream.stop()
    return killed, down


def check_devices_view(stream, killed, down):
    fatal = [a for a in stream.attempts if a[3].startswith("FATAL")]
    assert fatal == [], f"devices saw non-retryable errors: {fatal[:5]}"
    assert stream.unsent == [], f"messages never accepted after 10 tries: {stream.unsent}"
    retried = [a for a in stream.attempts if a[3] != "250"]
    # Only around the kill: from shortly before it (sessions in flight) to DOWN.
    assert all(a[2] >= killed - 0.05 and a[1] <= down for a in retried), \
        [a for a in retried if not (a[2] >= killed - 0.05 and a[1] <= down)]
    after_down = [a for a in stream.attempts if a[1] > down]
    assert after_down and all(a[3] == "250" for a in after_down), [a for a in after_down if a[3] != "250"]
    return retried, after_down


def check_haproxy_down(h):
    row = h.stat()["r1"]
    assert row["status"].startswith("DOWN"), row
    assert row["check_status"] in ("L4CON", "L4TOUT", "L7STS"), row["check_status"]
    assert h.stat()["r2"]["status"].startswith("UP")
    assert "relays_smtp/r1 is DOWN" in h.log(), h.log()[-3000:]


# --- the tests ---------------------------------------------------------------------------------

def test_kill_one_relay_mid_stream_direct(standin, relay, haproxy):
    standin.knobs(max_concurrent_per_mailbox=EXCHANGE_CAP)
    r1, r2 = direct_relays(relay)
    h = ready_behind(haproxy, [r1, r2])
    began = time.monotonic()
    stream = Stream(h.port).start()
    try:
        killed, down = stream_until_down(
            h, stream, r1, 5, lambda: [len(events(r, "message")) for r in (r1, r2)])
    finally:
        stream.stopping.set()
    retried, after_down = check_devices_view(stream, killed, down)

    # Every message a device heard 250 for is at Office 365 (direct mode:
    # 250 is Office 365's own answer). A device whose 250 was lost with the
    # relay sends again, so a message may arrive twice, never zero times.
    stored = {}
    for m in standin.messages():
        mid = message_id(m["data"])
        stored[mid] = stored.get(mid, 0) + 1
    missing = sorted(set(stream.accepted) - set(stored))
    assert missing == [], f"told 250 but not delivered: {missing}"
    for mid, text in stream.accepted.items():
        assert text.startswith("2.0.0 OK"), (mid, text)  # Office 365's reply, relayed verbatim
    check_haproxy_down(h)
    # Exchange counts both relays' connections together: with floor(4 / 2)
    # per relay the stand-in never had to refuse a fifth.
    smtp = standin.stats()["smtp"]
    assert smtp["throttled"] == 0 and smtp["peak_sessions"].get(MAILBOX, 0) <= EXCHANGE_CAP, smtp
    # The devices' original addresses reached the relays through PROXY v2.
    assert "via=127.0.0.1:" in r2.log_text()
    dup = sum(1 for n in stored.values() if n > 1)
    print(f"{len(stream.accepted)} messages accepted, {len(retried)} retryable errors "
          f"({sorted({a[3] for a in retried})}), {len(after_down)} after DOWN (all 250), "
          f"DOWN {down - killed:.2f}s after the kill, {dup} sent twice, {time.monotonic() - began:.1f}s")


def test_kill_one_relay_mid_stream_spool(standin, relay, haproxy, tmp_path):
    """delivery: spool. Office 365 is unreachable while the stream runs, so
    every accepted message waits in the spool of the relay that said 250.
    After the kill, the dead relay's messages are on its disk; restarted on
    the same spool, it delivers them, and HAProxy takes it back."""
    standin.knobs(max_concurrent_per_mailbox=EXCHANGE_CAP, drop_after="greeting")
    r1, r2 = spool_relays(relay, tmp_path)
    h = ready_behind(haproxy, [r1, r2])
    stream = Stream(h.port, size=(2_000, 20_000)).start()
    try:
        killed, down = stream_until_down(
            h, stream, r1, 5, lambda: [len(events(r, "queued")) for r in (r1, r2)])
    finally:
        stream.stopping.set()
    retried, _ = check_devices_view(stream, killed, down)

    # Which relay said 250 for what: its `event=queued` lines.
    on = {r: {e["id"]: e["message_id"] for e in events(r, "queued")} for r in (r1, r2)}
    told = {}
    for mid, text in stream.accepted.items():
        m = QUEUED.match(text.encode())
        assert m, text
        told[m.group(1).decode()] = mid
    assert set(told) <= set(on[r1]) | set(on[r2])
    # The dead relay's accepted messages are on its disk, all of them.
    assert set(on[r1]) & set(told), "r1 accepted nothing before it died"
    assert set(on[r1]) & set(told) <= set(spool_files(r1, "queue"))

    standin.knobs(drop_after=None)
    restart(r1)
    h.wait_status("r1", "UP")
    expected = set(told.values())
    wait_until("every message told 250 at the stand-in",
               lambda: expected <= {message_id(m["data"]) for m in standin.messages()}, r1, timeout=30)
    wait_until("r1's spool to empty", lambda: not spool_files(r1, "queue"), r1)
    assert set(on[r1]) & set(told) <= {e["id"] for e in events(r1, "delivery", outcome="delivered")}
    smtp = standin.stats()["smtp"]
    assert smtp["throttled"] == 0, smtp
    print(f"{len(told)} queued, {len(set(on[r1]) & set(told))} on the killed relay's disk, "
          f"{len(retried)} retryable errors, all delivered after its restart")


def test_drain_then_stop_cuts_nothing(standin, relay, haproxy):
    """docs/deploy.md's planned maintenance: `set server ... state drain` on
    HAProxy's stats socket, wait for the relay's sessions to end, stop it
    (SIGTERM): the devices see no error at all, and the drained relay gets
    no new session."""
    r1, r2 = direct_relays(relay)
    h = ready_behind(haproxy, [r1, r2])
    stream = Stream(h.port, size=(2_000, 20_000)).start()
    try:
        wait_until("messages through both relays",
                   lambda: min(len(events(r, "message")) for r in (r1, r2)) >= 5, timeout=30)
        assert h.command("set server relays_smtp/r1 state drain").strip() == ""
        h.wait_status("r1", "DRAIN")
        wait_until("r1's sessions to end", lambda: h.stat()["r1"]["scur"] == "0", timeout=30, interval=0.02)
        drained = len(events(r1, "connect"))
        assert r1.stop() == 0
        h.wait_status("r1", "DOWN")
        down = time.monotonic()
        wait_until("the stream to go on after DOWN",
                   lambda: stream.count(lambda a: a[1] > down and a[3] == "250") >= 12, timeout=30)
    finally:
        stream.stop()
    assert [a for a in stream.attempts if a[3] != "250"] == []
    assert stream.unsent == []
    assert len(events(r1, "connect")) == drained
    stored = {message_id(m["data"]) for m in standin.messages()}
    assert set(stream.accepted) <= stored


def test_dead_relays_spool_handed_to_another(standin, relay, tmp_path):
    """docs/deploy.md, "The spool when a relay dies", case 3: the dead
    relay's disk is rescued; `queue list` with a copy of the config whose
    spool.dir points at it shows what waits; its queue/ and state/ copied into
    a stopped relay's spool are delivered when that relay starts."""
    standin.knobs(drop_after="greeting")  # Office 365 unreachable: everything stays queued
    nodes = []
    for i in range(2):
        d = tmp_path / f"node{i + 1}"
        d.mkdir()
        nodes.append(spool_relay(relay, d))
    r1, r2 = nodes
    mine = {r: [] for r in nodes}
    for r, n in ((r1, 5), (r2, 3)):
        for i in range(n):
            seed = f"rescue-{len(mine[r1]) + len(mine[r2])}"
            queued_id(submit(r, make_message(3000, seed)))
            mine[r].append(f"<{seed}@test>")
    kill9(r1)
    assert r2.stop() == 0  # stopped first: a running relay does not see entries copied in
    rescue = tmp_path / "rescue"
    shutil.copytree(r1.spool_dir, rescue)
    cfg = dict(r2.config, spool=dict(r2.config["spool"], dir=str(rescue)))
    rescue_cfg = os.path.join(r2.dir, "rescue.yaml")  # beside relay.yaml: relative paths resolve
    with open(rescue_cfg, "w") as f:
        f.write(yaml_emit.dump(cfg))
    out = subprocess.run([r2.bin, "queue", "list", "--json", "--config", rescue_cfg],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    waiting = {m["id"] for m in json.loads(out.stdout)["messages"]}
    assert waiting == set(spool_files(r1, "queue")) and len(waiting) == 5
    for sub in ("queue", "state"):
        for name in os.listdir(rescue / sub):
            shutil.copy2(rescue / sub / name, os.path.join(r2.spool_dir, sub, name))
    standin.knobs(drop_after=None)
    restart(r2)
    expected = set(mine[r1]) | set(mine[r2])
    wait_until("both relays' messages at the stand-in",
               lambda: expected <= {message_id(m["data"]) for m in standin.messages()}, r2, timeout=30)
    wait_until("r2's spool to empty", lambda: not spool_files(r2, "queue"), r2)
    assert queue_list(r2)["messages"] == []
    assert sorted(message_id(m["data"]) for m in standin.messages()) == sorted(expected)  # once each

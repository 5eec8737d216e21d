#!/usr/bin/python3
"""Soak run (issue 11): the relay in front of the Office 365 stand-in
(tests/standin/) for --minutes (default 30) under a steady, moderate, mixed
load, with faults injected and a password-guessing attacker in the
background; the relay's RSS, descriptors and threads sampled from /proc.

  load       SMTP direct (STARTTLS, plaintext and implicit-TLS listeners;
             one message in ten to a recipient Office 365 refuses), SMTP
             spool (`delivery: spool`), IMAP (LOGIN, SELECT, FETCH, IDLE until
             new mail shows), POP3 (USER/PASS, STAT, RETR, QUIT), and devices
             that misbehave (disconnect mid-DATA, abandon TLS handshakes,
             send garbage, go silent after the handshake).
  faults     one at a time, every --fault-every seconds, from the stand-in's
             knobs: token endpoint 503 / dropped / slow, upstream 451 at the
             end of DATA, upstream hanging up at the greeting, AUTH, RCPT,
             mid-DATA, after DATA or mid-FETCH, slow upstream replies,
             Exchange's concurrency limit; and a SIGHUP reload (a config
             change) every --reload-every seconds.
  attacker   --brute connections from 127.0.0.10.. (outside trusted_networks,
             which is 127.0.0.1/32 here) guessing passwords over SMTP, IMAP
             and POP3 for real and made-up users. Refusals (421 4.7.0, BYE
             [UNAVAILABLE], -ERR [SYS/TEMP]) are counted, never fatal.

Checks (exit status 1 if one fails): no message lost (every `250` of a
direct session is in the stand-in's mail, every `Queued as` delivered once
the faults stop), no message cut off mid-DATA delivered, RSS growth under
load after the warm-up below --max-rss-growth-mib, descriptors and threads
back to the idle baseline once the load stops, no session crash, every
reload applied, no password/secret/token in the relay's log, the trusted
source never blocked, the relay exits 0 on SIGTERM.

Usage: bench/soak.sh [--minutes N] [--json FILE] ...   (builds build-bench/)
       bench/soak.py --relay-bin build-dev/xoauth2-relay --minutes 2
Everything listens on 127.0.0.1 (the attacker's sources are 127.0.0.x);
everything started here is stopped here; the working directory (a temporary
one) is removed unless --keep."""
import argparse
import base64
import collections
import itertools
import json
import os
import re
import shutil
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import soak_clients as C
from run import free_port, poll, port_open  # noqa: F401  (bench/run.py, from tests/standin/ports.py)
import soak_report as R

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = "/usr/bin/python3"
TENANT_ID = "5f3c1a2b-0000-4000-8000-000000000001"
CLIENT_ID = "8a1b2c3d-0000-4000-8000-000000000002"
PASSWORD = "soak-password-7Qx"
USERS = {  # role -> (relay user, mailbox); each role has its own mailbox
    "direct": ("soak-direct", "direct@contoso.com"),
    "spool": ("soak-spool", "spool@contoso.com"),
    "imap": ("soak-imap", "imap@contoso.com"),
    "pop3": ("soak-pop", "pop@contoso.com"),
}
# The attacker's addresses (loopback, outside trusted_networks 127.0.0.1/32).
BRUTE_SOURCES = [f"127.0.0.{i}" for i in range(10, 255)] + [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(1000)]
# The stand-in always refuses this recipient; the token lifetime is short so
# the relay fetches tokens (and meets the token faults) all along.
BASE_KNOBS = {"token_lifetime": 60, "reject_rcpt": {C.REJECTED_RCPT: {
    "code": 550, "text": "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}}}
# (name, knobs, seconds): applied one at a time, round robin. None of them
# makes Office 365 refuse a message for good (a 5xx would bounce a queued
# message, and the loss check could not tell that from a lost one).
FAULTS = [
    ("token endpoint 503", {"token_outage": "503"}, 20),
    ("upstream hangs up mid-DATA", {"drop_after": "data_mid"}, 10),
    ("token endpoint slow (4 s)", {"token_delay": 4}, 15),
    ("upstream 451 at end of DATA", {"reject_data": {"code": 451, "text": "4.3.0 soak: try again"}}, 10),
    ("upstream hangs up after DATA", {"drop_after": "data_end"}, 10),
    ("token endpoint drops connections", {"token_outage": "drop"}, 20),
    ("upstream down (hangs up at greeting)", {"drop_after": "greeting"}, 15),
    ("upstream hangs up at RCPT", {"drop_after": "rcpt"}, 10),
    ("IMAP upstream hangs up mid-FETCH", {"drop_after": "fetch_mid"}, 10),
    ("upstream slow (greeting 3 s, replies 0.3 s)", {"greeting_delay": 3, "reply_delay": 0.3}, 15),
    ("upstream hangs up at AUTH", {"drop_after": "auth"}, 10),
    ("Exchange concurrency limit 1 (432 4.3.2)", {"max_concurrent_per_mailbox": 1}, 15),
]
FAULT_KNOBS = sorted({k for _, knobs, _ in FAULTS for k in knobs})
ID_RE = re.compile(rb"^X-Soak-Id: (\S+)", re.MULTILINE)


def http(port, path, method="GET", body=None, timeout=10):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


class Stand:
    """The stand-in (with --maildir), the relay's config and the relay."""

    def __init__(self, args):
        self.args = args
        self.relay_bin = os.path.abspath(args.relay_bin)
        self.dir = tempfile.mkdtemp(prefix="xr-soak-")
        self.procs, self.relay = [], None
        self.secret = os.urandom(24).hex()
        self.write_private("contoso.secret", self.secret + "\n")
        mailboxes = {mb: {"send_as": [mb]} for _, mb in USERS.values()}
        mailboxes["victim@contoso.com"] = {}
        apps = {"tenants": {TENANT_ID: {"apps": {CLIENT_ID: {
            "secret": self.secret, "roles": ["SMTP.SendAsApp", "IMAP.AccessAsApp", "POP.AccessAsApp"],
            "mailboxes": mailboxes}}}}}
        self.write_private("apps.json", json.dumps(apps))
        self.maildir = os.path.join(self.dir, "maildir")
        self.standin = self.start([PY, os.path.join(REPO, "tests/standin/standin.py"), "--dir", self.dir,
                                   "--config", self.path("apps.json"), "--maildir", self.maildir],
                                  "standin.log", stdin=subprocess.PIPE)
        ports_file = self.path("ports.json")
        if not poll(lambda: os.path.exists(ports_file) and os.path.getsize(ports_file) > 0, 30):
            raise SystemExit("the stand-in did not start: " + open(self.path("standin.log")).read()[-2000:])
        self.up = json.load(open(ports_file))
        os.chmod(self.path("server.key"), 0o600)  # the relay refuses a key others can read
        self.control = self.up["control"]
        out = subprocess.run([self.relay_bin, "hash-password"], input=PASSWORD + "\n", capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise SystemExit(f"hash-password failed: {out.stderr.strip()}")
        self.pw_hash = out.stdout.strip().splitlines()[-1]
        self.ports = {k: free_port() for k in ("smtp", "smtp_plain", "smtps", "imaps", "pop3s")}
        self.admin_port = free_port()
        self.spool_dir = self.path("spool")
        self.config = self.path("relay.yaml")
        self.log = self.path("relay.log")
        self.generation = 0
        self.hardening = not args.no_hardening_keys
        self.write_config()
        self.check_config()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_private(self, name, text):
        fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    def start(self, argv, log, stdin=subprocess.DEVNULL):
        p = subprocess.Popen(argv, stdout=open(self.path(log), "ab"), stderr=subprocess.STDOUT, stdin=stdin,
                             cwd=self.dir)
        self.procs.append(p)
        return p

    def config_text(self):
        """The relay's YAML. Each generation (a reload) adds or removes a
        user nobody logs in as, so a reload changes the config without
        revoking the sessions under test."""
        d, up = self.dir, self.up
        cert = f'cert_file: "{d}/server.crt", key_file: "{d}/server.key"'
        users = "\n".join(
            f'  {u}: {{password_hash: "{self.pw_hash}", tenant: contoso, mailbox: {mb}, '
            f'protocols: [{"smtp" if role in ("direct", "spool") else role}]'
            f'{", delivery: spool" if role == "spool" else ""}}}' for role, (u, mb) in USERS.items())
        users += f'\n  victim: {{password_hash: "{self.pw_hash}", tenant: contoso, mailbox: victim@contoso.com}}'
        if self.generation % 2:
            users += (f'\n  reload-marker-{self.generation}: {{password_hash: "{self.pw_hash}", tenant: contoso, '
                      f'mailbox: victim@contoso.com, protocols: [smtp]}}')
        hardening = ""
        if self.hardening:
            # Short windows so blocks start and expire several times in a run.
            hardening = ("  auth_failures_per_ip: 10\n  auth_failures_per_user: 30\n  auth_failure_window: 60s\n"
                         "  auth_block_time: 60s\n  handshake_timeout: 10s\n"
                         'trusted_networks: ["127.0.0.1/32"]\n')
        # Started as root, the relay drops to server.user [xoauth2-relay] or
        # refuses to start; `user: root` is its explicit opt-out, and the
        # soak's files all belong to whoever runs it.
        user = self.args.server_user or ("root" if os.geteuid() == 0 and self.hardening else None)
        server_user = f", user: {user}" if user else ""
        return f"""# bench/soak.py, generation {self.generation}
server: {{hostname: relay.soak{server_user}}}
log: {{level: info, format: json}}
admin: {{listen: "127.0.0.1:{self.admin_port}"}}
spool: {{dir: "{self.spool_dir}", max_size: 1G, min_free: 100M, max_age: 1d, retry_schedule: [2s, 5s, 10s], bounce_to: null}}
tenants:
  contoso:
    tenant_id: {TENANT_ID}
    client_id: {CLIENT_ID}
    client_secret_file: "{d}/contoso.secret"
    authority: https://127.0.0.1:{up['token']}
    ca_file: "{d}/ca.crt"
    smtp: {{host: 127.0.0.1, port: {up['smtp']}, tls: starttls, max_connections_per_mailbox: 10, max_messages_per_minute: 100000}}
    imap: {{host: 127.0.0.1, port: {up['imap']}, tls: implicit, max_connections_per_mailbox: 10}}
    pop3: {{host: 127.0.0.1, port: {up['pop3']}, tls: implicit, max_connections_per_mailbox: 10}}
listeners:
  - {{protocol: smtp, listen: "127.0.0.1:{self.ports['smtp']}", tls: starttls, {cert}}}
  - {{protocol: smtp, listen: "127.0.0.1:{self.ports['smtp_plain']}", tls: none, allow_plaintext_auth: true}}
  - {{protocol: smtp, listen: "127.0.0.1:{self.ports['smtps']}", tls: implicit, {cert}}}
  - {{protocol: imap, listen: "127.0.0.1:{self.ports['imaps']}", tls: implicit, {cert}}}
  - {{protocol: pop3, listen: "127.0.0.1:{self.ports['pop3s']}", tls: implicit, {cert}}}
users:
{users}
limits:
  max_sessions: 2000
  token_timeout: 5s
  command_timeout: 60s
  login_cache_ttl: 60s
{hardening}"""

    def write_config(self):
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.config_text())
        os.replace(tmp, self.config)  # a reload never reads half a file

    def check_config(self):
        """`check-config`; a binary from before issue 11 does not know the
        hardening keys: then the soak runs without them (and says so)."""
        out = subprocess.run([self.relay_bin, "check-config", "--config", self.config], capture_output=True,
                             text=True, cwd=self.dir, timeout=60)
        if out.returncode != 0 and self.hardening and re.search(
                r"trusted_networks|auth_fail|auth_block|handshake_timeout|user", out.stdout + out.stderr):
            print("note: this relay does not know the issue-11 limits; running without them", flush=True)
            self.hardening = False
            self.write_config()
            return self.check_config()
        if out.returncode != 0:
            raise SystemExit("check-config failed:\n" + (out.stdout + out.stderr)[-3000:])

    def start_relay(self):
        self.relay = self.start([self.relay_bin, "run", "--config", self.config], "relay.log")
        ok = poll(lambda: self.relay.poll() is not None or all(port_open(p) for p in self.ports.values()), 30)
        if not ok or self.relay.poll() is not None:
            raise SystemExit(f"the relay did not start (exit {self.relay.poll()}):\n" + self.log_tail())

    def log_tail(self, n=3000):
        try:
            return redact(open(self.log, errors="replace").read()[-n:], self.secrets())
        except OSError:
            return "(no log)"

    def secrets(self):
        return [self.secret, PASSWORD]

    def log_size(self):
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def knobs(self, doc):
        return json.loads(http(self.control, "/knobs", "POST", json.dumps(doc).encode()))

    def metrics(self):
        """{series: value} from the admin endpoint ({} if it does not answer)."""
        try:
            text = http(self.admin_port, "/metrics").decode()
        except OSError:
            return {}
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    pass
        return out

    def queued(self):
        try:
            return len(os.listdir(os.path.join(self.spool_dir, "queue")))
        except FileNotFoundError:
            return 0

    def stop(self):
        """SIGTERM to everything; returns the relay's exit status (None if it
        had to be killed)."""
        status = None
        for p in reversed(self.procs):
            if p.poll() is None:
                if p.stdin:
                    p.stdin.close()
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(40)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    continue
            if p is self.relay:
                status = p.returncode
        return status


def redact(text, secrets):
    """A log excerpt fit to print: known secrets and anything token-like blanked."""
    for s in secrets:
        text = text.replace(s, "<redacted>")
    return re.sub(r"eyJ[A-Za-z0-9_.-]*", "<token>", text)


def describe_exit(code):
    if code is None:
        return "still running"
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


class Counters:
    """kind -> outcome -> count, from many threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.c = collections.defaultdict(collections.Counter)

    def record(self, kind, outcome):
        with self.lock:
            self.c[kind][outcome] += 1

    def snapshot(self):
        with self.lock:
            return {k: dict(v.most_common()) for k, v in sorted(self.c.items())}


class Mail:
    """What reached the stand-in's SMTP server: soak id -> times delivered,
    read incrementally from its maildir (so the stand-in's own message list
    can be emptied now and then)."""

    def __init__(self, maildir):
        self.maildir, self.seen, self.count = maildir, set(), collections.Counter()

    def scan(self):
        try:
            names = os.listdir(self.maildir)
        except FileNotFoundError:
            return self.count
        for name in names:
            if name in self.seen or not name.endswith(".eml"):
                continue
            self.seen.add(name)
            with open(os.path.join(self.maildir, name), "rb") as f:
                m = ID_RE.search(f.read(4096))
            self.count[m.group(1).decode() if m else "(no id)"] += 1
        return self.count


class Sampler(threading.Thread):
    def __init__(self, pid, every, t0):
        super().__init__(daemon=True)
        self.pid, self.every, self.t0 = pid, every, t0
        self.phase, self.samples, self.stop_ev = "warm-up", [], threading.Event()

    def take(self, s=None):
        """Records `s` (default: a fresh sample of the relay) with time and phase."""
        s = s or R.sample(self.pid)
        if s:
            s.update(t=round(time.monotonic() - self.t0, 1), phase=self.phase)
            self.samples.append(s)
        return s

    def run(self):
        while not self.stop_ev.is_set():
            self.take()
            self.stop_ev.wait(self.every)


def faults_loop(stand, stop, every, record, log):
    i = 0
    while not stop.wait(every):
        name, knobs, seconds = FAULTS[i % len(FAULTS)]
        i += 1
        try:
            stand.knobs(knobs)
            record("fault", name)
            log.append((time.monotonic(), name))
            stop.wait(seconds)
        except OSError as e:
            record("fault", f"could not set: {e}")
        finally:
            try:
                stand.knobs({k: None for k in knobs})
            except OSError:
                pass


def reload_loop(stand, stop, every, record):
    """A config change and SIGHUP every `every` s; the relay's answer is the
    next `reloaded` or `reload_failed` event in its log."""
    while not stop.wait(every):
        offset = stand.log_size()
        stand.generation += 1
        stand.write_config()
        stand.relay.send_signal(signal.SIGHUP)
        got = poll(lambda: list(log_events(stand.log, offset, ("reloaded", "reload_failed"))), 60, 0.2)
        record("reload", "no answer in the log within 60 s" if not got else
               "failed" if got[0].get("event") == "reload_failed" else "applied")


def log_events(path, offset=0, names=None):
    """The relay's JSON log lines from byte `offset` on, as dicts (only those
    whose event is in `names`, if given; other lines are skipped)."""
    with open(path, "rb") as f:
        f.seek(offset)
        for line in f:
            if line.startswith(b"{") and (names is None or any(n.encode() in line for n in names)):
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if names is None or e.get("event") in names:
                    yield e


def settle(stand, sampler, baseline, timeout, args):
    """Waits (up to `timeout` s) until the relay holds no session, its queue
    is empty, and its descriptor and thread counts are stable for 3 s (and,
    given a baseline, back within the slack). Returns the last sample."""
    end = time.monotonic() + timeout
    last, stable_since = None, None
    while time.monotonic() < end:
        # /proc first: the admin request below holds a descriptor for a moment.
        s = R.sample(stand.relay.pid)
        if s is None:
            return None
        active = sum(v for k, v in stand.metrics().items() if k.startswith("xoauth2_relay_sessions_active"))
        key = (s["fds"], s["threads"])
        if active == 0 and stand.queued() == 0 and key == last:
            stable_since = stable_since or time.monotonic()
            back = baseline is None or (s["fds"] <= baseline["fds"] + args.fd_slack
                                        and s["threads"] <= baseline["threads"] + args.thread_slack)
            if back and time.monotonic() - stable_since >= 3:
                return sampler.take(s)
        else:
            stable_since = None
        last = key
        time.sleep(0.5)
    return sampler.take(R.sample(stand.relay.pid))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--relay-bin", default=os.path.join(REPO, "build-bench", "xoauth2-relay"))
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--warmup-minutes", type=float, help="default: a quarter of the run, at most 5")
    ap.add_argument("--sample-every", type=float, help="seconds between /proc samples (default 2)")
    ap.add_argument("--fault-every", type=float, help="seconds between faults (default: the run / 8, at most 30)")
    ap.add_argument("--reload-every", type=float, help="seconds between SIGHUPs (default: the run / 4, at most 180)")
    ap.add_argument("--rate", type=float, default=1.0, help="load multiplier (1 = about 3 sessions/s)")
    ap.add_argument("--brute", type=int, default=3, help="attacker connections (0: none)")
    ap.add_argument("--max-rss-growth-mib", type=float, default=8.0)
    ap.add_argument("--fd-slack", type=int, default=0, help="descriptors above the idle baseline allowed at the end")
    ap.add_argument("--thread-slack", type=int, default=0)
    ap.add_argument("--drain-timeout", type=float, default=180, help="seconds for the queue to empty at the end")
    ap.add_argument("--idle-timeout", type=float, default=90, help="seconds for fds/threads to come back at the end")
    ap.add_argument("--server-user", help="server.user in the relay's config (default when run as root: root)")
    ap.add_argument("--no-hardening-keys", action="store_true", help="leave out the issue-11 limits")
    ap.add_argument("--json", help="write the figures and the verdict here")
    ap.add_argument("--keep", action="store_true", help="keep the working directory (logs, maildir)")
    args = ap.parse_args()
    duration = args.minutes * 60
    warmup = args.warmup_minutes * 60 if args.warmup_minutes is not None else min(300.0, duration / 4)
    every = args.sample_every or 2.0
    fault_every = args.fault_every or min(30.0, duration / 8)
    reload_every = args.reload_every or min(180.0, duration / 4)
    if not os.access(args.relay_bin, os.X_OK):
        raise SystemExit(f"{args.relay_bin}: not an executable (build it, or give --relay-bin)")

    stand = Stand(args)
    counters = Counters()
    record = counters.record
    fault_log, result, relay_status = [], {}, None
    try:
        stand.knobs(BASE_KNOBS)
        stand.start_relay()
        clients = C.Clients(stand.ports, stand.path("ca.crt"), PASSWORD, USERS, stand.control, record)
        mail = Mail(stand.maildir)
        t0 = time.monotonic()
        sampler = Sampler(stand.relay.pid, every, t0)
        # A few sessions of each kind (token, login cache, TLS contexts,
        # upstream resumption), then the idle baseline.
        warm = random.Random(1)
        for op in (clients.smtp_direct, clients.smtp_spool, clients.imap, clients.pop3) * 2:
            op(warm)
        sampler.phase = "baseline"
        baseline = settle(stand, sampler, None, 60, args)
        if baseline is None or stand.relay.poll() is not None:
            code = stand.relay.wait(10)
            raise SystemExit(f"the relay exited during the warm-up ({describe_exit(code)}):\n" + stand.log_tail())
        print(f"idle baseline: RSS {baseline['rss_kib'] / 1024:.1f} MiB, {baseline['fds']} fds, "
              f"{baseline['threads']} threads", flush=True)
        sampler.phase = "warm-up"
        sampler.start()

        stop = threading.Event()
        rate = args.rate
        work = [("smtp direct", clients.smtp_direct, 0.5 * rate, 3), ("smtp spool", clients.smtp_spool, 0.5 * rate, 1),
                ("imap", clients.imap, 0.15 * rate, 2), ("pop3", clients.pop3, 0.3 * rate, 1),
                ("misbehave", clients.misbehave, 0.4 * rate, 2)]
        threads = []
        for name, op, r, n in work:
            for i in range(n):
                threads.append(threading.Thread(target=C.paced, args=(stop, r, op, hash((name, i))),
                                                name=name, daemon=True))
        sources = itertools.cycle(BRUTE_SOURCES)
        brutes = [C.BruteForce(clients, sources, ["soak-direct", "victim", "soak-imap"], record)
                  for _ in range(args.brute)]
        for i, b in enumerate(brutes):
            threads.append(threading.Thread(target=C.paced, args=(stop, 1000, b.once, 100 + i),
                                            name="brute", daemon=True))
        threads.append(threading.Thread(target=faults_loop, args=(stand, stop, fault_every, record, fault_log),
                                        name="faults", daemon=True))
        threads.append(threading.Thread(target=reload_loop, args=(stand, stop, reload_every, record),
                                        name="reload", daemon=True))
        for t in threads:
            t.start()
        start = time.monotonic()
        print(f"load for {args.minutes:g} min (warm-up {warmup / 60:.1f} min, samples every {every:g} s, "
              f"a fault every {fault_every:g} s, a reload every {reload_every:g} s, {args.brute} attackers)",
              flush=True)
        last_clear, last_report = start, start
        died = False
        while time.monotonic() - start < duration:
            time.sleep(min(5, max(0.1, duration - (time.monotonic() - start))))
            now = time.monotonic()
            if sampler.phase == "warm-up" and now - start >= warmup:
                sampler.phase = "load"
            if stand.relay.poll() is not None:
                died = True
                print(f"the relay exited ({describe_exit(stand.relay.returncode)}) during the load:\n"
                      + stand.log_tail(1500), flush=True)
                break
            mail.scan()
            if now - last_clear >= 60:  # maildir has them; keep the stand-in's memory small
                http(stand.control, "/messages", "DELETE")
                last_clear = now
            if now - last_report >= 60:
                s = sampler.samples[-1] if sampler.samples else {}
                print(f"  {now - start:5.0f} s: RSS {s.get('rss_kib', 0) / 1024:.1f} MiB, {s.get('fds')} fds, "
                      f"{s.get('threads')} threads; {len(clients.direct_accepted)} direct + "
                      f"{len(clients.spool_accepted)} spooled accepted", flush=True)
                last_report = now
        stop.set()
        sampler.phase = "drain"
        for t in threads:
            t.join(90)
        stuck = [t.name for t in threads if t.is_alive()]
        stand.knobs({k: None for k in FAULT_KNOBS})

        # Drain: every spooled message delivered, sessions gone, fds back.
        def all_spooled():
            got = mail.scan()
            return all(i in got for i in clients.spool_accepted) and stand.queued() == 0
        drained = died or poll(all_spooled, args.drain_timeout, 1)
        sampler.phase = "idle"
        end_idle = None if died else settle(stand, sampler, baseline, args.idle_timeout, args)
        sampler.stop_ev.set()
        sampler.join()
        got = mail.scan()
        metrics = stand.metrics()
        relay_alive = stand.relay.poll() is None
        relay_status = stand.stop()
        # --- what the logs say
        events = collections.Counter()
        trusted_blocked, leaks, block_scopes, block_sources = 0, [], collections.Counter(), set()
        for e in log_events(stand.log):
            events[e.get("event", "?")] += 1
            if e.get("event") == "auth_blocked":
                block_scopes[e.get("scope", "?")] += 1
                block_sources.add(str(e.get("client", "")).rsplit(":", 1)[0])
            if e.get("event") == "auth_blocked" and any(re.search(r"(^|[^0-9.])127\.0\.0\.1(?![0-9])", str(v))
                                                       for v in e.values()):
                trusted_blocked += 1
        log_text = open(stand.log, errors="replace").read()
        plain = [base64.b64encode(f"\0{u}\0{PASSWORD}".encode()).decode() for u, _ in USERS.values()]
        for what, values in (("client secret", [stand.secret]), ("password", [PASSWORD, *plain]),
                             ("a guessed password", ["Guess-"]), ("a token", ["eyJ"])):
            if any(v in log_text for v in values):
                leaks.append(what)
        counts = counters.snapshot()
        reloads = counts.get("reload", {})
        lost_direct = sorted(i for i in clients.direct_accepted if i not in got)
        lost_spool = sorted(i for i in clients.spool_accepted if i not in got)
        partial = sorted(i for i in clients.aborted if i in got)
        accepted = clients.direct_accepted | clients.spool_accepted
        unacked = sorted(i for i in got if i not in accepted and not i.startswith("a-"))
        dups = {i: n for i, n in got.items() if n > 1 and i != "(no id)"}
        trend = R.rss_trend(sampler.samples)
        checks = {}

        def check(name, ok, detail):
            checks[name] = {"ok": bool(ok), "detail": detail}

        check("relay_alive", relay_alive and not died, "the relay ran to the end" if relay_alive and not died
              else "the relay exited during the run")
        check("relay_exit_clean", relay_status == 0, f"on SIGTERM: {describe_exit(relay_status)}"
              if relay_status is not None else "still running 40 s after SIGTERM (killed)")
        check("no_direct_loss", not lost_direct,
              f"{len(clients.direct_accepted)} accepted with 250, {len(lost_direct)} not at the stand-in "
              f"{lost_direct[:5]}")
        check("no_spool_loss", not lost_spool and drained,
              f"{len(clients.spool_accepted)} queued, {len(lost_spool)} not delivered {lost_spool[:5]}"
              + ("" if drained else f"; queue not empty after {args.drain_timeout:g} s ({stand.queued()} files)"))
        check("no_partial_delivery", not partial,
              f"{len(clients.aborted)} messages cut off mid-DATA by the client, {len(partial)} delivered {partial[:5]}")
        if trend:
            check("rss_flat", trend["growth_kib"] <= args.max_rss_growth_mib * 1024,
                  f"RSS floor under load (lower quartile), first vs last quarter after the warm-up: "
                  f"{trend['ref_kib'] / 1024:.1f} -> {trend['end_kib'] / 1024:.1f} MiB "
                  f"({trend['growth_kib'] / 1024:+.1f} MiB; limit {args.max_rss_growth_mib:g}); medians "
                  f"{trend['median_first_kib'] / 1024:.1f} -> {trend['median_last_kib'] / 1024:.1f} MiB; slope "
                  f"{trend['slope_kib_per_h'] / 1024:+.1f} MiB/h; idle RSS {baseline['rss_kib'] / 1024:.1f} MiB "
                  f"before, {(end_idle or {}).get('rss_kib', 0) / 1024:.1f} after")
        else:
            check("rss_flat", False, "too few samples under load after the warm-up")
        if end_idle:
            check("fds_back_to_baseline", end_idle["fds"] <= baseline["fds"] + args.fd_slack,
                  f"idle: {baseline['fds']} before, {end_idle['fds']} after (slack {args.fd_slack})")
            check("threads_back_to_baseline", end_idle["threads"] <= baseline["threads"] + args.thread_slack,
                  f"idle: {baseline['threads']} before, {end_idle['threads']} after (slack {args.thread_slack})")
        else:
            check("fds_back_to_baseline", False, "no idle sample at the end")
            check("threads_back_to_baseline", False, "no idle sample at the end")
        check("no_session_crash", events["session_crashed"] == 0, f"{events['session_crashed']} session_crashed")
        # The log decides: a relay starved of CPU (the soak run niced beside
        # other work) may answer a SIGHUP after the wait above gave up.
        sighups = sum(reloads.values()) if reloads else 0
        check("reloads_applied", sighups > 0 and events["reloaded"] >= sighups and events["reload_failed"] == 0,
              f"SIGHUPs: {reloads or 'none'}; log: {events['reloaded']} reloaded, {events['reload_failed']} failed")
        check("no_secrets_in_log", not leaks, "found: " + ", ".join(leaks) if leaks else "none found")
        check("trusted_never_blocked", trusted_blocked == 0,
              f"{trusted_blocked} auth_blocked events naming 127.0.0.1 (trusted_networks)")
        flat = all(checks[k]["ok"] for k in ("rss_flat", "fds_back_to_baseline", "threads_back_to_baseline"))
        ok = all(c["ok"] for c in checks.values())

        brute = {k: v for k, v in counts.items() if k.startswith("brute")}
        result = {
            "relay_bin": stand.relay_bin, "minutes": args.minutes, "warmup_s": warmup, "sample_every_s": every,
            "fault_every_s": fault_every, "reload_every_s": reload_every, "rate": args.rate, "brute": args.brute,
            "hardening_keys": stand.hardening, "machine": f"{os.uname().nodename} {os.cpu_count()} cores",
            "load_average_end": os.getloadavg(),
            "baseline_idle": baseline, "end_idle": end_idle, **R.summary_rows(sampler.samples), "rss": trend,
            "messages": {"direct_accepted": len(clients.direct_accepted), "spool_accepted": len(clients.spool_accepted),
                         "aborted_mid_data": len(clients.aborted), "lost_direct": lost_direct, "lost_spool": lost_spool,
                         "partial_delivered": partial, "delivered_without_250": len(unacked),
                         "delivered_more_than_once": len(dups)},
            "outcomes": counts, "brute_guesses": sum(b.guesses for b in brutes),
            "auth_blocked": {"by_scope": dict(block_scopes), "sources": len(block_sources)},
            "stuck_threads": stuck, "fault_timeline": [(round(t - t0, 1), name) for t, name in fault_log],
            "relay_log_events": dict(events.most_common()),
            "relay_metrics": {k: v for k, v in metrics.items() if re.match(
                r"xoauth2_relay_(sessions_refused|logins|auth_block|config_reloads|spool_deliveries|token_requests|"
                r"sessions_total)", k)},
            "checks": checks, "verdict": "flat" if flat else "not flat", "ok": ok,
            "samples": sampler.samples,
        }
        print()
        print(R.table(sampler.samples))
        print()
        for kind, outs in counts.items():
            print(f"{kind:<38} " + ", ".join(f"{n}× {o}" for o, n in outs.items()))
        print(f"attacker: {result['brute_guesses']} passwords guessed; blocked answers: "
              f"{sum(n for k, v in brute.items() for o, n in v.items() if o.startswith('blocked'))}; relay log: "
              f"{sum(block_scopes.values())} auth_blocked ({dict(block_scopes)}) from {len(block_sources)} sources")
        print(f"messages: {len(clients.direct_accepted)} direct and {len(clients.spool_accepted)} spooled accepted, "
              f"{len(clients.aborted)} cut off mid-DATA; {len(unacked)} delivered without a 250 to the device "
              f"(upstream hung up after DATA), {len(dups)} delivered more than once")
        if stuck:
            print(f"threads still busy at the end: {stuck}")
        print()
        for name, c in checks.items():
            print(f"{'PASS' if c['ok'] else 'FAIL'}  {name}: {c['detail']}")
        print(f"verdict: {result['verdict']}; {'all checks passed' if ok else 'FAILED'}")
    finally:
        if relay_status is None:
            stand.stop()
        if args.json and result:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
        if args.keep:
            print(f"working directory kept: {stand.dir}")
        else:
            shutil.rmtree(stand.dir, ignore_errors=True)
    sys.exit(0 if result.get("ok") else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Benchmark orchestration (see run.sh): token stand-in + sink + relay, then
scenarios; the relay's CPU time and RSS come from /proc. Everything on
127.0.0.1; everything started here is stopped here."""
import argparse
import resource
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = "/usr/bin/python3"
TENANT_ID = "5f3c1a2b-0000-4000-8000-000000000001"
CLIENT_ID = "8a1b2c3d-0000-4000-8000-000000000002"
PASSWORD = "bench-password"
TICK = os.sysconf("SC_CLK_TCK")
sys.path.insert(0, os.path.join(REPO, "tests", "standin"))
from ports import free_port, poll, port_open  # noqa: E402  (shared with the integration tests)


IDLE_USERS = 20


def wait_for(cond, what, timeout=30):
    if not poll(cond, timeout):
        sys.exit(f"timed out waiting for {what}")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Stand:
    def __init__(self, relay_bin):
        self.start_peers(relay_bin)
        # A second STARTTLS listener with an ECDSA P-256 certificate: the
        # listener's key type dominates the device-side handshake cost.
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-days", "2", "-keyout", os.path.join(self.dir, "ec.key"),
                        "-out", os.path.join(self.dir, "ec.crt")], check=True, capture_output=True)
        self.ec_ca = os.path.join(self.dir, "ec.crt")
        self.starttls_port, self.plain_port, self.ec_port = free_port(), free_port(), free_port()
        self.imap_port, self.imaps_port = free_port(), free_port()
        # As root (CI runs the bench so) the relay would drop to server.user;
        # the bench measures the relay, not the account set-up: stay root.
        as_root = ", user: root" if os.geteuid() == 0 else ""
        cfg = f"""server: {{hostname: relay.bench{as_root}}}
log: {{level: warn}}
{self.tenant_yaml(self.sink_port)}
listeners:
  - {{protocol: smtp, listen: "127.0.0.1:{self.starttls_port}", tls: starttls, cert_file: server.crt, key_file: server.key}}
  - {{protocol: smtp, listen: "127.0.0.1:{self.plain_port}", tls: none, allow_plaintext_auth: true}}
  - {{protocol: smtp, listen: "127.0.0.1:{self.ec_port}", tls: starttls, cert_file: ec.crt, key_file: ec.key}}
  - {{protocol: imap, listen: "127.0.0.1:{self.imap_port}", tls: none, allow_plaintext_auth: true}}
  - {{protocol: imap, listen: "127.0.0.1:{self.imaps_port}", tls: implicit, cert_file: ec.crt, key_file: ec.key}}
users:
{{users}}
limits: {{max_sessions: 30000}}
# Every load generator connects from 127.0.0.1: exempt it from the per-source
# limits (max_sessions_per_ip), as a site does for a gateway carrying many devices.
trusted_networks: ["127.0.0.0/8"]
"""
        # Mailboxes allow at most 1000 connections each: long-session
        # benchmarks spread over IDLE_USERS users, each with its own mailbox.
        users = "\n".join(f'  bench{i:02d}: {{password_hash: "{self.pw_hash}", tenant: contoso, '
                          f'mailbox: bench{i:02d}@contoso.com, senders: ["*@contoso.com"]}}'
                          for i in range(IDLE_USERS))
        self.config = os.path.join(self.dir, "relay.yaml")
        with open(self.config, "w") as f:
            f.write(cfg.replace("{users}", users))
        self.start_relay()

    def tenant_yaml(self, smtp_port, smtp_extra="max_connections_per_mailbox: 1000"):
        return f"""tenants:
  contoso:
    tenant_id: {TENANT_ID}
    client_id: {CLIENT_ID}
    client_secret_file: contoso.secret
    authority: https://127.0.0.1:{self.ports['token']}
    smtp: {{host: 127.0.0.1, port: {smtp_port}, tls: starttls, {smtp_extra}}}
    imap: {{host: 127.0.0.1, port: {self.sink_imap_port}, tls: implicit, max_connections_per_mailbox: 1000}}
    ca_file: ca.crt"""

    def start_peers(self, relay_bin, sink_stats=None):
        """The token stand-in and the sink; the relay's password hash."""
        self.relay_bin = relay_bin
        self.dir = tempfile.mkdtemp(prefix="xr-bench-")
        self.procs = []
        secret = os.urandom(24).hex()
        with open(os.path.join(self.dir, "contoso.secret"), "w") as f:
            f.write(secret + "\n")
        os.chmod(os.path.join(self.dir, "contoso.secret"), 0o600)
        apps = {"tenants": {TENANT_ID: {"apps": {CLIENT_ID: {
            "secret": secret, "roles": ["SMTP.SendAsApp", "IMAP.AccessAsApp", "POP.AccessAsApp"],
            "mailboxes": {"bench@contoso.com": {"send_as": ["*@contoso.com"]}}}}}}}
        with open(os.path.join(self.dir, "apps.json"), "w") as f:
            json.dump(apps, f)
        self.start([PY, os.path.join(REPO, "tests/standin/standin.py"), "--dir", self.dir,
                    "--config", os.path.join(self.dir, "apps.json")], "standin.log", stdin=subprocess.PIPE)
        ports_file = os.path.join(self.dir, "ports.json")
        wait_for(lambda: os.path.exists(ports_file) and os.path.getsize(ports_file) > 0, "the stand-in")
        self.ports = json.load(open(ports_file))
        self.ca = os.path.join(self.dir, "ca.crt")
        sink_port_file = os.path.join(self.dir, "sink.port")
        self.sink = self.start_sink(sink_port_file, stats_file=sink_stats)
        wait_for(lambda: os.path.exists(sink_port_file) and os.path.getsize(sink_port_file) > 0, "the sink")
        self.sink_port, self.sink_imap_port = map(int, open(sink_port_file).read().split())
        self.pw_hash = subprocess.run([relay_bin, "hash-password"], input=PASSWORD + "\n", capture_output=True,
                                      text=True, check=True).stdout.strip().splitlines()[-1]

    def start_relay(self):
        self.relay = self.start([self.relay_bin, "run", "--config", self.config], "relay.log")
        wait_for(lambda: port_open(self.plain_port), "the relay")

    def restart_relay(self):
        """A fresh process: memory freed by earlier scenarios stays in the
        allocator and would hide what new sessions cost."""
        self.relay.send_signal(signal.SIGTERM)
        self.relay.wait(30)
        self.procs.remove(self.relay)
        self.start_relay()

    def start_sink(self, port_file, smtp_port=0, stats_file=None, log="sink.log"):
        return self.start([PY, os.path.join(HERE, "sink.py"), "--cert", os.path.join(self.dir, "server.crt"),
                           "--key", os.path.join(self.dir, "server.key"), "--port-file", port_file,
                           "--smtp-port", str(smtp_port)] + (["--stats-file", stats_file] if stats_file else []), log)

    def start(self, argv, log, stdin=subprocess.DEVNULL):
        p = subprocess.Popen(argv, stdout=open(os.path.join(self.dir, log), "w"), stderr=subprocess.STDOUT,
                             stdin=stdin, cwd=self.dir)
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


LISTENERS = {"starttls": ("starttls_port", "starttls", "ca"), "none": ("plain_port", "none", "ca"),
             "starttls-ecdsa": ("ec_port", "starttls", "ec_ca")}


def loadgen(stand, kind, sessions, concurrency, size, messages=1):
    port_attr, tls, ca_attr = LISTENERS[kind]
    port, ca = getattr(stand, port_attr), getattr(stand, ca_attr)
    cpu0 = cpu_seconds(stand.relay.pid)
    out = subprocess.run([PY, os.path.join(HERE, "loadgen.py"), "--port", str(port), "--tls", tls, "--ca", ca,
                          "--password", PASSWORD, "--sessions", str(sessions), "--concurrency", str(concurrency),
                          "--size", str(size), "--messages", str(messages)],
                         capture_output=True, text=True, check=True)
    cpu = cpu_seconds(stand.relay.pid) - cpu0
    r = json.loads(out.stdout)
    if r["errors"]:
        # A benchmark with failed sessions measures something else: stop.
        sys.exit(f"{r['errors']} sessions failed, e.g. {r['first_errors']}")
    r["relay_cpu_s"] = cpu
    return r


def idle(stand, count, protocol="smtp", tls="none"):
    """Relay RSS per idle session: a fresh relay, warmed up (token, login
    cache, TLS contexts, threads) by a few sessions, then `count` more."""
    port = stand.plain_port if protocol == "smtp" else stand.imaps_port if tls == "implicit" else stand.imap_port
    stand.restart_relay()

    def hold(n):
        p = subprocess.Popen([PY, os.path.join(HERE, "idle.py"), "--protocol", protocol, "--port", str(port),
                              "--tls", tls, "--ca", stand.ec_ca, "--password", PASSWORD, "--count", str(n),
                              "--users", str(IDLE_USERS)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if not p.stdout.readline().startswith("ready"):
            p.kill()
            sys.exit("idle sessions did not come up")
        return p

    def release(p):
        p.stdin.close()
        p.wait(60)

    release(hold(2 * IDLE_USERS))
    time.sleep(1)
    rss0 = rss_kib(stand.relay.pid)
    p = hold(count)
    time.sleep(2)
    rss1 = rss_kib(stand.relay.pid)
    release(p)
    return (rss1 - rss0) / count


def summary(values, unit, digits=2):
    med = statistics.median(values)
    return f"{med:.{digits}f} {unit} (range {min(values):.{digits}f}–{max(values):.{digits}f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller scenarios (a smoke test of the bench itself)")
    ap.add_argument("--spool", action="store_true",
                    help="the store-and-forward scenarios (bench/spool.py) instead of the others")
    ap.add_argument("--memory-runs", type=int, help="--spool: runs of the 1 GB memory scenario (default --runs)")
    ap.add_argument("--no-deliver", action="store_true", help="--spool: do not deliver the 1 GB queue afterwards")
    ap.add_argument("--json", help="also write every run's figures to this file (for bench/compare.py)")
    args = ap.parse_args()
    if args.spool:
        import spool  # bench/spool.py, beside this file
        return spool.main(args)
    n_short = 300 if args.quick else 2000
    n_idle = 200 if args.quick else 1000
    # A spliced session holds two descriptors: 10,000 sessions need more than
    # 20,000, which is some machines' hard limit. Then the run holds fewer.
    fd_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    n_imap_idle = 500 if args.quick else min(10_000, (fd_hard - 200) // 200 * 100)
    n_big = 4 if args.quick else 20
    stand = Stand(os.path.abspath(args.relay))
    rows = []
    # Every run's figures by scenario, for --json and bench/compare.py. Field
    # names say the direction: *_per_s is higher-is-better; cpu_*, *_ms and
    # *_kib* are lower-is-better (bench/compare.py relies on this).
    results = {"load_average_before": list(os.getloadavg())}
    try:
        loadgen(stand, "starttls", 100, 10, 10_000)  # warm-up: token, login cache, TLS resumption
        for tls in ("starttls", "starttls-ecdsa", "none"):
            rates, cpus, p99 = [], [], []
            for _ in range(args.runs):
                r = loadgen(stand, tls, n_short, 25, 10_000)
                rates.append(r["sessions_per_s"])
                cpus.append(r["relay_cpu_s"] * 1000 / n_short)
                p99.append(r["p99_ms"])
            results[f"short_{tls.replace('-', '_')}"] = [
                {"sessions_per_s": a, "cpu_ms_per_session": b, "p99_ms": c} for a, b, c in zip(rates, cpus, p99)]
            listener = {"starttls": "STARTTLS (RSA-2048 certificate)", "starttls-ecdsa": "STARTTLS (ECDSA P-256 certificate)",
                        "none": "plaintext"}[tls]
            rows.append((f"short sessions, device {listener}, 10 KB, {n_short} sessions, concurrency 25",
                         f"{summary(rates, 'sessions/s', 0)}; relay CPU {summary(cpus, 'ms/session')}; "
                         f"p99 message latency {summary(p99, 'ms', 1)}"))
        mbps, cpu_mb = [], []
        for _ in range(args.runs):
            r = loadgen(stand, "starttls", n_big // 4, 2, 5_000_000, messages=4)
            mbps.append(r["mb_per_s"])
            cpu_mb.append(r["relay_cpu_s"] * 1000 / (r["messages"] * 5))
        results["big_5mb_starttls"] = [{"mb_per_s": a, "cpu_ms_per_mb": b} for a, b in zip(mbps, cpu_mb)]
        rows.append((f"5 MB messages, STARTTLS both sides, {n_big} messages, concurrency 4",
                     f"{summary(mbps, 'MB/s', 1)}; relay CPU {summary(cpu_mb, 'ms/MB')}"))
        per = [idle(stand, n_idle) for _ in range(args.runs)]
        results["idle_smtp"] = [{"rss_kib_per_session": v} for v in per]
        rows.append((f"{n_idle} idle SMTP sessions (logged in, upstream TLS open)",
                     f"relay RSS {summary(per, 'KiB/session', 1)}"))
        for tls, what in (("none", "device side plaintext"), ("implicit", "device side TLS (ECDSA)")):
            per = [idle(stand, n_imap_idle, "imap", tls) for _ in range(args.runs)]
            results[f"idle_imap_{tls}"] = [{"rss_kib_per_session": v} for v in per]
            rows.append((f"{n_imap_idle} idle IMAP sessions in IDLE (spliced, upstream TLS, {what})",
                         f"relay RSS {summary(per, 'KiB/session', 1)}"))
    finally:
        stand.stop()
    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}, runs: {args.runs}")
    for name, value in rows:
        print(f"- {name}: {value}")
    if args.json:
        results["load_average_after"] = list(os.getloadavg())
        results["machine"] = {"node": platform.node(), "cores": os.cpu_count(), "runs": args.runs,
                              "quick": args.quick, "python": platform.python_version()}
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Benchmark orchestration (see run.sh): token stand-in + sink + relay, then
scenarios; the relay's CPU time and RSS come from /proc. Everything on
127.0.0.1; everything started here is stopped here."""
import argparse
import datetime
import resource
import json
import os
import platform
import shlex
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
import report  # noqa: E402  (bench/report.py, beside this file: the same figure names and units)
import floor  # noqa: E402  (bench/floor.py: the same bytes through HAProxy)


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
    def __init__(self, relay_bin, fetch_size=5_000_000):
        self.start_peers(relay_bin, fetch_size=fetch_size)
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

    def start_peers(self, relay_bin, sink_stats=None, fetch_size=5_000_000):
        """The token stand-in and the sink; the relay's password hash."""
        self.relay_bin = relay_bin
        self.dir = tempfile.mkdtemp(prefix="xr-bench-")
        self.procs = []
        self.only, self.perf_dir, self.perf_runs, self.scenario = None, None, {}, "warm_up"
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
        self.sink = self.start_sink(sink_port_file, stats_file=sink_stats, fetch_size=fetch_size)
        wait_for(lambda: os.path.exists(sink_port_file) and os.path.getsize(sink_port_file) > 0, "the sink")
        self.sink_port, self.sink_imap_port, self.sink_smtps_port = map(int, open(sink_port_file).read().split())
        self.pw_hash = subprocess.run([relay_bin, "hash-password"], input=PASSWORD + "\n", capture_output=True,
                                      text=True, check=True).stdout.strip().splitlines()[-1]

    def wanted(self, scenario):
        """--only: whether to run this scenario (then it is the one --perf
        names its profiles after)."""
        if self.only is not None and scenario not in self.only:
            return False
        self.scenario = scenario
        return True

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

    def start_sink(self, port_file, smtp_port=0, stats_file=None, log="sink.log", fetch_size=5_000_000):
        return self.start([PY, os.path.join(HERE, "sink.py"), "--cert", os.path.join(self.dir, "server.crt"),
                           "--key", os.path.join(self.dir, "server.key"), "--port-file", port_file,
                           "--smtp-port", str(smtp_port), "--fetch-size", str(fetch_size)]
                          + (["--stats-file", stats_file] if stats_file else []), log)

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
LISTENER_TEXT = {"starttls": "STARTTLS with an RSA-2048 certificate", "none": "plaintext (AUTH allowed)",
                 "starttls-ecdsa": "STARTTLS with an ECDSA P-256 certificate"}


def client(stand, script, argv, timeout):
    """Runs one load client (a bench/*.py printing one JSON line) and returns
    its JSON with the relay's and the sink's CPU seconds over the same
    interval: the sink's own cost is the yardstick where machines differ."""
    perf = start_perf(stand)
    relay0, sink0 = cpu_seconds(stand.relay.pid), cpu_seconds(stand.sink.pid)
    out = subprocess.run([PY, os.path.join(HERE, script)] + argv, capture_output=True, text=True, timeout=timeout)
    relay1, sink1 = cpu_seconds(stand.relay.pid), cpu_seconds(stand.sink.pid)
    stop_perf(perf)
    if out.returncode != 0:
        sys.exit(f"{script} failed ({out.returncode}): {out.stderr[-2000:]}")
    r = json.loads(out.stdout)
    if r["errors"]:
        # A benchmark with failed sessions measures something else: stop.
        sys.exit(f"{script}: {r['errors']} sessions failed, e.g. {r['first_errors']}")
    r["relay_cpu_s"], r["sink_cpu_s"] = relay1 - relay0, sink1 - sink0
    return r


def start_perf(stand):
    """--perf DIR: `perf record` on the relay for the length of one load
    client, into DIR/<scenario>-<n>.data (perf's own overhead lands in the
    CPU figures: profile and measure in separate runs)."""
    if not stand.perf_dir:
        return None
    stand.perf_runs[stand.scenario] = n = stand.perf_runs.get(stand.scenario, 0) + 1
    out = os.path.join(stand.perf_dir, f"{stand.scenario}-{n}.data")
    p = subprocess.Popen(["perf", "record", "-q", "-g", "-F", "999", "-p", str(stand.relay.pid), "-o", out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # perf attaches before the load starts
    return p


def stop_perf(p):
    if p is not None:
        p.send_signal(signal.SIGINT)
        p.wait(60)


def loadgen(stand, kind, sessions, concurrency, size, messages=1, timeout=600):
    port_attr, tls, ca_attr = LISTENERS[kind]
    return client(stand, "loadgen.py", ["--port", str(getattr(stand, port_attr)), "--tls", tls,
                                        "--ca", getattr(stand, ca_attr), "--password", PASSWORD,
                                        "--sessions", str(sessions), "--concurrency", str(concurrency),
                                        "--size", str(size), "--messages", str(messages)], timeout)


def cpu_figures(r, units, per):
    """Relay and sink CPU per unit ("session" or "mb") and their ratio (None
    when the sink's CPU was below the clock tick, as in a --smoke run)."""
    relay, sink = r["relay_cpu_s"], r["sink_cpu_s"]
    return {f"cpu_ms_per_{per}": relay * 1000 / units, f"sink_cpu_ms_per_{per}": sink * 1000 / units,
            "cpu_ratio_to_sink": relay / sink if sink > 0 else None}


def idle(stand, count, protocol="smtp", tls="none", settle=2.0, port=None):
    """Relay RSS per idle session: a fresh relay, warmed up (token, login
    cache, TLS contexts, threads) by a few sessions, then `count` more.
    With `port` (bench/floor.py): through that port, to stand.relay as it is."""
    if port is None:
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
    time.sleep(settle / 2)
    rss0 = rss_kib(stand.relay.pid)
    p = hold(count)
    time.sleep(settle)
    rss1 = rss_kib(stand.relay.pid)
    release(p)
    return (rss1 - rss0) / count


def summary(values, unit, digits=2):
    med = statistics.median(values)
    return f"{med:.{digits}f} {unit} (range {min(values):.{digits}f}–{max(values):.{digits}f})"


def count(k, word):
    return f"{k} {word}" + ("" if k == 1 else "es" if word.endswith("h") else "s")


def sizes(args):
    """Scenario sizes: full (the figures in docs/benchmarks.md), --quick, and
    --smoke (every scenario once, tiny: the test command's check that the
    bench still runs, not a measurement)."""
    # A spliced session holds two descriptors: 10,000 sessions need more than
    # 20,000, which is some machines' hard limit. Then the run holds fewer.
    fd_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if args.smoke:
        return dict(warm=10, short=20, idle=50, imap_idle=50, big_sessions=1, big_messages=2, big_size=1_000_000,
                    fetch_sessions=1, fetches=1, fetch_size=1_000_000, settle=0.2, timeout=60)
    if args.quick:
        return dict(warm=100, short=300, idle=200, imap_idle=500, big_sessions=1, big_messages=4,
                    big_size=5_000_000, fetch_sessions=2, fetches=2, fetch_size=5_000_000, settle=2.0, timeout=600)
    return dict(warm=100, short=2000, idle=1000, imap_idle=min(10_000, (fd_hard - 200) // 200 * 100),
                big_sessions=5, big_messages=4, big_size=5_000_000, fetch_sessions=4, fetches=5,
                fetch_size=5_000_000, settle=2.0, timeout=600)


def scenarios(stand, n, runs, results, about):
    """Every scenario, `runs` times each, into results[name] (one dict of
    figures per run) and about[name] (what it did, for bench/report.py)."""
    loadgen(stand, "starttls", n["warm"], 10, 10_000)  # warm-up: token, login cache, TLS resumption
    for tls in ("starttls", "starttls-ecdsa", "none"):
        name = f"short_{tls.replace('-', '_')}"
        if not stand.wanted(name):
            continue
        results[name] = []
        for _ in range(runs):
            r = loadgen(stand, tls, n["short"], 25, 10_000, timeout=n["timeout"])
            results[name].append({"sessions_per_s": r["sessions_per_s"], **cpu_figures(r, n["short"], "session"),
                                  "p99_ms": r["p99_ms"]})
        steps = "EHLO, AUTH PLAIN" if tls == "none" else "EHLO, STARTTLS, EHLO, AUTH PLAIN"
        about[name] = (f"short SMTP sessions, device {LISTENER_TEXT[tls]}: {steps}, one 10 KB message, QUIT "
                       f"(upstream TLS resumed); {n['short']} sessions, 25 at a time in each of 2 loadgen processes")
    mb = n["big_size"] / 1e6
    for tls in ("starttls", "none"):
        name = f"big_5mb_{tls}"  # the name stays for compare.py when --smoke sends smaller messages
        if not stand.wanted(name):
            continue
        results[name] = []
        for _ in range(runs):
            r = loadgen(stand, tls, n["big_sessions"], 2, n["big_size"], messages=n["big_messages"],
                        timeout=n["timeout"])
            results[name].append({"mb_per_s": r["mb_per_s"], **cpu_figures(r, r["messages"] * mb, "mb")})
        about[name] = (f"{mb:g} MB messages, device {LISTENER_TEXT[tls]}, upstream STARTTLS; "
                       f"{n['big_sessions'] * n['big_messages']} messages, {n['big_messages']} per session, "
                       f"{count(min(4, n['big_sessions']), 'session')} at a time")
    if stand.wanted("imap_fetch_5mb"):
        imap_fetch(stand, n, runs, results, about)
    if stand.wanted("idle_smtp"):
        results["idle_smtp"] = [{"rss_kib_per_session": idle(stand, n["idle"], settle=n["settle"])}
                                for _ in range(runs)]
        about["idle_smtp"] = f"{n['idle']} idle SMTP sessions (logged in, upstream TLS connection open)"
    for tls, what in (("none", "device side plaintext"), ("implicit", "device side TLS, ECDSA")):
        if not stand.wanted(f"idle_imap_{tls}"):
            continue
        results[f"idle_imap_{tls}"] = [{"rss_kib_per_session": idle(stand, n["imap_idle"], "imap", tls, n["settle"])}
                                       for _ in range(runs)]
        about[f"idle_imap_{tls}"] = f"{n['imap_idle']:,} idle IMAP sessions in IDLE (spliced; upstream TLS; {what})"
    floor.scenarios(stand, n, runs, results, about, threads=os.cpu_count())


def imap_fetch_client(stand, port, n):
    """One imapfetch.py run against `port` (the relay's, or the floor's HAProxy)."""
    r = client(stand, "imapfetch.py", ["--port", str(port), "--ca", stand.ec_ca,
                                       "--password", PASSWORD, "--sessions", str(n["fetch_sessions"]),
                                       "--fetches", str(n["fetches"]), "--size", str(n["fetch_size"]),
                                       "--concurrency", "1", "--workers", "2"], n["timeout"])
    want = n["fetch_sessions"] * n["fetches"]
    if r["fetches"] != want:
        sys.exit(f"imapfetch.py: {r['fetches']} of {want} fetches")
    return r


def imap_fetch(stand, n, runs, results, about):
    results["imap_fetch_5mb"] = []
    for _ in range(runs):
        r = imap_fetch_client(stand, stand.imaps_port, n)
        results["imap_fetch_5mb"].append({"mb_per_s": r["mb_per_s"], **cpu_figures(r, r["bytes"] / 1e6, "mb")})
    about["imap_fetch_5mb"] = (f"IMAP through the splice, TLS both sides (device implicit TLS, ECDSA): "
                               f"LOGIN, SELECT, `UID FETCH 1 BODY[]` of a {n['fetch_size'] / 1e6:g} MB message; "
                               f"{count(n['fetch_sessions'], 'session')} × {count(n['fetches'], 'fetch')}, "
                               f"{min(2, n['fetch_sessions'])} at a time")


def machine(args, relay_bin):
    """Where and what was measured: enough to tell whether two result files
    can be compared, and for docs/benchmarks.md's header (bench/report.py)."""
    def out(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    # --no-optional-locks: reading the status must not rewrite the index of
    # a working tree someone else may be committing from.
    commit = args.relay_commit or out(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    if commit and not args.relay_commit and out(["git", "--no-optional-locks", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]):
        commit += "-dirty"
    model = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "")
    mem_kib = next((int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal:")), 0)
    argv0 = os.path.relpath(os.path.abspath(sys.argv[0]), REPO)
    return {"node": platform.node(), "cores": os.cpu_count(), "runs": args.runs, "quick": args.quick,
            "smoke": args.smoke, "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": commit, "kernel": platform.release(), "cpu_model": model, "mem_gib": round(mem_kib / 2**20, 1),
            "openssl": out(["openssl", "version"]), "relay_version": out([relay_bin, "--version"]),
            "command": shlex.join([argv0] + sys.argv[1:])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--relay", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller scenarios")
    ap.add_argument("--smoke", action="store_true",
                    help="every scenario once with tiny sizes (the test command's check that the bench runs)")
    ap.add_argument("--spool", action="store_true",
                    help="the store-and-forward scenarios (bench/spool.py) instead of the others")
    ap.add_argument("--memory-runs", type=int, help="--spool: runs of the 1 GB memory scenario (default --runs)")
    ap.add_argument("--no-deliver", action="store_true", help="--spool: do not deliver the 1 GB queue afterwards")
    ap.add_argument("--relay-commit", help="the commit --relay was built from, when not this tree's HEAD "
                                           "(a before/after comparison's old binary)")
    ap.add_argument("--only", help="comma-separated scenario names: run just these (for profiling)")
    ap.add_argument("--perf", metavar="DIR", help="perf record the relay during each load client, into DIR")
    ap.add_argument("--json", help="also write every run's figures to this file (for bench/compare.py, bench/report.py)")
    args = ap.parse_args()
    relay_bin = os.path.abspath(args.relay)
    if args.smoke:
        args.runs = 1
    if args.spool:
        import spool  # bench/spool.py, beside this file
        status = spool.main(args)
        if args.json:  # the same machine record as the other scenarios
            with open(args.json) as f:
                results = json.load(f)
            results["machine"] = machine(args, relay_bin)
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        return status
    n = sizes(args)
    stand = Stand(relay_bin, fetch_size=n["fetch_size"])
    stand.only = set(args.only.split(",")) if args.only else None
    if args.perf:
        os.makedirs(args.perf, exist_ok=True)
        stand.perf_dir = os.path.abspath(args.perf)
    # Every run's figures by scenario, for --json, bench/compare.py and
    # bench/report.py. Field names say the direction: *_per_s is
    # higher-is-better; cpu_* (cpu_ratio_to_sink too), *_ms and *_kib* are
    # lower-is-better; sink_* is the sink's own cost, context for the ratio
    # and never judged (bench/compare.py relies on this). A scenario's name
    # stays the same whatever --quick or --smoke make its sizes.
    results = {"load_average_before": list(os.getloadavg())}
    about = {}
    try:
        scenarios(stand, n, args.runs, results, about)
    finally:
        stand.stop()
    results["load_average_after"] = list(os.getloadavg())
    results["machine"] = machine(args, relay_bin)
    results["about"] = about
    m = results["machine"]
    print(f"machine: {m['node']} {m['cores']} cores ({m['cpu_model']}), commit {m['commit']}, runs: {args.runs}")
    for name, text in report.scenario_rows(results):
        print(f"- {name}: {text}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    missing = [s for s in about if not any(v for r in results[s] for k, v in r.items() if k.endswith("_per_s"))
               and not s.startswith(("idle", "floor_idle"))]
    if missing:
        sys.exit(f"no throughput measured in {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

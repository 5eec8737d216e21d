#!/usr/bin/python3
"""Store-and-forward benchmarks (issue 12), run by `bench/run.sh --spool`:
the same stand as bench/run.py (token stand-in + sink on 127.0.0.1, relay CPU
from /proc/<pid>/stat, RSS from /proc/<pid>/status, medians of --runs with
ranges), with a user whose `delivery: spool`.

  acceptance  N device sessions (plaintext, AUTH PLAIN, one 10 KB message each,
              a few at a time) while nothing can be delivered (the tenant's SMTP
              endpoint is a closed port): messages/s accepted, relay CPU per
              accepted message; every reply must be `250 2.0.0 Queued as <ID>`
              and queue/ must hold every one of those ids.
  end to end  the same with the sink up, max_messages_per_minute 100000 and
              max_connections_per_mailbox 3: relay CPU per message accepted and
              delivered, time until queue/ is empty, messages/s delivered.
  memory      1 GB queued (1 MB messages, upstream down), the relay's RSS
              sampled as queue/ fills; then the sink comes up on the closed port,
              `xoauth2-relay queue flush` and RSS while the queue drains.

Every relay starts fresh on its own spool directory (removed afterwards), so
one run's queue does not weigh on the next."""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

import run as B

SPOOL_USER = "spool01"
MAILBOX = "spool01@contoso.com"
DIRECT_USER = "direct01"  # delivery: direct (the default), for the reference row


def kernel_seconds(pid):
    """System (kernel) CPU time of the relay: with fsync, most of its CPU."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[12]) / B.TICK


def closed_port():
    """A port that refuses connections: bound, never listening. Held (the
    socket is returned) so nothing else takes it while the relay points at it."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


class SpoolStand(B.Stand):
    def __init__(self, relay_bin):
        self.sink_stats = None
        self.start_peers(relay_bin, sink_stats="sink-stats.json")
        self.sink_stats = os.path.join(self.dir, "sink-stats.json")
        self.plain_port = B.free_port()
        self.relay = None
        self.n = 0
        self.logs = []  # (scenario, notable relay log lines)

    def start_spool_relay(self, smtp_port, per_minute, connections):
        self.n += 1
        self.spool_dir = os.path.join(self.dir, f"spool{self.n}")
        self.config = os.path.join(self.dir, f"relay{self.n}.yaml")
        self.log = os.path.join(self.dir, f"relay{self.n}.log")
        # retry_schedule 10m: a message refused by the closed port is not tried
        # again during a scenario (the memory scenario flushes it by hand).
        # As root (CI runs the bench so) the relay would drop to server.user;
        # the bench measures the relay, not the account set-up: stay root.
        as_root = ", user: root" if os.geteuid() == 0 else ""
        cfg = f"""server: {{hostname: relay.bench{as_root}}}
log: {{level: warn}}
spool: {{dir: {self.spool_dir}, max_size: 2G, min_free: 512M, max_age: 1d, retry_schedule: [10m], bounce_to: null}}
{self.tenant_yaml(smtp_port, f"max_connections_per_mailbox: {connections}, max_messages_per_minute: {per_minute}")}
listeners:
  - {{protocol: smtp, listen: "127.0.0.1:{self.plain_port}", tls: none, allow_plaintext_auth: true}}
users:
  {SPOOL_USER}: {{password_hash: "{self.pw_hash}", tenant: contoso, mailbox: {MAILBOX}, senders: ["*@contoso.com"], delivery: spool}}
  {DIRECT_USER}: {{password_hash: "{self.pw_hash}", tenant: contoso, mailbox: direct01@contoso.com, senders: ["*@contoso.com"]}}
limits: {{max_sessions: 30000}}
# Every load generator connects from 127.0.0.1: exempt it from the per-source
# limits (max_sessions_per_ip), as a site does for a gateway carrying many devices.
trusted_networks: ["127.0.0.0/8"]
"""
        with open(self.config, "w") as f:
            f.write(cfg)
        self.relay = self.start([self.relay_bin, "run", "--config", self.config], os.path.basename(self.log))
        B.wait_for(lambda: B.port_open(self.plain_port), "the relay")

    def stop_spool_relay(self, scenario):
        self.relay.send_signal(signal.SIGTERM)
        self.relay.wait(60)
        self.procs.remove(self.relay)
        if self.relay.returncode != 0:
            self.logs.append((scenario, f"relay exit status {self.relay.returncode}"))
        # The relay logs at warn: anything it says is worth a look, except the
        # refused connections to the closed port (expected, one per attempt).
        lines = [ln for ln in open(self.log, errors="replace").read().splitlines() if ln.strip()]
        self.logs.append((scenario, lines))
        shutil.rmtree(self.spool_dir, ignore_errors=True)

    def queue(self, sub="queue"):
        try:
            return os.listdir(os.path.join(self.spool_dir, sub))
        except FileNotFoundError:
            return []

    def delivered(self):
        try:
            return json.load(open(self.sink_stats))["messages"]
        except (FileNotFoundError, ValueError):
            return 0


def loadgen(stand, sessions, concurrency, size, workers=2, user=SPOOL_USER):
    """bench/loadgen.py against the spool user; every reply must be a spool
    acceptance (DIRECT_USER: any 250). Returns its JSON with relay_cpu_s
    added."""
    spooled = user == SPOOL_USER
    cpu0, sys0 = B.cpu_seconds(stand.relay.pid), kernel_seconds(stand.relay.pid)
    out = subprocess.run([B.PY, os.path.join(B.HERE, "loadgen.py"), "--port", str(stand.plain_port), "--tls", "none",
                          "--user", user, "--password", B.PASSWORD, "--sessions", str(sessions),
                          "--concurrency", str(concurrency), "--workers", str(workers), "--size", str(size)]
                         + (["--expect-queued"] if spooled else []), capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    r["relay_cpu_s"] = B.cpu_seconds(stand.relay.pid) - cpu0
    r["relay_sys_s"] = kernel_seconds(stand.relay.pid) - sys0
    if r["errors"]:
        sys.exit(f"{r['errors']} sessions failed, e.g. {r['first_errors']}")
    if not spooled:
        return r
    ids = r["queued_ids"]
    if len(ids) != sessions or len(set(ids)) != sessions:
        sys.exit(f"{sessions} sessions but {len(ids)} queue ids ({len(set(ids))} distinct)")
    return r


def check_queued(stand, ids, expected_total):
    names = set(stand.queue())
    missing = [i for i in ids if i not in names]
    if missing or len(names) != expected_total:
        sys.exit(f"queue/ holds {len(names)} files, expected {expected_total}; {len(missing)} acknowledged ids "
                 f"missing, e.g. {missing[:3]}")
    leftovers = stand.queue("tmp")
    if leftovers:
        sys.exit(f"tmp/ holds {len(leftovers)} files after every session ended")


def wait_empty(stand, timeout):
    end = time.time() + timeout
    while stand.queue():
        if time.time() > end:
            sys.exit(f"queue/ still holds {len(stand.queue())} messages after {timeout} s")
        time.sleep(0.02)
    return time.time()


WARM = 20  # sessions that warm a fresh relay up (login cache, threads, token, upstream TLS)


def acceptance(stand, n, concurrency, upstream):
    """upstream "paced": the sink is up but max_messages_per_minute is 1, so
    after the first delivery nothing is tried (acceptance alone). "down": the
    tenant's endpoint is a closed port, so every queued message is also tried
    at once and refused (acceptance during an outage)."""
    hold, port = closed_port()
    try:
        if upstream == "paced":
            stand.start_spool_relay(stand.sink_port, 1, 3)
        else:
            stand.start_spool_relay(port, 30, 3)
        d0 = stand.delivered()
        loadgen(stand, WARM, 2, 10_000, workers=1)
        time.sleep(0.5)
        rss0 = B.rss_kib(stand.relay.pid)
        r = loadgen(stand, n, concurrency, 10_000)
        time.sleep(0.2)
        rss1 = B.rss_kib(stand.relay.pid)
        check_queued(stand, r["queued_ids"], WARM + n - (stand.delivered() - d0))
        stand.stop_spool_relay(f"acceptance, upstream {upstream}")
    finally:
        hold.close()
    return {"msgs_per_s": n / r["seconds"], "cpu_ms": r["relay_cpu_s"] * 1000 / n, "p50_ms": r["p50_ms"],
            "p99_ms": r["p99_ms"], "kernel_pct": 100 * r["relay_sys_s"] / max(r["relay_cpu_s"], 1e-9),
            "rss_kib_per_queued": (rss1 - rss0) / n}


def direct(stand, n, concurrency):
    """The reference: the same sessions in pass-through mode (relayed to the
    sink before the 250), on the same relay build and the same machine load."""
    stand.start_spool_relay(stand.sink_port, 30, 1000)
    loadgen(stand, WARM, 2, 10_000, workers=1, user=DIRECT_USER)
    time.sleep(0.5)
    r = loadgen(stand, n, concurrency, 10_000, user=DIRECT_USER)
    stand.stop_spool_relay("direct")
    return {"msgs_per_s": n / r["seconds"], "cpu_ms": r["relay_cpu_s"] * 1000 / n, "p50_ms": r["p50_ms"],
            "p99_ms": r["p99_ms"], "kernel_pct": 100 * r["relay_sys_s"] / max(r["relay_cpu_s"], 1e-9)}


def end_to_end(stand, n, concurrency):
    stand.start_spool_relay(stand.sink_port, 100_000, 3)
    d0 = stand.delivered()
    loadgen(stand, WARM, 2, 10_000, workers=1)
    wait_empty(stand, 60)
    B.wait_for(lambda: stand.delivered() >= d0 + WARM, "the warm-up deliveries")
    time.sleep(0.5)
    d0 = stand.delivered()
    cpu0, t0 = B.cpu_seconds(stand.relay.pid), time.time()
    r = loadgen(stand, n, concurrency, 10_000)
    t_acc = time.time()
    t_empty = wait_empty(stand, 120)
    cpu = B.cpu_seconds(stand.relay.pid) - cpu0
    B.wait_for(lambda: stand.delivered() >= d0 + n, f"{n} messages at the sink", timeout=30)
    time.sleep(0.3)
    extra = stand.delivered() - d0 - n
    stand.stop_spool_relay("end to end")
    if extra:
        sys.exit(f"the sink got {extra} messages more than were sent (a duplicate delivery or a bounce)")
    return {"acc_msgs_per_s": n / (t_acc - t0), "delivered_msgs_per_s": n / (t_empty - t0),
            "drain_after_s": t_empty - t_acc, "cpu_ms": cpu * 1000 / n, "acc_cpu_ms": r["relay_cpu_s"] * 1000 / n}


class Sampler(threading.Thread):
    """The relay's RSS and the number of queued files every `every` seconds."""

    def __init__(self, stand, every=0.1):
        super().__init__(daemon=True)
        self.stand, self.every, self.samples, self.stop = stand, every, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.samples.append((time.time(), len(self.stand.queue()), B.rss_kib(self.stand.relay.pid)))
            self.stop.wait(self.every)

    def finish(self):
        self.stop.set()
        self.join()
        return self.samples


def memory(stand, count, size, concurrency, deliver):
    hold, port = closed_port()
    try:
        stand.start_spool_relay(port, 100_000, 3)
        loadgen(stand, WARM, 2, 10_000, workers=1)
        time.sleep(1)
        rss0 = B.rss_kib(stand.relay.pid)
        sampler = Sampler(stand)
        sampler.start()
        cpu0, t0 = B.cpu_seconds(stand.relay.pid), time.time()
        r = loadgen(stand, count, concurrency, size)
        seconds = time.time() - t0
        cpu = B.cpu_seconds(stand.relay.pid) - cpu0
        kernel_pct = 100 * r["relay_sys_s"] / max(r["relay_cpu_s"], 1e-9)
        time.sleep(1)
        samples = sampler.finish()
        rss_end = B.rss_kib(stand.relay.pid)
        check_queued(stand, r["queued_ids"], WARM + count)
        queued_bytes = sum(os.path.getsize(os.path.join(stand.spool_dir, "queue", f)) for f in stand.queue())
        # RSS as queue/ passes every 10 % of the messages.
        steps = []
        for k in range(0, 11):
            target = WARM + count * k // 10
            hit = next((s for s in samples if s[1] >= target), samples[-1])
            steps.append({"queued": hit[1] - WARM, "rss_kib": hit[2]})
        out = {"rss_start_kib": rss0, "rss_max_kib": max(s[2] for s in samples + [(0, 0, rss_end)]),
               "rss_end_kib": rss_end, "steps": steps, "queued_bytes": queued_bytes,
               "acc_mb_per_s": count * size / seconds / 1e6, "acc_msgs_per_s": count / seconds,
               "acc_cpu_ms_per_mb": cpu * 1000 / (count * size / 1e6), "acc_kernel_pct": kernel_pct}
        if deliver:
            # Upstream back: the sink listens on the port the relay points at;
            # `queue flush` retries everything now.
            hold.close()
            port_file = os.path.join(stand.dir, f"sink-mem{stand.n}.port")
            stats = f"sink-mem{stand.n}.json"
            sink = stand.start_sink(port_file, smtp_port=port, stats_file=stats, log=f"sink-mem{stand.n}.log")
            B.wait_for(lambda: os.path.exists(port_file) and os.path.getsize(port_file) > 0, "the second sink")
            sampler = Sampler(stand, 0.2)
            sampler.start()
            cpu0, t0 = B.cpu_seconds(stand.relay.pid), time.time()
            flush = subprocess.run([stand.relay_bin, "queue", "flush", "--config", stand.config],
                                   capture_output=True, text=True, timeout=60)
            if flush.returncode != 0:
                sys.exit(f"queue flush failed: {flush.stderr.strip()}")
            t_empty = wait_empty(stand, 300)
            cpu = B.cpu_seconds(stand.relay.pid) - cpu0
            samples = sampler.finish()
            B.wait_for(lambda: json.load(open(os.path.join(stand.dir, stats)))["messages"] >= WARM + count,
                       "the queued messages at the sink", timeout=30)
            got = json.load(open(os.path.join(stand.dir, stats)))["messages"]
            sink.send_signal(signal.SIGTERM)
            sink.wait(10)
            stand.procs.remove(sink)
            if got != WARM + count:
                sys.exit(f"the sink got {got} messages, {WARM + count} were queued")
            out.update({"deliver_rss_max_kib": max(s[2] for s in samples), "deliver_rss_end_kib": B.rss_kib(stand.relay.pid),
                        "deliver_mb_per_s": queued_bytes / (t_empty - t0) / 1e6, "deliver_s": t_empty - t0,
                        "deliver_cpu_ms_per_mb": cpu * 1000 / (queued_bytes / 1e6)})
        stand.stop_spool_relay("memory")
    finally:
        hold.close()
    return out


def med(rs, key):
    return [r[key] for r in rs]


def main(args):
    quick = args.quick
    n_acc = 300 if quick else 1000
    n_e2e = 300 if quick else 1000
    n_mem = 100 if quick else 1000
    mem_size = 1_000_000
    runs = args.runs
    # 1 GB written (and delivered) per run: one run by default, for time.
    mem_runs = args.memory_runs if args.memory_runs is not None else 1
    load = os.getloadavg()
    stand = SpoolStand(os.path.abspath(args.relay))
    results = {}
    rows = []
    summary = B.summary
    try:
        ref = [direct(stand, n_acc, 4) for _ in range(runs)]
        results["direct_reference"] = ref
        rows.append((f"reference, delivery: direct (pass-through, no spool): {n_acc} sessions (plaintext, AUTH PLAIN, "
                     f"one 10 KB message relayed to the sink with STARTTLS), 8 at a time",
                     f"{summary(med(ref, 'msgs_per_s'), 'messages/s', 0)}; relay CPU "
                     f"{summary(med(ref, 'cpu_ms'), 'ms/message')}, {summary(med(ref, 'kernel_pct'), '%', 0)} of it "
                     f"in the kernel; p50 MAIL→250 {summary(med(ref, 'p50_ms'), 'ms', 1)}, "
                     f"p99 {summary(med(ref, 'p99_ms'), 'ms', 1)}"))
        for upstream, what in (("paced", "deliveries paced off (max_messages_per_minute 1)"),
                               ("down", "upstream down (closed port: each message is also tried and refused)")):
            acc = [acceptance(stand, n_acc, 4, upstream) for _ in range(runs)]
            results[f"acceptance_{upstream}"] = acc
            rows.append((f"spool acceptance, {what}: {n_acc} sessions (plaintext, AUTH PLAIN, one 10 KB message), "
                         f"8 at a time, fsync on",
                         f"{summary(med(acc, 'msgs_per_s'), 'messages/s', 0)}; relay CPU "
                         f"{summary(med(acc, 'cpu_ms'), 'ms/message')}, {summary(med(acc, 'kernel_pct'), '%', 0)} of it "
                         f"in the kernel; p50 MAIL→250 Queued "
                         f"{summary(med(acc, 'p50_ms'), 'ms', 1)}, p99 {summary(med(acc, 'p99_ms'), 'ms', 1)}; "
                         f"relay RSS {summary(med(acc, 'rss_kib_per_queued'), 'KiB per queued message')}"))
        e2e = [end_to_end(stand, n_e2e, 4) for _ in range(runs)]
        results["end_to_end"] = e2e
        rows.append((f"spool end to end: {n_e2e} × 10 KB accepted and delivered to the sink (STARTTLS, XOAUTH2), "
                     f"max_messages_per_minute 100000, max_connections_per_mailbox 3",
                     f"accepted {summary(med(e2e, 'acc_msgs_per_s'), 'messages/s', 0)}; queue empty after "
                     f"{summary(med(e2e, 'delivered_msgs_per_s'), 'messages/s', 0)} delivered "
                     f"(drained {summary(med(e2e, 'drain_after_s'), 's', 2)} after the last 250); relay CPU "
                     f"{summary(med(e2e, 'cpu_ms'), 'ms/message')} (of which during acceptance "
                     f"{summary(med(e2e, 'acc_cpu_ms'), 'ms/message')})"))
        mem = [memory(stand, n_mem, mem_size, 2, not args.no_deliver) for _ in range(mem_runs)]
        results["memory"] = mem
        mib = lambda k: [r[k] / 1024 for r in mem]  # noqa: E731
        row = (f"spool memory: {n_mem} × 1 MB queued ({mem[0]['queued_bytes'] / 1e9:.2f} GB), upstream down, "
               f"4 at a time",
               f"relay RSS start {summary(mib('rss_start_kib'), 'MiB', 1)}, max {summary(mib('rss_max_kib'), 'MiB', 1)}, "
               f"end {summary(mib('rss_end_kib'), 'MiB', 1)}; accepted {summary(med(mem, 'acc_mb_per_s'), 'MB/s', 0)}, "
               f"relay CPU {summary(med(mem, 'acc_cpu_ms_per_mb'), 'ms/MB')}, "
               f"{summary(med(mem, 'acc_kernel_pct'), '%', 0)} of it in the kernel")
        rows.append(row)
        if not args.no_deliver:
            rows.append((f"spool memory, then upstream back: `queue flush`, the same "
                         f"{mem[0]['queued_bytes'] / 1e9:.2f} GB delivered to the sink",
                         f"relay RSS max {summary(mib('deliver_rss_max_kib'), 'MiB', 1)}, end "
                         f"{summary(mib('deliver_rss_end_kib'), 'MiB', 1)}; "
                         f"{summary(med(mem, 'deliver_mb_per_s'), 'MB/s', 0)}; relay CPU "
                         f"{summary(med(mem, 'deliver_cpu_ms_per_mb'), 'ms/MB')}"))
    finally:
        stand.stop()
    results["load_average_before"] = load
    results["load_average_after"] = os.getloadavg()
    print(f"machine: {os.uname().nodename} {os.cpu_count()} cores, load average {load[0]:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after; runs: {runs} (memory: {mem_runs})")
    for name, value in rows:
        print(f"- {name}: {value}")
    for r in mem:
        print("  RSS (MiB) as the queue filled: " +
              ", ".join(f"{s['queued']}: {s['rss_kib'] / 1024:.1f}" for s in r["steps"]))
    for scenario, lines in stand.logs:
        if lines:
            if isinstance(lines, str):
                print(f"  note ({scenario}): {lines}")
            else:
                events = {}
                for ln in lines:
                    words = ln.split()
                    key = " ".join(words[1:2] + [w for w in words if w.startswith(("event=", "status=", "outcome="))])
                    events[key] = events.get(key, 0) + 1
                print(f"  relay log ({scenario}): " + ", ".join(f"{v}× {k}" for k, v in sorted(events.items())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print("json: " + json.dumps({k: v if not isinstance(v, list) or k.startswith("load") else
                                 {kk: statistics.median([r[kk] for r in v]) for kk in v[0] if kk != "steps"}
                                 for k, v in results.items()}))

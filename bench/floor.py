"""The floor: what the same bytes cost through HAProxy, a lean C proxy, on
the same machine in the same run. HAProxy in TCP mode terminates TLS from the
load client and opens TLS to the sink, as the relay does, and does nothing
else (no SMTP or IMAP, no dot-stuffing, no policy); its CPU per MB is about
the least any user-space relay pays here for the kernel's loopback TCP and
OpenSSL's record work. A goal below the floor cannot be met by the relay on
this machine; the gap above it is what the relay's own work costs.

Scenarios (bench/run.py runs them after the relay's; `--only` picks):
- `floor_short_tls`, `floor_short_tls_ecdsa`, `floor_short_none`: the short
  sessions of `short_starttls`, `short_starttls_ecdsa` and `short_none`, the
  client side with implicit TLS (RSA-2048, ECDSA P-256) or plaintext; HAProxy
  resumes its TLS sessions to the sink as the relay does.
- `floor_big_5mb_tls`: loadgen.py with implicit TLS to HAProxy (RSA-2048),
  HAProxy with TLS to the sink's implicit-TLS SMTP port: the bytes of
  `big_5mb_starttls`.
- `floor_big_5mb_none`: the same with a plaintext client side: `big_5mb_none`.
- `floor_imap_fetch_5mb`: imapfetch.py with TLS (ECDSA) to HAProxy, HAProxy
  with TLS to the sink's IMAP port: `imap_fetch_5mb`.
- `floor_idle_smtp`, `floor_idle_imap_implicit`: bench/idle.py's sessions
  (SMTP logged in, plaintext client side; IMAP in IDLE, TLS client side)
  held through HAProxy, TLS to the sink: HAProxy's RSS per session. At most
  1,000 sessions: HAProxy wants more descriptors per connection than the
  relay, and some machines' hard limit is 20,000.
Figures: MB/s, `cpu_ms_per_mb` (HAProxy's CPU from /proc), the sink's CPU
and the ratio, named as the relay's so bench/compare.py judges them alike."""
import os
import shutil
import subprocess

import run as B  # bench/run.py: the stand, the load clients, the CPU figures

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"

CONFIG = """global
  nbthread {threads}
  maxconn 6000
  # Idle sessions: HAProxy's own buffers go back to its pool while a
  # connection has nothing to move, as the relay's do.
  tune.ssl.default-dh-param 2048
defaults
  mode tcp
  timeout connect 10s
  timeout client 120s
  timeout server 120s
frontend smtps
  bind 127.0.0.1:{smtps} ssl crt {rsa_pem}
  default_backend sink_smtps
frontend smtps_ec
  bind 127.0.0.1:{smtps_ec} ssl crt {ec_pem}
  default_backend sink_smtps
frontend smtp
  bind 127.0.0.1:{smtp}
  default_backend sink_smtps
frontend imaps
  bind 127.0.0.1:{imaps} ssl crt {ec_pem}
  default_backend sink_imaps
backend sink_smtps
  server sink 127.0.0.1:{sink_smtps} ssl verify required ca-file {sink_ca} sni str(localhost)
backend sink_imaps
  server sink 127.0.0.1:{sink_imaps} ssl verify required ca-file {sink_ca} sni str(localhost)
"""


def pem(stand, cert, key, name):
    """HAProxy wants the certificate and its key in one file."""
    path = os.path.join(stand.dir, name)
    with open(path, "w") as out:
        for part in (cert, key):
            out.write(open(os.path.join(stand.dir, part)).read())
    os.chmod(path, 0o600)
    return path


def start_haproxy(stand, threads):
    ports = {"smtps": B.free_port(), "smtps_ec": B.free_port(), "smtp": B.free_port(), "imaps": B.free_port()}
    cfg = os.path.join(stand.dir, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(threads=threads, rsa_pem=pem(stand, "server.crt", "server.key", "rsa.pem"),
                              ec_pem=pem(stand, "ec.crt", "ec.key", "ec.pem"), sink_smtps=stand.sink_smtps_port,
                              sink_imaps=stand.sink_imap_port, sink_ca=stand.ca,
                              **ports))
    proc = stand.start([HAPROXY, "-db", "-f", cfg], "haproxy.log")
    B.wait_for(lambda: all(B.port_open(p) for p in ports.values()), "haproxy")
    return proc, ports


def scenarios(stand, n, runs, results, about, threads):
    wanted = [s for s in ("floor_short_tls", "floor_short_tls_ecdsa", "floor_short_none", "floor_big_5mb_tls",
                          "floor_big_5mb_none", "floor_imap_fetch_5mb", "floor_idle_smtp",
                          "floor_idle_imap_implicit") if stand.wanted(s)]
    if not wanted:
        return
    proc, ports = start_haproxy(stand, threads)
    relay = stand.relay
    stand.relay = proc  # the load clients measure "the relay's" CPU: here HAProxy's
    try:
        for name, port, ca, tls, side in (
                ("floor_short_tls", ports["smtps"], stand.ca, "implicit", "TLS (RSA-2048)"),
                ("floor_short_tls_ecdsa", ports["smtps_ec"], stand.ec_ca, "implicit", "TLS (ECDSA P-256)"),
                ("floor_short_none", ports["smtp"], stand.ca, "none", "plaintext")):
            if name not in wanted:
                continue
            stand.scenario = name
            results[name] = []
            for _ in range(runs):
                r = B.client(stand, "loadgen.py", ["--port", str(port), "--tls", tls, "--ca", ca, "--password",
                                                   B.PASSWORD, "--sessions", str(n["short"]), "--concurrency", "25",
                                                   "--size", "10000"], n["timeout"])
                results[name].append({"sessions_per_s": r["sessions_per_s"],
                                      **B.cpu_figures(r, n["short"], "session"), "p99_ms": r["p99_ms"]})
            about[name] = (f"the floor for short sessions: HAProxy in TCP mode, client side {side}, TLS (resumed) "
                           f"to the sink's implicit-TLS SMTP port; EHLO, AUTH PLAIN, one 10 KB message, QUIT; "
                           f"{n['short']} sessions, 25 at a time in each of 2 loadgen processes")
        mb = n["big_size"] / 1e6
        for tls, port, ca in (("tls", ports["smtps"], stand.ca), ("none", ports["smtp"], stand.ca)):
            name = f"floor_big_5mb_{tls}"
            if name not in wanted:
                continue
            stand.scenario = name
            results[name] = []
            for _ in range(runs):
                r = B.client(stand, "loadgen.py", ["--port", str(port), "--tls", "implicit" if tls == "tls" else "none",
                                                   "--ca", ca, "--password", B.PASSWORD,
                                                   "--sessions", str(n["big_sessions"]), "--concurrency", "2",
                                                   "--size", str(n["big_size"]),
                                                   "--messages", str(n["big_messages"])], n["timeout"])
                results[name].append({"mb_per_s": r["mb_per_s"], **B.cpu_figures(r, r["messages"] * mb, "mb")})
            side = "TLS (RSA-2048)" if tls == "tls" else "plaintext"
            about[name] = (f"the floor for `big_5mb_{'starttls' if tls == 'tls' else 'none'}`: HAProxy in TCP mode, "
                           f"client side {side}, TLS to the sink's implicit-TLS SMTP port; the same "
                           f"{mb:g} MB messages and sessions")
        if "floor_imap_fetch_5mb" in wanted:
            stand.scenario = "floor_imap_fetch_5mb"
            results["floor_imap_fetch_5mb"] = []
            for _ in range(runs):
                r = B.imap_fetch_client(stand, ports["imaps"], n)
                results["floor_imap_fetch_5mb"].append({"mb_per_s": r["mb_per_s"],
                                                        **B.cpu_figures(r, r["bytes"] / 1e6, "mb")})
            about["floor_imap_fetch_5mb"] = ("the floor for `imap_fetch_5mb`: HAProxy in TCP mode, TLS (ECDSA) "
                                             "from the client, TLS to the sink's IMAP port; the same fetches")
        count = min(n["imap_idle"], 5000)
        for name, protocol, tls, port, what in (
                ("floor_idle_smtp", "smtp", "none", "smtp", "SMTP sessions logged in, client side plaintext"),
                ("floor_idle_imap_implicit", "imap", "implicit", "imaps",
                 "IMAP sessions in IDLE, client side TLS (ECDSA)")):
            if name not in wanted:
                continue
            stand.scenario = name
            results[name] = []
            for _ in range(runs):
                # A fresh HAProxy, as the relay is fresh for its idle runs:
                # memory the earlier loads left in its pools would hide what
                # new sessions cost.
                proc, ports = restart(stand, proc, threads)
                stand.relay = proc
                results[name].append({"rss_kib_per_session": B.idle(stand, count, protocol, tls, n["settle"],
                                                                    port=ports[port])})
            about[name] = (f"the floor for idle sessions: {count:,} idle {what}, through HAProxy in TCP mode "
                           f"with TLS to the sink: HAProxy's RSS per session")
    finally:
        stand.relay = relay
        stop(stand, proc)


def stop(stand, proc):
    if proc in stand.procs:
        proc.terminate()
        proc.wait(30)
        stand.procs.remove(proc)


def restart(stand, proc, threads):
    stop(stand, proc)
    return start_haproxy(stand, threads)

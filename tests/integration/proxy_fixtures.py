"""A real outbound HTTP proxy for the tests: Debian's tinyproxy on 127.0.0.1.

Use in a test module:

    from proxy_fixtures import http_proxy  # noqa: F401  (the fixture)

    def test_x(http_proxy):
        proxy = http_proxy()                         # open proxy, CONNECT to any port
        proxy = http_proxy(auth=("alice", "s3cr3t")) # Basic auth required (407 without)
        proxy = http_proxy(connect_ports=[1])        # CONNECT to any other port: 403
        proxy.url                 # "http://127.0.0.1:<port>"
        proxy.wait_connect("127.0.0.1:443")  # its log shows that CONNECT (or the test fails)
        proxy.connects()          # every "host:port" CONNECTed so far, in order
        proxy.refused()           # ports whose CONNECT it refused (ConnectPort)
        proxy.log_text()          # the whole log

Each proxy has its own config, log and pid file under the test's tmp_path,
listens on a free port from conftest.free_port(), allows 127.0.0.1 only, and
is stopped at teardown (or earlier with proxy.stop()). Readiness is read
from /proc/net/tcp, so no probe connection shows in its log.
"""
import os
import re
import subprocess
import time

import pytest

from conftest import free_port
from relay_helpers import stop_process

TINYPROXY = "/usr/bin/tinyproxy"
_REQUEST_RE = re.compile(r"Request \(file descriptor \d+\): CONNECT (\S+) HTTP/")
_REFUSED_RE = re.compile(r"Refused CONNECT method on port (\d+)")


def listening(port):
    """True when something listens on 127.0.0.1:port."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return any(line.split()[1] == want and line.split()[3] == "0A" for line in f.readlines()[1:])


class Proxy:
    def __init__(self, directory, port, proc, auth):
        self.dir, self.port, self.proc, self.auth = directory, port, proc, auth
        self.host = "127.0.0.1"
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(directory, "tinyproxy.log")
        self.out_path = os.path.join(directory, "tinyproxy.out")

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def connects(self):
        """Every CONNECT target ("host:port") the proxy received, in order
        (refused ones included: see refused())."""
        return _REQUEST_RE.findall(self.log_text())

    def refused(self):
        """Ports of CONNECTs refused by the ConnectPort list (answered 403)."""
        return [int(p) for p in _REFUSED_RE.findall(self.log_text())]

    def wait_connect(self, target, timeout=15):
        """Waits until the log shows a CONNECT to `target` ("host:port");
        fails the test with the log otherwise. Polls the log file: tinyproxy
        has no other way to tell."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if target in self.connects():
                return
            time.sleep(0.05)
        pytest.fail(f"no CONNECT {target} through {self.url}; its log:\n{self.log_text()[-3000:]}")

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def http_proxy(tmp_path):
    """Factory: http_proxy(auth=None, connect_ports=None, port=None) starts
    tinyproxy and returns a Proxy. auth=("user", "password") requires Basic
    auth (BasicAuth: 407 without it or with a wrong one; tinyproxy's config
    takes only [-A-Za-z0-9._] in both); connect_ports=[..]
    allows CONNECT only to those ports (others: 403 "Access violation");
    None allows every port. Skips when tinyproxy is not installed."""
    if not os.access(TINYPROXY, os.X_OK):
        pytest.skip(f"{TINYPROXY} is missing (Debian package tinyproxy; scripts/install-deps.sh)")
    proxies = []

    def start(auth=None, connect_ports=None, port=None):
        port = port or free_port()
        directory = tmp_path / f"tinyproxy-{port}"
        directory.mkdir()
        lines = [
            f"Port {port}",
            "Listen 127.0.0.1",
            "Allow 127.0.0.1",
            "Timeout 60",
            "MaxClients 100",
            f'LogFile "{directory}/tinyproxy.log"',
            "LogLevel Info",  # CONNECT lines and refusals
            f'PidFile "{directory}/tinyproxy.pid"',
            "DisableViaHeader Yes",
        ]
        if auth:
            assert all(re.fullmatch(r"[-A-Za-z0-9._]+", a) for a in auth), "tinyproxy's BasicAuth syntax"
            lines.append(f"BasicAuth {auth[0]} {auth[1]}")
        for p in connect_ports or []:
            lines.append(f"ConnectPort {p}")
        cfg = directory / "tinyproxy.conf"
        cfg.write_text("\n".join(lines) + "\n")
        out = open(directory / "tinyproxy.out", "wb")
        # -d: stay in the foreground, so the fixture owns the process.
        proc = subprocess.Popen([TINYPROXY, "-d", "-c", str(cfg)], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
        out.close()
        proxy = Proxy(str(directory), port, proc, auth)
        proxies.append(proxy)
        deadline = time.monotonic() + 10
        while not listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("tinyproxy did not start:\n" + (directory / "tinyproxy.out").read_text()
                            + proxy.log_text())
            time.sleep(0.05)
        return proxy

    yield start
    for p in proxies:
        p.stop()

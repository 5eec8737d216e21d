"""Small helpers for the end-to-end relay tests: test messages, TLS contexts,
and a raw line-level SMTP connection for tests that must control every byte."""
import contextlib
import random
import socket
import ssl
import subprocess
import time

USER = "scanner01"
PASSWORD = "pass: word with spaces &% signs"  # smtplib sends ASCII only; see the UTF-8 test


def stop_process(proc, grace=10):
    """SIGTERM, up to `grace` seconds to finish, then SIGKILL. Returns the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def make_message(size, seed, dot_lines=False):
    """A deterministic RFC 5322 message of about `size` bytes, CRLF line ends.
    With dot_lines, some lines start with '.' to exercise dot-stuffing."""
    rnd = random.Random(seed)
    head = (f"From: scanner@contoso.com\r\nTo: dest@example.com\r\nSubject: test {seed}\r\n"
            f"Message-ID: <{seed}@test>\r\nMIME-Version: 1.0\r\n\r\n").encode()
    lines = [head]
    total = len(head)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    while total < size:
        n = rnd.choice([0, 1, 40, 76, 76, 76, 200, 998])
        line = "".join(rnd.choice(alphabet) for _ in range(n))
        if dot_lines and rnd.random() < 0.05:
            # At most 998 characters, as RFC 5322 allows (Postfix folds longer lines).
            line = ("." + line)[:998] if rnd.random() < 0.5 else "."
        data = line.encode() + b"\r\n"
        lines.append(data)
        total += len(data)
    return b"".join(lines)


def wait_for_log(r, text, timeout=15):
    """True once the relay's log holds `text` (False after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while text not in r.log_text():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    return ctx


class RawLines:
    """A line-level client connection (optionally TLS from the start), for
    tests that must control every byte."""

    def __init__(self, port, ca=None, implicit_tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if implicit_tls:
            self.sock = tls_context(ca).wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed; unread: {self.buf[:200]!r}")
        self.buf += chunk

    def line(self, timeout=30):
        while b"\r\n" not in self.buf:
            self._fill(timeout)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def until_tagged(self, tag, timeout=30):
        """IMAP: lines up to and including the one tagged `tag`."""
        lines = []
        while True:
            lines.append(self.line(timeout))
            if lines[-1].startswith(tag + b" "):
                return lines

    def read_exactly(self, n, timeout=30):
        while len(self.buf) < n:
            self._fill(timeout)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def start_tls(self, ca):
        assert self.buf == b"", "bytes after the TLS go-ahead"
        self.sock = tls_context(ca).wrap_socket(self.sock, server_hostname="localhost")

    def closed(self, timeout=10):
        """True when the peer closes without sending more."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()


class RawSmtp(RawLines):
    def read_reply(self, timeout=30):
        """One complete (possibly multi-line) reply."""
        self.sock.settimeout(timeout)
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return b"".join(lines) + self.buf
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line + b"\r\n")
            if len(line) < 4 or line[3:4] != b"-":
                return b"".join(lines)

    def cmd(self, line):
        """Sends one command line (CRLF added) and returns its reply."""
        self.send(line + b"\r\n")
        return self.read_reply()


def idle_cycles(c, cycles, refresh, deliver, deliver_in=()):
    """Thunderbird-style IDLE on a logged-in, selected raw IMAP connection:
    IDLE, wait `refresh` seconds, DONE, `cycles` times. In the cycles listed
    in `deliver_in`, deliver(cycle) puts a message in the mailbox, which must
    show up as EXISTS while idling."""
    for cycle in range(cycles):
        tag = f"i{cycle}".encode()
        c.send(tag + b" IDLE\r\n")
        assert c.line().startswith(b"+ ")
        started = time.monotonic()
        if cycle in deliver_in:
            deliver(cycle)
            line = c.line(timeout=30)
            assert line.startswith(b"* ") and line.endswith(b" EXISTS\r\n"), line
        time.sleep(max(0, refresh - (time.monotonic() - started)))
        c.send(b"DONE\r\n")
        assert c.until_tagged(tag)[-1].startswith(tag + b" OK")


@contextlib.contextmanager
def raw_session(port):
    conn = RawSmtp(port)
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def raw_lines(port, ca=None, implicit_tls=False):
    conn = RawLines(port, ca, implicit_tls)
    try:
        yield conn
    finally:
        conn.close()

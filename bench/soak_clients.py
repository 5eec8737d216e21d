"""The soak's clients (bench/soak.py): what devices, misbehaving devices and an
attacker do to the relay. Every operation returns an outcome word for the
counters and never raises: the soak counts refusals and errors, it does not
stop on them. Messages carry `X-Soak-Id: <id>` so the soak can look for them
in the stand-in's maildir. 127.0.0.1 (and 127.0.0.x for the attacker) only."""
import base64
import imaplib
import os
import poplib
import random
import re
import smtplib
import socket
import ssl
import time
import urllib.request

QUEUED = re.compile(r"^2\.0\.0 Queued as [0-9A-F]{20}$")
REJECTED_RCPT = "reject@example.com"  # the stand-in refuses it (knob reject_rcpt, always on)


def make_message(sender, soak_id, size, rnd):
    """About `size` bytes, CRLF, one From: (the sender, inside `senders`), some
    lines starting with '.' (dot-stuffing both ways)."""
    head = (f"From: {sender}\r\nTo: dest@example.com\r\nSubject: soak {soak_id}\r\n"
            f"Message-ID: <{soak_id}@soak.test>\r\nX-Soak-Id: {soak_id}\r\nMIME-Version: 1.0\r\n\r\n").encode()
    out, total = [head], len(head)
    while total < size:
        line = b"%s%d %s" % (b"." if rnd.random() < 0.03 else b"", total, b"y" * rnd.choice((0, 20, 76, 76, 300)))
        out.append(line + b"\r\n")
        total += len(line) + 2
    return b"".join(out)


def message_size(rnd):
    return 300_000 if rnd.random() < 0.02 else rnd.randint(1_000, 30_000)


def reply_word(code, text=b""):
    """A short outcome name for a refusal: `421 4.7.0`, `550`, ..."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    enh = text.split(" ", 1)[0] if re.match(r"^\d\.\d+\.\d+", text or "") else ""
    return f"{code} {enh}".strip()


def error_word(e):
    if isinstance(e, smtplib.SMTPResponseException):
        return "refused " + reply_word(e.smtp_code, e.smtp_error)
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return "disconnected"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(e, ssl.SSLError):
        return "tls error"
    if isinstance(e, (ConnectionError, EOFError)):
        return "disconnected"
    if isinstance(e, (imaplib.IMAP4.abort,)):
        return "disconnected"
    if isinstance(e, (imaplib.IMAP4.error, poplib.error_proto)):
        s = str(e)
        for tag in ("[UNAVAILABLE]", "[SYS/TEMP]", "[AUTH]", "[IN-USE]", "[LIMIT]"):
            if tag in s:
                return "refused " + tag
        return "refused"
    return type(e).__name__


class Clients:
    """Shared by every worker thread: where the relay listens, whom to log in
    as, and the sets the soak checks at the end (ids are appended under the
    GIL; sets and Counters are only read after the threads stopped)."""

    def __init__(self, ports, ca, password, users, control_port, record):
        self.ports, self.password, self.users = ports, password, users
        self.ctx = ssl.create_default_context(cafile=ca)
        self.control_port = control_port
        self.record = record  # record(kind, outcome)
        self.direct_accepted, self.spool_accepted = set(), set()
        self.aborted = set()  # ids whose DATA was cut off by the client: must never arrive
        self.n = 0

    def next_id(self, prefix):
        self.n += 1
        return f"{prefix}-{self.n:06d}-{os.urandom(3).hex()}"

    # --- devices ---------------------------------------------------------------

    def smtp_direct(self, rnd):
        """One session of a scanner: STARTTLS, plaintext or implicit TLS
        listener, AUTH, one or two messages (one in ten to a recipient
        Office 365 refuses), QUIT."""
        variant = rnd.choice(("starttls", "starttls", "plain", "implicit"))
        kind = f"smtp direct {variant}"
        user, sender = self.users["direct"]
        try:
            if variant == "implicit":
                s = smtplib.SMTP_SSL("127.0.0.1", self.ports["smtps"], context=self.ctx, timeout=60)
            else:
                s = smtplib.SMTP("127.0.0.1", self.ports["smtp" if variant == "starttls" else "smtp_plain"],
                                 timeout=60)
            with s:
                s.ehlo("soak-device")
                if variant == "starttls":
                    s.starttls(context=self.ctx)
                    s.ehlo("soak-device")
                s.login(user, self.password)
                for _ in range(2 if rnd.random() < 0.2 else 1):
                    self.record(kind, self.transaction(s, sender, rnd, self.direct_accepted, "d",
                                                       rejected=rnd.random() < 0.1))
                s.quit()
        except Exception as e:  # counted, never fatal
            self.record(kind, error_word(e))

    def smtp_spool(self, rnd):
        """A device whose user has `delivery: spool`: every 250 must be the
        relay's own `Queued as`, and the message must arrive later."""
        user, sender = self.users["spool"]
        try:
            with smtplib.SMTP("127.0.0.1", self.ports["smtp_plain"], timeout=60) as s:
                s.ehlo("soak-spooler")
                s.login(user, self.password)
                self.record("smtp spool", self.transaction(s, sender, rnd, self.spool_accepted, "s", queued=True))
                s.quit()
        except Exception as e:
            self.record("smtp spool", error_word(e))

    def transaction(self, s, sender, rnd, accepted, prefix, rejected=False, queued=False):
        soak_id = self.next_id(prefix)
        code, text = s.mail(sender)
        if code != 250:
            s.rset()
            return "refused MAIL " + reply_word(code, text)
        code, text = s.rcpt(REJECTED_RCPT if rejected else "dest@example.com")
        if code != 250:
            s.rset()
            return ("rcpt rejected as expected " if rejected else "refused RCPT ") + reply_word(code, text)
        try:
            code, text = s.data(make_message(sender, soak_id, message_size(rnd), rnd))
        except smtplib.SMTPDataError as e:
            return "refused DATA " + reply_word(e.smtp_code, e.smtp_error)
        if code != 250:
            return "refused " + reply_word(code, text)
        if queued and not QUEUED.match(text.decode(errors="replace")):
            return "250 without Queued as"
        accepted.add(soak_id)
        return "accepted"

    def imap(self, rnd):
        """Login, SELECT, FETCH the newest message, IDLE until a message the
        stand-in delivers shows up (or a few seconds), LOGOUT. Keeps the
        mailbox small with STORE + EXPUNGE."""
        user, mailbox = self.users["imap"]
        try:
            m = imaplib.IMAP4_SSL("127.0.0.1", self.ports["imaps"], ssl_context=self.ctx, timeout=30)
            try:
                m.login(user, self.password)
                typ, data = m.select("INBOX")
                exists = int(data[0]) if typ == "OK" else 0
                if exists:
                    typ, _ = m.fetch(str(exists), "(BODY.PEEK[])")
                    if typ != "OK":
                        return self.record("imap", "fetch refused")
                # IDLE by hand: imaplib has no IDLE before Python 3.14.
                m.send(b"SOAKIDLE IDLE\r\n")
                if not m.readline().startswith(b"+"):
                    return self.record("imap", "IDLE refused")
                self.deliver(mailbox, rnd)
                seen, end = False, time.monotonic() + 5
                m.sock.settimeout(5)
                while time.monotonic() < end:
                    line = m.readline()
                    if not line:
                        raise ConnectionError("closed in IDLE")
                    if line.endswith(b"EXISTS\r\n"):
                        seen = True
                        break
                m.sock.settimeout(30)
                m.send(b"DONE\r\n")
                while True:
                    line = m.readline()
                    if not line:
                        raise ConnectionError("closed after DONE")
                    if line.startswith(b"SOAKIDLE "):
                        break
                if exists > 20:
                    m.store("1:10", "+FLAGS", "(\\Deleted)")
                    m.expunge()
                m.logout()
                self.record("imap", "ok" if seen else "ok, no EXISTS in IDLE")
            finally:
                try:
                    m.shutdown()
                except OSError:
                    pass
        except Exception as e:
            self.record("imap", error_word(e))

    def pop3(self, rnd):
        user, mailbox = self.users["pop3"]
        if rnd.random() < 0.7:
            self.deliver(mailbox, rnd)
        try:
            p = poplib.POP3_SSL("127.0.0.1", self.ports["pop3s"], context=self.ctx, timeout=30)
            try:
                p.user(user)
                p.pass_(self.password)
                count, _ = p.stat()
                if count:
                    p.retr(count)
                if count > 20:
                    for i in range(1, 11):
                        p.dele(i)
                p.quit()
                self.record("pop3", "ok")
            finally:
                p.close()
        except Exception as e:
            self.record("pop3", error_word(e))

    def deliver(self, mailbox, rnd):
        """New mail in a stand-in mailbox (what IMAP IDLE and POP3 RETR see)."""
        body = make_message("someone@example.com", self.next_id("m"), rnd.randint(500, 20_000), rnd)
        req = urllib.request.Request(f"http://127.0.0.1:{self.control_port}/mailboxes/{mailbox}/messages",
                                     data=body, method="POST")
        try:
            urllib.request.urlopen(req, timeout=10).read()
        except OSError:
            pass

    # --- misbehaving devices ---------------------------------------------------

    def misbehave(self, rnd):
        what = rnd.choice(("mid-DATA direct", "mid-DATA spool", "TLS abandoned", "TLS garbage",
                           "STARTTLS abandoned", "TLS then silence", "connect and close", "silent connection"))
        try:
            outcome = getattr(self, "_" + what.replace(" ", "_").replace("-", "_").lower())(rnd)
            self.record("misbehave " + what, outcome or "done")
        except Exception as e:
            self.record("misbehave " + what, error_word(e))

    def _mid_data(self, rnd, who):
        user, sender = self.users[who]
        soak_id = self.next_id("a")
        msg = make_message(sender, soak_id, rnd.randint(5_000, 60_000), rnd)
        s = smtplib.SMTP("127.0.0.1", self.ports["smtp_plain"], timeout=60)
        try:
            s.ehlo("soak-broken")
            s.login(user, self.password)
            if s.mail(sender)[0] != 250 or s.rcpt("dest@example.com")[0] != 250:
                return
            code, _ = s.docmd("DATA")
            if code != 354:
                return
            self.aborted.add(soak_id)
            s.sock.sendall(msg[:len(msg) // 2])
            time.sleep(rnd.random() * 0.5)
            if rnd.random() < 0.5:  # an RST instead of a FIN
                s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        finally:
            s.sock.close() if s.sock else None

    def _mid_data_direct(self, rnd):
        self._mid_data(rnd, "direct")

    def _mid_data_spool(self, rnd):
        self._mid_data(rnd, "spool")

    def _tls_abandoned(self, rnd):
        """Half a ClientHello, then gone."""
        port = self.ports[rnd.choice(("smtps", "imaps", "pop3s"))]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(rnd.randint(0, 40)))

    def _tls_garbage(self, rnd):
        port = self.ports[rnd.choice(("smtps", "imaps", "pop3s"))]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(os.urandom(rnd.randint(1, 600)))
            c.settimeout(5)
            try:
                c.recv(4096)
            except OSError:
                pass

    def _starttls_abandoned(self, rnd):
        s = smtplib.SMTP("127.0.0.1", self.ports["smtp"], timeout=30)
        s.ehlo("soak-broken")
        if s.docmd("STARTTLS")[0] == 220 and rnd.random() < 0.5:
            s.sock.sendall(b"\x16\x03\x01\x00")
        s.sock.close()

    def _tls_then_silence(self, rnd):
        """A finished handshake and not a single command: the relay's
        handshake/command timeout must close it; we just leave after a while."""
        port = self.ports[rnd.choice(("smtps", "imaps", "pop3s"))]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with self.ctx.wrap_socket(raw, server_hostname="127.0.0.1") as c:
                c.settimeout(rnd.uniform(0.5, 3))
                try:
                    c.recv(4096)
                except OSError:
                    pass

    def _silent_connection(self, rnd):
        """Connects to an implicit-TLS listener and says nothing: the relay
        should hang up after limits.handshake_timeout (10 s in the soak)."""
        port = self.ports[rnd.choice(("smtps", "imaps", "pop3s"))]
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=15) as c:
            try:
                while c.recv(4096):
                    pass
            except socket.timeout:
                return "still open after 15 s"
            except OSError:
                pass
        return f"closed by the relay after {round(time.monotonic() - t0)} s"

    def _connect_and_close(self, rnd):
        port = self.ports[rnd.choice(list(self.ports))]
        socket.create_connection(("127.0.0.1", port), timeout=10).close()


class Blocked(Exception):
    pass


class BruteForce:
    """One attacker connection at a time from `source` (127.0.0.x, outside
    trusted_networks), guessing passwords on SMTP, IMAP and POP3 for real and
    made-up user names. Blocks are expected and counted, never fatal."""

    BLOCK_PAUSE = 0.5  # seconds after a refusal, so a blocked attacker does not spin

    def __init__(self, clients, sources, user_names, record):
        """sources: an iterator of addresses, shared by the attackers; after
        a refusal the attacker moves on to the next one (an attacker with
        many addresses), so blocks keep being made and expiring."""
        self.c, self.sources, self.names, self.record = clients, sources, user_names, record
        self.source = next(sources)
        self.guesses = 0

    def connect(self, port, tls):
        raw = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(self.source, 0))
        if not tls:
            return raw
        try:
            return self.c.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        except (ssl.SSLError, ConnectionError, OSError) as e:
            # A blocked source on an implicit-TLS listener is closed before
            # the handshake, without a word.
            raw.close()
            raise Blocked("blocked (closed before TLS)") from e

    def guess(self):
        self.guesses += 1
        return f"Guess-{os.urandom(6).hex()}"

    def user(self, rnd):
        return rnd.choice(self.names + [f"nobody{rnd.randint(0, 999)}"])

    def once(self, rnd):
        proto = rnd.choice(("smtp", "smtp", "imap", "pop3"))
        try:
            outcome = getattr(self, proto)(rnd)
        except Blocked as e:
            outcome = str(e)
        except Exception as e:
            outcome = error_word(e)
        self.record("brute " + proto, outcome)
        if outcome.startswith(("blocked", "refused", "disconnected", "ConnectionRefused")):
            time.sleep(self.BLOCK_PAUSE)
            if outcome.startswith("blocked") and rnd.random() < 0.2:
                self.source = next(self.sources)
        return outcome

    def smtp(self, rnd):
        with self.connect(self.c.ports["smtp_plain"], False) as s:
            f = s.makefile("rb")

            def reply():
                while True:
                    line = f.readline()
                    if not line:
                        return b"(closed)"
                    if line[3:4] != b"-":
                        return line.strip()

            greeting = reply()
            if not greeting.startswith(b"220"):
                return "blocked at greeting " + reply_word(greeting[:3].decode(), greeting[4:])
            s.sendall(b"EHLO attacker\r\n")
            reply()
            last = "auth failed"
            for _ in range(3):
                creds = base64.b64encode(b"\0" + self.user(rnd).encode() + b"\0" + self.guess().encode())
                s.sendall(b"AUTH PLAIN " + creds + b"\r\n")
                r = reply()
                if r.startswith(b"535"):
                    continue
                if r.startswith(b"421 4.7.0 Too many authentication failures"):
                    return "auth failed (3 per connection)"
                if r.startswith(b"421") or r.startswith(b"454"):
                    return "blocked " + reply_word(r[:3].decode(), r[4:])
                return "unexpected " + r[:20].decode(errors="replace")
            s.sendall(b"QUIT\r\n")
            return last

    def imap(self, rnd):
        with self.connect(self.c.ports["imaps"], True) as s:
            f = s.makefile("rb")
            greeting = f.readline()
            if not greeting.startswith(b"* OK"):
                return "blocked at greeting " + tag_word(greeting)
            for i in range(3):
                s.sendall(b'a%d LOGIN "%s" "%s"\r\n' % (i, self.user(rnd).encode(), self.guess().encode()))
                while True:
                    line = f.readline()
                    if not line:
                        return "disconnected"
                    if line.startswith(b"* BYE"):
                        return "blocked " + tag_word(line)
                    if line.startswith(b"a%d " % i):
                        break
                if line.startswith(b"a%d OK" % i):
                    return "unexpected login OK"
            return "auth failed"

    def pop3(self, rnd):
        with self.connect(self.c.ports["pop3s"], True) as s:
            f = s.makefile("rb")
            greeting = f.readline()
            if not greeting.startswith(b"+OK"):
                return "blocked at greeting " + tag_word(greeting)
            for _ in range(3):
                s.sendall(b"USER " + self.user(rnd).encode() + b"\r\n")
                if not f.readline().startswith(b"+OK"):
                    return "refused USER"
                s.sendall(b"PASS " + self.guess().encode() + b"\r\n")
                line = f.readline()
                if not line:
                    return "disconnected"
                if line.startswith(b"+OK"):
                    return "unexpected login OK"
                if b"[SYS/TEMP]" in line or b"[IN-USE]" in line or b"[UNAVAILABLE]" in line:
                    return "blocked " + tag_word(line)
            return "auth failed"


def tag_word(line):
    """`* BYE [UNAVAILABLE] ...` -> `* BYE [UNAVAILABLE]`; `-ERR [SYS/TEMP] ...` -> `-ERR [SYS/TEMP]`."""
    m = re.match(rb"^(\* BYE|\* OK|-ERR|\+OK)( \[[^\]]*\])?", line)
    return m.group(0).decode(errors="replace") if m else line[:16].decode(errors="replace").strip()


def paced(stop, rate, op, seed):
    """Calls op(rnd) about `rate` times a second (±30 % jitter) until `stop`
    is set; a slow op delays the next one, it never causes a burst."""
    rnd = random.Random(seed)
    nxt = time.monotonic()
    while not stop.is_set():
        op(rnd)
        nxt = max(nxt + rnd.uniform(0.7, 1.3) / rate, time.monotonic())
        stop.wait(max(0.0, nxt - time.monotonic()))

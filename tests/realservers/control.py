"""Looking inside the running real-server look-alike (tests run as root, as
it does): its ports, the Exchange-side grants, the mailboxes on disk, LMTP
delivery, and a reset between tests."""
import json
import os
import smtplib
import subprocess
import time

import dovecot_conf


class RealServersControl:
    def __init__(self, info_path):
        with open(info_path) as f:
            info = json.load(f)
        self.dir, self.mailboxes = info["dir"], info["mailboxes"]
        self.imap_port, self.pop3_port, self.lmtp_port = info["imap"], info["pop3"], info["lmtp"]
        self.submission_port = info["submission"]
        self.submission_nochunking_port = info["submission_nochunking"]
        self.dovecot_conf = os.path.join(self.dir, "dovecot.conf")
        self.postfix_dir = os.path.join(self.dir, "postfix")
        self._granted = {s: list(self.mailboxes) for s in dovecot_conf.SERVICES}  # as started

    def grant(self, service, mailboxes):
        """Which mailboxes the app may open over `service` (imap, pop3, smtp):
        Exchange's FullAccess / SMTP AUTH switch. In effect for every login
        that starts after this returns."""
        assert service in dovecot_conf.SERVICES, service
        if self._granted.get(service) == list(mailboxes):
            return
        # Dovecot looks at a passwd-file's mtime (whole seconds) and size at
        # most once a second: a file rewritten within the second of the last
        # look may go unnoticed. Written in a new second, it cannot.
        time.sleep(1 - time.time() % 1 + 0.01)
        path = os.path.join(self.dir, "access", f"{service}.passwd")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(dovecot_conf.access_file(mailboxes))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        self._granted[service] = list(mailboxes)

    def _run(self, argv):
        out = subprocess.run(argv, capture_output=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({out.returncode}): {out.stderr.decode(errors='replace')}")
        return out.stdout.decode(errors="replace")

    def reset(self):
        """Every grant back, every queued message dropped, no IMAP/POP3
        session left (a test counting Dovecot's connections per mailbox must
        not see the previous test's), every mailbox empty."""
        for service in dovecot_conf.SERVICES:
            self.grant(service, self.mailboxes)
        self._run(["/usr/sbin/postsuper", "-c", self.postfix_dir, "-d", "ALL"])
        doveadm = ["/usr/bin/doveadm", "-c", self.dovecot_conf]
        deadline = time.monotonic() + 15
        while self.sessions():
            subprocess.run(doveadm + ["kick", *self.mailboxes], capture_output=True, timeout=30)  # 68: none
            assert time.monotonic() < deadline, f"Dovecot sessions left: {self.sessions()}"
            time.sleep(0.1)
        for m in self.mailboxes:
            self._run(doveadm + ["expunge", "-u", m, "mailbox", "*", "all"])

    def sessions(self):
        """Dovecot's open IMAP/POP3 sessions: [(mailbox, protocol), ...]."""
        lines = self._run(["/usr/bin/doveadm", "-c", self.dovecot_conf, "who", "-1"]).splitlines()[1:]
        return [tuple(line.split()[:2]) for line in lines if line.strip()]

    def dovecot_log(self):
        with open(os.path.join(self.dir, "dovecot.log"), errors="replace") as f:
            return f.read()

    def deliver(self, mailbox, data):
        """Puts a raw message into `mailbox` over LMTP, as Postfix would."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=30) as lmtp:
            lmtp.sendmail("sender@example.com", [mailbox], data)

    def messages(self, mailbox):
        """Raw messages in `mailbox`'s INBOX (new and cur), in delivery order."""
        base = os.path.join(self.dir, "mail", mailbox)
        found = []
        for sub in ("new", "cur"):
            p = os.path.join(base, sub)
            if os.path.isdir(p):
                found += [os.path.join(p, n) for n in os.listdir(p)]

        def delivered(path):  # Dovecot names files <seconds>.M<microseconds>P<pid>...
            secs, rest = os.path.basename(path).split(".", 1)
            micro = rest[1:].split("P", 1)[0] if rest.startswith("M") else "0"
            return int(secs), int(micro) if micro.isdigit() else 0, path
        out = []
        for path in sorted(found, key=delivered):
            try:
                with open(path, "rb") as f:
                    out.append(f.read())
            except FileNotFoundError:  # expunged meanwhile
                pass
        return out

    def wait_messages(self, mailbox, count, timeout=30):
        """The mailbox's messages once it holds `count` (Postfix delivers after
        its 250); fails with the servers' logs if they do not arrive."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages(mailbox)
            if len(msgs) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(msgs) >= count, (f"{mailbox}: {len(msgs)} of {count} messages after {timeout}s\n"
                                    + self.log_tail())
        return msgs

    def log_tail(self, n=3000):
        out = []
        for name in ("dovecot.log", "postfix.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.append(f"--- {name}\n" + f.read()[-n:])
            except OSError:
                pass
        return "\n".join(out)


def body_of(delivered, original, loose=False):
    """`original` as it sits in a mailbox (or as a client saved it): mail
    servers and fetching clients only prepend trace headers (Return-Path,
    Delivered-To, Received). Returns what was prepended; fails if anything
    else changed. `loose`: line ends may have become LF and a final empty
    line may have been added (clients saving to files do both)."""
    if loose:
        delivered = delivered.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
        original = original.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"
    assert delivered.endswith(original), "the message changed on its way (not just trace headers prepended)"
    added = delivered[: len(delivered) - len(original)]
    for line in added.split(b"\r\n" if b"\r\n" in added else b"\n"):
        assert not line or line[:1] in (b" ", b"\t") or line.split(b":", 1)[0] in (
            b"Return-Path", b"Delivered-To", b"Received"), line
    return added

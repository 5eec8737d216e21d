#!/usr/bin/python3
"""Real mail servers as an Office 365 look-alike, on 127.0.0.1 only:

- Dovecot: IMAP and POP3 with implicit TLS (as outlook.office365.com:993 and
  :995) and LMTP; its `oauth2` passdb validates the stand-in token endpoint's
  RS256 JWTs locally, and it offers only XOAUTH2, as Exchange does;
- Postfix: submission with STARTTLS (as smtp.office365.com:587), SASL
  through Dovecot's auth (XOAUTH2 with the same checks), delivering over
  LMTP into the same Dovecot mailboxes; one port with CHUNKING, one without.

    /usr/bin/python3 tests/realservers/realservers.py --standin-dir DIR \\
        --tenant-id TID --client-id CID --mailbox a@contoso.com [--mailbox ...] --dir OUT

Configs are generated into a fresh directory under /tmp. Writes
OUT/realservers.json (ports and that directory; see RealServersInfo) once
every port accepts connections. Runs until stdin closes or SIGTERM, then
stops both servers and removes the directory. Must run as root: Postfix's
master starts as root (its daemons run as `postfix`). Dovecot is started as
the unprivileged `dovecot` user and never has root.
"""
import argparse
import ctypes
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from cryptography.hazmat.primitives import serialization

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "standin"))
import dovecot_conf  # noqa: E402
import pki  # noqa: E402
import postfix_conf  # noqa: E402
from token_endpoint import TokenIssuer  # noqa: E402  (the kid the stand-in puts in its tokens)

# Dovecot runs wholly as this unprivileged user (its package creates it);
# it owns the mailboxes too.
DOVECOT_USER = "dovecot"
PORTS = ("imap", "pop3", "lmtp", "submission", "submission_nochunking")


def free_ports(names):
    """Distinct free ports: all bound at once, then released for the servers."""
    socks = [socket.socket() for _ in names]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return {name: s.getsockname()[1] for name, s in zip(names, socks)}
    finally:
        for s in socks:
            s.close()


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)  # Dovecot re-reads passwd-files on change: never half a file


def _die_with_parent():
    """In the child before exec: SIGTERM when this process dies, however it
    dies (SIGKILL included), so Dovecot cannot outlive us. Postfix's master
    changes its credentials at start, which clears this: it is stopped by
    stop(), which every way out of main() but SIGKILL reaches."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_port(port, alive, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class RealServers:
    """Owns the Dovecot and Postfix processes and their directory."""

    def __init__(self, standin_dir, tenant_id, client_id, mailboxes, max_userip_connections=20,
                 max_message_size=36700160):
        self.standin_dir, self.tenant_id, self.client_id = standin_dir, tenant_id, client_id
        self.mailboxes = list(mailboxes)
        self.max_userip_connections, self.max_message_size = max_userip_connections, max_message_size
        self.dir = tempfile.mkdtemp(prefix="xr-realservers-", dir="/tmp")
        os.chmod(self.dir, 0o755)  # the servers' unprivileged users read their files here
        self.ports = free_ports(PORTS)
        self.dovecot = self.postfix = None

    def info(self):
        return dict(self.ports, dir=self.dir, mailboxes=self.mailboxes)

    def log_tail(self, n=3000):
        out = []
        for name in ("dovecot.stderr", "dovecot.log", "postfix.stderr", "postfix.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            if text:
                out.append(f"--- {name}\n{text[-n:]}")
        return "\n".join(out)

    def _setup(self):
        d = self.dir
        for name in (pki.SERVER_CERT, pki.SERVER_KEY):
            shutil.copy(os.path.join(self.standin_dir, name), os.path.join(d, name))
        os.chmod(os.path.join(d, pki.SERVER_KEY), 0o600)
        shutil.chown(os.path.join(d, pki.SERVER_KEY), DOVECOT_USER, DOVECOT_USER)  # Postfix reads it as root
        issuer = TokenIssuer(pki.load_key(os.path.join(self.standin_dir, pki.TOKEN_KEY)))
        pem = issuer.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
        write(os.path.join(d, "keys", "default", "RS256", issuer.kid), pem.decode())
        write(os.path.join(d, "oauth2.conf.ext"), dovecot_conf.oauth2_conf(d, self.tenant_id, self.client_id))
        for service in dovecot_conf.SERVICES:
            write(os.path.join(d, "access", f"{service}.passwd"), dovecot_conf.access_file(self.mailboxes))
        write(os.path.join(d, "dovecot.conf"), dovecot_conf.dovecot_conf(
            d, self.ports, DOVECOT_USER, DOVECOT_USER, self.max_userip_connections))
        for sub in ("mail", "dovecot-run", "dovecot-state"):
            os.makedirs(os.path.join(d, sub))
            shutil.chown(os.path.join(d, sub), DOVECOT_USER, DOVECOT_USER)
        write(os.path.join(d, "dovecot.log"), "")
        shutil.chown(os.path.join(d, "dovecot.log"), DOVECOT_USER, DOVECOT_USER)

        pf = os.path.join(d, "postfix")
        os.makedirs(os.path.join(d, "postfix-queue"), mode=0o755)
        os.makedirs(os.path.join(d, "postfix-data"), mode=0o700)
        shutil.chown(os.path.join(d, "postfix-data"), "postfix", "postfix")
        write(os.path.join(pf, "main.cf"), postfix_conf.main_cf(d, self.ports, self.mailboxes,
                                                                self.max_message_size))
        write(os.path.join(pf, "master.cf"), postfix_conf.master_cf(self.ports))
        # postfix-script checks its file list and dynamic map list in the config directory.
        shutil.copy("/etc/postfix/postfix-files", pf)
        for extra in ("postfix-files.d", "dynamicmaps.cf.d"):
            if os.path.isdir(f"/etc/postfix/{extra}"):
                shutil.copytree(f"/etc/postfix/{extra}", os.path.join(pf, extra))
        if os.path.exists("/etc/postfix/dynamicmaps.cf"):
            shutil.copy("/etc/postfix/dynamicmaps.cf", pf)

    def _spawn(self, name, argv, user=None):
        def child():
            if user:  # drop root for good, then ask for the death signal (a uid change clears it)
                pw = pwd.getpwnam(user)
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
            _die_with_parent()
        with open(os.path.join(self.dir, f"{name}.stderr"), "wb") as err:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                                    preexec_fn=child)

    def _alive(self, name, proc):
        def check():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{self.log_tail()}")
        return check

    def start(self):
        self._setup()
        self.dovecot = self._spawn("dovecot", ["/usr/sbin/dovecot", "-F", "-c",
                                               os.path.join(self.dir, "dovecot.conf")], user=DOVECOT_USER)
        for k in ("imap", "pop3", "lmtp"):
            wait_port(self.ports[k], self._alive("dovecot", self.dovecot))
        # `postfix check` creates the queue's directories; then master runs
        # as our own child (-d: no detaching). `postfix start(-fg)` would
        # leave it a session leader of its own that outlives us when we are
        # killed.
        pf = os.path.join(self.dir, "postfix")
        check = subprocess.run(["/usr/sbin/postfix", "-c", pf, "check"], capture_output=True, timeout=60)
        if check.returncode != 0:
            raise RuntimeError(f"postfix check failed: {check.stderr.decode(errors='replace')}{self.log_tail()}")
        self.postfix = self._spawn("postfix", ["/usr/lib/postfix/sbin/master", "-c", pf, "-d"])
        for k in ("submission", "submission_nochunking"):
            wait_port(self.ports[k], self._alive("postfix", self.postfix), timeout=60)
        return self

    def stop(self):
        for proc in (self.postfix, self.dovecot):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--standin-dir", required=True, help="the stand-in's --dir (keys and certificates)")
    parser.add_argument("--tenant-id", required=True)
    parser.add_argument("--client-id", required=True, help="the one app whose tokens are accepted")
    parser.add_argument("--mailbox", action="append", required=True)
    parser.add_argument("--max-userip-connections", type=int, default=20)
    parser.add_argument("--dir", required=True, help="realservers.json goes here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("realservers: must run as root (Postfix's master starts as root)")
    # The servers' own users (postfix, dovecot) read what is written here,
    # whatever umask the caller runs with (scripts/demo.sh uses 077).
    os.umask(0o022)
    servers = RealServers(args.standin_dir, args.tenant_id, args.client_id, args.mailbox,
                          max_userip_connections=args.max_userip_connections)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())

    def watch_stdin():
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        stop.set()
    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        try:
            servers.start()
        except RuntimeError as e:
            sys.exit(f"realservers: {e}")
        path = os.path.join(args.dir, "realservers.json")
        with open(path + ".tmp", "w") as f:
            json.dump(servers.info(), f)
        os.replace(path + ".tmp", path)
        print(f"realservers: listening {json.dumps(servers.ports)} in {servers.dir}", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            for name, proc in (("dovecot", servers.dovecot), ("postfix", servers.postfix)):
                if proc.poll() is not None:
                    print(f"realservers: {name} exited ({proc.returncode}):\n{servers.log_tail()}",
                          file=sys.stderr, flush=True)
                    stop.set()
    finally:
        servers.stop()
        servers.cleanup()


if __name__ == "__main__":
    main()

"""The client side of the interoperability matrix: mail clients no one here
wrote (Python's smtplib/imaplib/poplib, swaks, curl, msmtp, fetchmail,
mbsync), each driven over one listener kind of the relay, with the relay in
front of the real-server look-alike (Postfix and Dovecot).

Every row is a client and the login it uses; every cell a listener kind
(plain, STARTTLS, implicit TLS). A cell runs the client for real: SMTP
clients send a message that must arrive in Dovecot's mailbox; IMAP and POP3
clients fetch a message that was put there. A row whose client cannot do
that login says why (`gap`) and is not run."""
import base64
import dataclasses
import email.utils
import os
import re
import shlex
import subprocess
import sys
from typing import Callable, Optional

from relay_clients import mail_login
from relay_helpers import PASSWORD, USER

MAILBOX = "scanner@contoso.com"
KINDS = ("plain", "starttls", "implicit")
KIND_TITLES = {"plain": "plain", "starttls": "STARTTLS", "implicit": "implicit TLS"}


@dataclasses.dataclass(frozen=True)
class Row:
    protocol: str               # smtp | imap | pop3
    client: str                 # program, as in the table
    login: str                  # the login the client uses, as the relay logs it (mechanism=)
    run: Optional[Callable] = None  # run(cell) -> bytes the client sent or fetched
    gap: str = ""               # why the row cannot run (then run is None)

    @property
    def id(self):
        return f"{self.protocol}-{self.client}-{self.login}".replace(" ", "_").replace("/", "_")


class Cell:
    """What a runner needs: the relay, the CA, a scratch directory, the message."""

    def __init__(self, row, kind, relay, standin, tmp, message):
        self.row, self.kind, self.relay, self.standin = row, kind, relay, standin
        self.tmp, self.message, self.ca = tmp, message, standin.ca
        self.listener = f"{row.protocol}_{kind}"
        self.port = relay.port(self.listener)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data, mode=0o600):
        p = self.path(name)
        with open(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return p


def cell_message(cell_id):
    """A message with what clients must get right: a Date and Message-ID (so
    none adds its own), dot lines, a 998-character line, and a line of one
    dot."""
    long_line = ("0123456789" * 100)[:998]
    return (f"Date: {email.utils.formatdate()}\r\nFrom: {MAILBOX}\r\nTo: {MAILBOX}\r\n"
            f"Subject: interop {cell_id}\r\nMessage-ID: <{cell_id}@interop.test>\r\nMIME-Version: 1.0\r\n\r\n"
            f"first line\r\n.starts with a dot\r\n.\r\n..\r\n{long_line}\r\nlast line\r\n").encode()


def redact(text):
    """Client output may echo the login (swaks prints AUTH lines): never let
    the password, or the base64 forms it travels in, reach the test report."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    b64 = lambda t: base64.b64encode(t.encode()).decode()  # noqa: E731
    for secret in (f"\0{USER}\0{PASSWORD}", PASSWORD):
        text = text.replace(b64(secret), "<redacted>").replace(secret, "<redacted>")
    return text


def run_program(argv, *, input=None, env=None, timeout=90):
    out = subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                         env=dict(os.environ, **(env or {})))
    if out.returncode != 0:
        raise AssertionError(f"{os.path.basename(argv[0])} exited {out.returncode}:\n"
                             + redact(out.stdout)[-3000:] + "\n" + redact(out.stderr)[-3000:])
    return out.stdout


def program_version(argv, pick):
    try:
        out = subprocess.run(argv, capture_output=True, timeout=30)
    except OSError:
        return "not installed"
    return pick((out.stdout + out.stderr).decode("utf-8", "replace"))


# --- Python ------------------------------------------------------------------

def smtplib_send(mechanism):
    def login(s, user, password):
        """smtplib's login(), limited to one mechanism (it prefers PLAIN)."""
        s.ehlo_or_helo_if_needed()
        s.esmtp_features["auth"] = mechanism
        s.login(user, password)

    def run(cell):
        with mail_login(cell.relay, cell.standin, cell.listener, login=login) as s:
            assert s.sendmail(MAILBOX, [MAILBOX], cell.message) == {}
        return cell.message
    return run


def imap_authenticate_plain(m, user, password):
    m.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())


def imaplib_fetch(authenticate):
    def run(cell):
        login = imap_authenticate_plain if authenticate else None
        with mail_login(cell.relay, cell.standin, cell.listener, login=login) as m:
            typ, _ = m.select("INBOX")
            assert typ == "OK"
            typ, data = m.fetch("1", "(BODY.PEEK[])")
            assert typ == "OK", data
            return data[0][1]
    return run


def poplib_retr(cell):
    with mail_login(cell.relay, cell.standin, cell.listener) as p:
        return b"\r\n".join(p.retr(1)[1]) + b"\r\n"


# --- swaks -------------------------------------------------------------------

def swaks_send(mechanism):
    def run(cell):
        # swaks sends the data, then CRLF "." CRLF: without its last CRLF the
        # message arrives exactly as written.
        data = cell.write("message.eml", cell.message[:-2] if cell.message.endswith(b"\r\n") else cell.message)
        tls = {"plain": [], "starttls": ["--tls"], "implicit": ["--tlsc"]}[cell.kind]
        verify = ["--tls-verify", "--tls-ca-path", cell.ca] if tls else []
        run_program(["swaks", "--server", "127.0.0.1", "--port", str(cell.port), *tls, *verify,
                     "--auth", mechanism, "--auth-user", USER, "--auth-password", PASSWORD,
                     "--from", MAILBOX, "--to", MAILBOX, "--data", data, "--timeout", "60"])
        return cell.message
    return run


# --- curl --------------------------------------------------------------------

def curl_tls(cell, scheme):
    if cell.kind == "implicit":
        return f"{scheme}s", ["--cacert", cell.ca]
    if cell.kind == "starttls":
        return scheme, ["--ssl-reqd", "--cacert", cell.ca]
    return scheme, []


def curl_config(cell):
    """The login goes in a config file (curl -K), not on the command line."""
    user = f"{USER}:{PASSWORD}".replace("\\", "\\\\").replace('"', '\\"')
    return cell.write("curl.conf", f'user = "{user}"\n')


def curl_send(mechanism):
    def run(cell):
        scheme, tls = curl_tls(cell, "smtp")
        data = cell.write("message.eml", cell.message)
        run_program(["curl", "-sS", "-K", curl_config(cell), *tls, "--login-options", f"AUTH={mechanism}",
                     "--url", f"{scheme}://127.0.0.1:{cell.port}", "--mail-from", MAILBOX,
                     "--mail-rcpt", MAILBOX, "--upload-file", data])
        return cell.message
    return run


def curl_fetch(cell):
    scheme, tls = curl_tls(cell, cell.row.protocol)
    path = "INBOX;MAILINDEX=1" if cell.row.protocol == "imap" else "1"
    return run_program(["curl", "-sS", "-K", curl_config(cell), *tls,
                        "--url", f"{scheme}://127.0.0.1:{cell.port}/{path}"])


# --- msmtp -------------------------------------------------------------------

def msmtp_send(mechanism):
    def run(cell):
        tls = {"plain": "tls off", "starttls": "tls on\ntls_starttls on",
               "implicit": "tls on\ntls_starttls off"}[cell.kind]
        rc = cell.write("msmtprc", f"""account relay
host 127.0.0.1
port {cell.port}
auth {mechanism.lower()}
user {USER}
password "{PASSWORD}"
from {MAILBOX}
{tls}
tls_trust_file {cell.ca}
timeout 60
""")
        run_program(["msmtp", "-C", rc, "-a", "relay", MAILBOX], input=cell.message)
        return cell.message
    return run


# --- fetchmail ---------------------------------------------------------------

def fetchmail_fetch(cell):
    # Certificates name localhost (fetchmail does not match IP addresses).
    tls = {"plain": "sslproto ''",
           "starttls": f"sslproto TLS1.2+ sslcertck sslcertfile {shlex.quote(cell.ca)} sslcommonname localhost",
           "implicit": f"ssl sslcertck sslcertfile {shlex.quote(cell.ca)} sslcommonname localhost"}[cell.kind]
    out = cell.path("fetched.eml")
    rc = cell.write("fetchmailrc", f"""set no syslog
poll 127.0.0.1 service {cell.port} protocol {cell.row.protocol.upper()} auth password timeout 60
  user "{USER}" there with password "{PASSWORD}" is "root" here
  {tls}
  keep fetchall
  mda "/bin/sh -c 'cat > {out}'"
""")
    run_program(["fetchmail", "-f", rc, "--nodetach"], env={"FETCHMAILHOME": cell.tmp})
    with open(out, "rb") as f:
        return f.read()


# --- mbsync ------------------------------------------------------------------

def mbsync_fetch(mechanism):
    def run(cell):
        ssl_type = {"plain": "None", "starttls": "STARTTLS", "implicit": "IMAPS"}[cell.kind]
        maildir = cell.path("maildir")
        os.makedirs(os.path.join(maildir, "INBOX"), exist_ok=True)
        os.makedirs(cell.path("state"), exist_ok=True)
        # Host localhost: the certificate names it (mbsync does not match IP addresses).
        rc = cell.write("mbsyncrc", f"""IMAPAccount relay
Host localhost
Port {cell.port}
User {USER}
Pass "{PASSWORD}"
SSLType {ssl_type}
CertificateFile {cell.ca}
AuthMechs {mechanism}
Timeout 60

IMAPStore relay-remote
Account relay

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX

Channel inbox
Far :relay-remote:INBOX
Near :local:
Sync Pull
Create Near
SyncState {cell.path("state")}/
""")
        run_program(["mbsync", "-c", rc, "inbox"])
        found = []
        for sub in ("new", "cur"):
            d = os.path.join(maildir, "INBOX", sub)
            found += [os.path.join(d, n) for n in os.listdir(d)] if os.path.isdir(d) else []
        assert len(found) == 1, found
        with open(found[0], "rb") as f:
            saved = f.read()
        # mbsync adds one header of its own for its bookkeeping (X-TUID).
        return re.sub(rb"(?m)^X-TUID: [^\r\n]*\r?\n", b"", saved, count=1)
    return run


ROWS = [
    Row("smtp", "Python smtplib", "PLAIN", smtplib_send("PLAIN")),
    Row("smtp", "Python smtplib", "LOGIN", smtplib_send("LOGIN")),
    Row("smtp", "swaks", "PLAIN", swaks_send("PLAIN")),
    Row("smtp", "swaks", "LOGIN", swaks_send("LOGIN")),
    Row("smtp", "curl", "PLAIN", curl_send("PLAIN")),
    Row("smtp", "curl", "LOGIN", curl_send("LOGIN")),
    Row("smtp", "msmtp", "PLAIN", msmtp_send("PLAIN")),
    Row("smtp", "msmtp", "LOGIN", msmtp_send("LOGIN")),
    Row("imap", "Python imaplib", "LOGIN", imaplib_fetch(authenticate=False)),
    Row("imap", "Python imaplib", "AUTHENTICATE PLAIN", imaplib_fetch(authenticate=True)),
    Row("imap", "curl", "AUTHENTICATE PLAIN", curl_fetch),
    Row("imap", "curl", "LOGIN", gap="curl 7.88 cannot be told to use the LOGIN command: `--login-options "
                                      "AUTH=+LOGIN` is refused as a bad URL option and `AUTH=LOGIN` asks for the SASL "
                                      "LOGIN mechanism, which IMAP servers (the relay, Exchange) do not offer; with "
                                      "AUTH=PLAIN offered, curl uses AUTHENTICATE PLAIN (row above)"),
    Row("imap", "fetchmail", "LOGIN", fetchmail_fetch),
    Row("imap", "mbsync", "LOGIN", mbsync_fetch("LOGIN")),
    Row("imap", "mbsync", "AUTHENTICATE PLAIN", mbsync_fetch("PLAIN")),
    Row("pop3", "Python poplib", "USER/PASS", poplib_retr),
    Row("pop3", "curl", "AUTH PLAIN", curl_fetch),
    Row("pop3", "curl", "USER/PASS", gap="curl 7.88 has no login option for USER/PASS (only `AUTH=+APOP`) and "
                                          "sends it only when CAPA lists no SASL mechanism; with SASL PLAIN listed, "
                                          "curl uses AUTH PLAIN (row above)"),
    Row("pop3", "fetchmail", "USER/PASS", fetchmail_fetch),
]

VERSIONS = {
    "Python smtplib": lambda: f"Python {sys.version.split()[0]}",
    "Python imaplib": lambda: f"Python {sys.version.split()[0]}",
    "Python poplib": lambda: f"Python {sys.version.split()[0]}",
    "swaks": lambda: program_version(["swaks", "--version"], lambda t: t.split()[2] if t.startswith("swaks") else "?"),
    "curl": lambda: program_version(["curl", "--version"], lambda t: t.split()[1]),
    "msmtp": lambda: program_version(["msmtp", "--version"], lambda t: t.splitlines()[0].split()[-1]),
    "fetchmail": lambda: program_version(["fetchmail", "--version"],
                                         lambda t: next(l.split()[4].rstrip(".").split("+")[0] for l in t.splitlines()
                                                        if l.startswith("This is fetchmail release"))),
    "mbsync": lambda: program_version(["mbsync", "--version"], lambda t: t.split()[1]),
}

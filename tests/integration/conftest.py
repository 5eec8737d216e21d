"""Fixtures for the end-to-end tests:

- `standin` (session): the Office 365 stand-in (tests/standin/standin.py) with
  one tenant and app; reset (knobs, counters, messages) before every test.
- `relay` (factory): starts xoauth2-relay with a config aimed at the stand-in;
  keyword overrides change the config; at teardown it is stopped and its log
  must not contain the client secret, a test password or an access token.
- `relay_bin`: the binary ($XR_RELAY_BIN, default <repo>/build/xoauth2-relay).
- `realservers` (session, from real_upstream.py): Postfix and Dovecot as the
  upstream instead of the stand-in's own servers (tests/realservers/).
"""
import base64
import contextlib
import copy
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from relay_helpers import PASSWORD, USER, stop_process
from standin_client import StandinControl
import yaml_emit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STANDIN_DIR = os.path.join(REPO, "tests", "standin")
sys.path.insert(0, STANDIN_DIR)
import pki  # noqa: E402  (the stand-in's own PKI helpers, for the app certificate)
from ports import free_port  # noqa: E402,F401  (tests import it from conftest)

# The Dovecot/Postfix look-alike's fixtures (`realservers`) and its reset.
pytest_plugins = ["real_upstream"]

PYTHON = "/usr/bin/python3"  # Debian's, with python3-cryptography; never a pyenv one
TENANT_ID = "5f3c1a2b-0000-4000-8000-000000000001"
CLIENT_ID = "8a1b2c3d-0000-4000-8000-000000000002"
# A second app in the same tenant without SMTP.SendAsApp (admin forgot the role).
NOROLE_CLIENT_ID = "8a1b2c3d-0000-4000-8000-000000000003"
# A Graph app without the tenant-wide Mail.Send role, allowed by an RBAC for
# Applications grant to send as scanner@contoso.com only.
RBAC_CLIENT_ID = "8a1b2c3d-0000-4000-8000-000000000004"
SCOPE = "https://outlook.office365.com/.default"
START_TIMEOUT = 30  # seconds; generous for ASan builds
TOKEN_RE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


def _tail(path, secrets_=(), n=4000):
    """The end of a log, with known secrets and tokens blanked: failure
    messages must never print credentials."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    for s in secrets_:
        if s:
            text = text.replace(s, "<redacted>")
    return TOKEN_RE.sub("<token>", text)[-n:]


class Standin(StandinControl):
    """The running stand-in: control API methods plus where everything is."""

    def __init__(self, directory, ports, secret, proc):
        super().__init__(ports["control"])
        self.dir, self.ports, self.secret, self.proc = directory, ports, secret, proc
        self.control = self
        self.token_port, self.smtp_port, self.control_port = ports["token"], ports["smtp"], ports["control"]
        self.imap_port, self.pop3_port = ports["imap"], ports["pop3"]
        self.graph_port = ports.get("graph")
        self.graph_endpoint = f"https://127.0.0.1:{self.graph_port}"  # a tenant's graph.endpoint
        self.ca = os.path.join(directory, pki.CA_CERT)
        self.server_cert = os.path.join(directory, pki.SERVER_CERT)
        self.server_key = os.path.join(directory, pki.SERVER_KEY)
        self.client_cert = os.path.join(directory, "app.crt")  # registered for CLIENT_ID
        self.client_key = os.path.join(directory, "app.key")
        self.apps_path = os.path.join(directory, "apps.json")
        self.log_path = os.path.join(directory, "standin.log")
        self.tenant_id, self.client_id = TENANT_ID, CLIENT_ID
        self.authority = f"https://127.0.0.1:{self.token_port}"

    def token_url(self, tenant=TENANT_ID):
        return f"{self.authority}/{tenant}/oauth2/v2.0/token"

    def tls_context(self):
        return ssl.create_default_context(cafile=self.ca)

    def request_token(self, tenant=TENANT_ID, **form):
        """POSTs a client-credentials request; returns (HTTP status, JSON body).
        Defaults: this app, its secret, the Exchange scope."""
        fields = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "scope": SCOPE,
                  "client_secret": self.secret}
        fields.update(form)
        body = urllib.parse.urlencode({k: v for k, v in fields.items() if v is not None}).encode()
        req = urllib.request.Request(self.token_url(tenant), data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, context=self.tls_context(), timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def token(self, **kw):
        status, doc = self.request_token(**kw)
        assert status == 200, doc.get("error_codes") if isinstance(doc, dict) else status
        return doc["access_token"]


def _apps_config(secret, cert_pem):
    mailboxes = {"scanner@contoso.com": {"send_as": ["scanner@contoso.com"]},
                 "mfp@contoso.com": {"send_as": ["*@contoso.com"]}}
    return {"tenants": {TENANT_ID: {"apps": {
        CLIENT_ID: {"secret": secret, "cert_pem": cert_pem,
                    "roles": ["SMTP.SendAsApp", "IMAP.AccessAsApp", "POP.AccessAsApp", "Mail.Send"],
                    "mailboxes": mailboxes},
        NOROLE_CLIENT_ID: {"secret": secret, "roles": [], "mailboxes": mailboxes},
        RBAC_CLIENT_ID: {"secret": secret, "roles": [], "graph_mailboxes": ["scanner@contoso.com"]},
    }, "users": ["other@contoso.com"]}}}


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("standin"))
    secret = secrets.token_urlsafe(32)
    cert, key = pki.self_signed("xoauth2-relay test app")
    _write_private(os.path.join(d, "app.key"), pki.key_pem(key))
    with open(os.path.join(d, "app.crt"), "wb") as f:
        f.write(pki.cert_pem(cert))
    apps_path = os.path.join(d, "apps.json")
    _write_private(apps_path, json.dumps(_apps_config(secret, pki.cert_pem(cert).decode())).encode())
    log_path = os.path.join(d, "standin.log")
    ports_path = os.path.join(d, "ports.json")
    argv = [PYTHON, os.path.join(STANDIN_DIR, "standin.py"), "--dir", d, "--config", apps_path]
    with background_server(argv, ports_path, log_path, "the stand-in", secrets_=[secret]) as proc:
        with open(ports_path) as f:
            ports = json.load(f)
        yield Standin(d, ports, secret, proc)


@contextlib.contextmanager
def background_server(argv, ready_path, log_path, what, timeout=START_TIMEOUT, stop_timeout=10, secrets_=()):
    """Runs a test server (the stand-in, the Dovecot/Postfix look-alike) until
    the block ends. Its stdin is a pipe we hold, so it also stops if pytest
    dies; it is ready once it has written `ready_path`."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while not os.path.exists(ready_path):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{what} did not start:\n" + _tail(log_path, secrets_), pytrace=False)
        time.sleep(0.05)
    try:
        yield proc
    finally:
        proc.stdin.close()
        stop_process(proc, stop_timeout)


@pytest.fixture(autouse=True)
def _standin_reset(request):
    """Every test starts with a healthy, empty stand-in (only if it uses one)."""
    if "standin" in request.fixturenames:
        request.getfixturevalue("standin").reset()


# --- the relay ---------------------------------------------------------------

@pytest.fixture(scope="session")
def relay_bin():
    path = os.environ.get("XR_RELAY_BIN") or os.path.join(REPO, "build", "xoauth2-relay")
    if not os.access(path, os.X_OK):
        if os.environ.get("XR_RELAY_BIN"):
            pytest.fail(f"XR_RELAY_BIN={path} is not an executable", pytrace=False)
        pytest.skip(f"relay not built ({path}); set XR_RELAY_BIN")
    return path


_hash_cache = {}


def password_hash(relay_bin, password):
    """`xoauth2-relay hash-password` with the password on stdin (cached: it is slow on purpose)."""
    key = (relay_bin, password)  # the fixture's own tests use a fake binary
    if key not in _hash_cache:
        out = subprocess.run([relay_bin, "hash-password"], input=(password + "\n").encode(),
                             capture_output=True, timeout=60)
        lines = out.stdout.decode("utf-8", "replace").strip().splitlines()
        if out.returncode != 0 or not lines or not lines[-1].startswith("$"):
            err = out.stderr.decode("utf-8", "replace").replace(password, "<redacted>")
            pytest.fail(f"hash-password failed (exit {out.returncode}): {err[-2000:]}", pytrace=False)
        _hash_cache[key] = lines[-1].strip()
    return _hash_cache[key]


def merge(base, over):
    """Deep merge for config overrides: dicts merge, None deletes, anything else replaces."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


DEFAULT_LISTENERS = [{"tls": "starttls"}, {"tls": "implicit"}, {"tls": "none"}]
KIND = {"starttls": "starttls", "implicit": "implicit", "none": "plain"}


def default_user(**over):
    return merge({"password": PASSWORD, "tenant": "contoso", "mailbox": "scanner@contoso.com",
                  "protocols": ["smtp"]}, over)


class Relay:
    """One running relay. `port(name)`: a listener's port; names default to
    "starttls", "implicit", "plain" (tls: none) unless the listener had "name"."""

    def __init__(self, binary, directory, config, ports, forbidden):
        self.bin, self.dir, self.config, self.ports = binary, directory, config, ports
        self.config_path = os.path.join(directory, "relay.yaml")
        self.log_path = os.path.join(directory, "relay.log")
        self.forbidden = forbidden  # {description: value}; must never appear in the log
        self.proc = None
        self.write_config(config)

    def port(self, name="starttls"):
        return self.ports[name]

    def write_config(self, config):
        """(Re)writes relay.yaml; follow with reload() to test SIGHUP."""
        self.config = config
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(yaml_emit.dump(config))

    def start(self, wait=True):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.bin, "run", "--config", self.config_path], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            self.wait_listening()
        return self

    def wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        pending = set(self.ports.values())
        while pending:
            if self.proc.poll() is not None:
                pytest.fail(f"the relay exited ({self.proc.returncode}) before listening:\n"
                            + self.redacted_tail(), pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"the relay is not listening on {sorted(pending)} after "
                            f"{START_TIMEOUT}s:\n" + self.redacted_tail(), pytrace=False)
            for p in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", p), timeout=1).close()
                    pending.discard(p)
                except OSError:
                    pass
            time.sleep(0.05)

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        """SIGTERM, up to 10 s to finish, then SIGKILL. Returns the exit status."""
        if self.proc is None:
            return None
        return stop_process(self.proc)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def forbid_in_log(self, what, value):
        """Adds a value (e.g. a wrong password a test typed) the log must never hold."""
        self.forbidden[what] = value

    def redacted_tail(self):
        return _tail(self.log_path, list(self.forbidden.values()))

    def leaks(self):
        """Descriptions (never values) of credentials found in the log, also as
        they travel in AUTH PLAIN/LOGIN (base64)."""
        log = self.log_text()
        b64 = lambda t: base64.b64encode(t.encode()).decode()  # noqa: E731
        users = list(self.config.get("users") or {}) + [USER]
        found = []
        for what, value in self.forbidden.items():
            forms = [value, b64(value)] + [b64(f"\0{u}\0{value}") for u in users]
            if value and any(f in log for f in forms):
                found.append(what)
        if "eyJ" in log:
            found.append("something that looks like a token (eyJ...)")
        return found


@pytest.fixture
def relay(standin, relay_bin, tmp_path_factory):
    """Factory: relay(listeners=[...], users={...}, no_auth=[...], limits={...},
    tenants={...}, client_secret="...", start=True, **other_top_level_keys).

    listeners: replaces the default three; each entry is merged over
      {protocol: smtp, listen: 127.0.0.1:<free>, tls, cert_file/key_file (TLS),
       allow_plaintext_auth: (tls == none)}; an optional "name" names its port.
    users: merged per user over {password: PASSWORD, tenant: contoso,
      mailbox: scanner@contoso.com, protocols: [smtp]}; None removes a user;
      "password" becomes password_hash via `hash-password`.
    client_secret: what the relay's secret file holds (default: the right one).
    """
    started = []

    def make(*, listeners=None, users=None, no_auth=None, limits=None, tenants=None,
             client_secret=None, start=True, **extra):
        d = str(tmp_path_factory.mktemp("relay"))
        secret = standin.secret if client_secret is None else client_secret
        _write_private(os.path.join(d, "contoso.secret"), (secret + "\n").encode())
        forbidden = {"client secret": standin.secret, "configured client secret": secret,
                     "the default test password": PASSWORD}

        ports, rendered = {}, []
        for spec in (DEFAULT_LISTENERS if listeners is None else listeners):
            spec = dict(spec)
            tls = spec.get("tls", "starttls")
            name = spec.pop("name", None) or KIND.get(tls, tls)
            base = {"protocol": "smtp", "listen": f"127.0.0.1:{free_port()}", "tls": tls}
            if tls != "none":
                base.update(cert_file=standin.server_cert, key_file=standin.server_key)
            base["allow_plaintext_auth"] = tls == "none"
            entry = merge(base, spec)
            unique, i = name, 2
            while unique in ports:
                unique, i = f"{name}{i}", i + 1
            ports[unique] = int(entry["listen"].rsplit(":", 1)[1])
            rendered.append(entry)

        all_users = {USER: default_user()}
        for uname, spec in (users or {}).items():
            if spec is None:
                all_users.pop(uname, None)
            else:
                all_users[uname] = merge(all_users.get(uname) or default_user(), spec)
        for uname, u in all_users.items():
            if "password" in u:
                pw = u.pop("password")
                forbidden[f"password of user {uname}"] = pw
                u.setdefault("password_hash", password_hash(relay_bin, pw))

        config = {
            # The suite runs as root: stay root explicitly (a relay started as
            # root otherwise drops to server.user, xoauth2-relay, after binding).
            "server": {"hostname": "relay.test", "user": "root"},
            "log": {"level": "debug", "format": "text"},
            "tenants": {"contoso": {
                "tenant_id": TENANT_ID, "client_id": CLIENT_ID,
                "client_secret_file": "contoso.secret", "authority": standin.authority,
                "smtp": {"host": "127.0.0.1", "port": standin.smtp_port, "tls": "starttls"},
                "ca_file": standin.ca}},
            "listeners": rendered,
            "users": all_users,
        }
        if tenants:
            config["tenants"] = merge(config["tenants"], tenants)
        if no_auth is not None:
            config["no_auth"] = no_auth
        if limits:
            config["limits"] = limits
        config = merge(config, extra)
        r = Relay(relay_bin, d, config, ports, forbidden)
        started.append(r)
        return r.start() if start else r

    yield make

    problems = []
    for r in started:
        r.stop()
        leaked = r.leaks()
        if leaked:
            problems.append(f"{r.log_path}: the relay log contains " + ", ".join(leaked))
        # A session that ended in an exception is a bug whatever the test saw.
        if "session_crashed" in r.log_text():
            problems.append(f"{r.log_path}: a session crashed:\n" + r.redacted_tail())
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)

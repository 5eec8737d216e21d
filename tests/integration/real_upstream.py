"""The real-server look-alike (Dovecot + Postfix, tests/realservers/) as the
relay's upstream, for the interoperability tests:

- `realservers` (session fixture): started once beside the stand-in (whose
  token endpoint issues the tokens Dovecot checks), reset before each test
  that uses it: grants back, queue and mailboxes empty.
- `real_relay(relay, realservers, ...)`: a relay whose tenant's SMTP, IMAP
  and POP3 endpoints are Postfix and Dovecot, with one listener of every
  protocol and kind (names in LISTENERS), and whose default user may use all
  three protocols.

Postfix's master must start as root, so these tests need root (CI and
scripts/test.sh run as root). XR_SKIP_REALSERVERS=1 skips them explicitly."""
import os
import sys

import pytest

from conftest import CLIENT_ID, PYTHON, REPO, START_TIMEOUT, TENANT_ID, background_server, merge
from relay_helpers import USER

REALSERVERS_DIR = os.path.join(REPO, "tests", "realservers")
sys.path.insert(0, REALSERVERS_DIR)
from control import RealServersControl  # noqa: E402

MAILBOXES = ["scanner@contoso.com", "mfp@contoso.com"]

# name -> (protocol, tls); the names are the keys of Relay.port()
LISTENERS = {
    "smtp_plain": ("smtp", "none"), "smtp_starttls": ("smtp", "starttls"), "smtp_implicit": ("smtp", "implicit"),
    "imap_plain": ("imap", "none"), "imap_starttls": ("imap", "starttls"), "imap_implicit": ("imap", "implicit"),
    "pop3_plain": ("pop3", "none"), "pop3_starttls": ("pop3", "starttls"), "pop3_implicit": ("pop3", "implicit"),
}


@pytest.fixture(scope="session")
def realservers(standin, tmp_path_factory):
    if os.environ.get("XR_SKIP_REALSERVERS") == "1":
        pytest.skip("XR_SKIP_REALSERVERS=1: the Dovecot/Postfix look-alike is skipped on request")
    if os.geteuid() != 0:
        pytest.fail("the Dovecot/Postfix look-alike needs root (Postfix's master starts as root): "
                    "run the suite as root, or set XR_SKIP_REALSERVERS=1 to skip these tests", pytrace=False)
    d = str(tmp_path_factory.mktemp("realservers"))
    argv = [PYTHON, os.path.join(REALSERVERS_DIR, "realservers.py"), "--standin-dir", standin.dir,
            "--tenant-id", TENANT_ID, "--client-id", CLIENT_ID, "--dir", d]
    for m in MAILBOXES:
        argv += ["--mailbox", m]
    info = os.path.join(d, "realservers.json")
    with background_server(argv, info, os.path.join(d, "realservers.log"), "Dovecot/Postfix",
                           timeout=2 * START_TIMEOUT, stop_timeout=30):
        yield RealServersControl(info)


@pytest.fixture(autouse=True)
def _realservers_reset(request):
    if "realservers" in request.fixturenames:
        request.getfixturevalue("realservers").reset()


def real_relay(relay, realservers, users=None, tenants=None, listeners=None, chunking=True, **kw):
    """A relay in front of Postfix (with or without CHUNKING) and Dovecot."""
    endpoints = {"contoso": {
        "smtp": {"host": "127.0.0.1", "tls": "starttls",
                 "port": realservers.submission_port if chunking else realservers.submission_nochunking_port},
        "imap": {"host": "127.0.0.1", "port": realservers.imap_port, "tls": "implicit"},
        "pop3": {"host": "127.0.0.1", "port": realservers.pop3_port, "tls": "implicit"}}}
    if listeners is None:
        listeners = [{"name": n, "protocol": p, "tls": t} for n, (p, t) in LISTENERS.items()]
    all_users = merge({USER: {"protocols": ["smtp", "imap", "pop3"]}}, users or {})
    return relay(listeners=listeners, users=all_users, tenants=merge(endpoints, tenants or {}), **kw)


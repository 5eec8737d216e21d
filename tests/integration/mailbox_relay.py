"""Starting a relay with IMAP and POP3 listeners in front of the stand-in's
IMAP and POP3 servers."""
from conftest import merge
from relay_helpers import USER

MAILBOX = "scanner@contoso.com"

# name -> listener spec; names are the keys of Relay.port()
MAILBOX_LISTENERS = [
    {"name": "imaps", "protocol": "imap", "tls": "implicit"},
    {"name": "imap", "protocol": "imap", "tls": "starttls"},
    {"name": "imap_plain", "protocol": "imap", "tls": "none"},
    {"name": "pop3s", "protocol": "pop3", "tls": "implicit"},
    {"name": "pop3", "protocol": "pop3", "tls": "starttls"},
]


def mailbox_relay(relay, standin, users=None, tenants=None, **kw):
    """A relay whose default user may use IMAP and POP3, with the tenant's
    IMAP/POP3 endpoints at the stand-in."""
    endpoints = {"contoso": {
        "imap": {"host": "127.0.0.1", "port": standin.imap_port, "tls": "implicit"},
        "pop3": {"host": "127.0.0.1", "port": standin.pop3_port, "tls": "implicit"}}}
    all_users = merge({USER: {"protocols": ["imap", "pop3"]}}, users or {})
    return relay(listeners=kw.pop("listeners", MAILBOX_LISTENERS), users=all_users,
                 tenants=merge(endpoints, tenants or {}), **kw)

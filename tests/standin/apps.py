"""The app registrations the stand-in knows: which tenants exist, which apps
live in them, their credentials, roles, and the mailboxes each app may use
(Exchange's service principal + mailbox/SendAs permissions, flattened)."""
import json

from cryptography import x509


class Registry:
    def __init__(self, path):
        self.path = path
        self.tenants = {}
        self.load()

    def load(self):
        """(Re-)reads the JSON file; raises ValueError on a malformed file so a
        bad reload keeps the previous registrations."""
        with open(self.path, encoding="utf-8") as f:
            raw = json.load(f)
        tenants, users = {}, {}
        for tid, tenant in (raw.get("tenants") or {}).items():
            apps = {}
            for cid, app in (tenant.get("apps") or {}).items():
                cert = None
                if app.get("cert_pem"):
                    cert = x509.load_pem_x509_certificate(app["cert_pem"].encode())
                apps[cid] = {
                    "secret": app.get("secret"),
                    "cert": cert,
                    "roles": list(app.get("roles") or []),
                    "mailboxes": {m.lower(): [s.lower() for s in (v or {}).get("send_as") or [m]]
                                  for m, v in (app.get("mailboxes") or {}).items()},
                    # Graph: mailboxes an RBAC for Applications grant ("Application
                    # Mail.Send" scoped to them) lets the app send as, without the
                    # tenant-wide Mail.Send role (graph_endpoint.py).
                    "graph_mailboxes": {m.lower() for m in app.get("graph_mailboxes") or []},
                }
            tenants[tid.lower()] = apps
            # The tenant's mailboxes (Graph's /users): the optional "users" list
            # plus every mailbox an app is granted.
            users[tid.lower()] = ({u.lower() for u in tenant.get("users") or []}
                                  | {m for a in apps.values() for m in a["mailboxes"]}
                                  | {m for a in apps.values() for m in a["graph_mailboxes"]})
        self.tenants = tenants
        self.users = users
        self.google_accounts, self.google_domains = _google(raw.get("google") or {})

    def user_exists(self, tenant_id, mailbox):
        return (mailbox or "").lower() in self.users.get((tenant_id or "").lower(), set())

    def app(self, tenant_id, client_id):
        """(tenant_found, app or None)."""
        apps = self.tenants.get((tenant_id or "").lower())
        if apps is None:
            return False, None
        return True, apps.get(client_id)

    def send_as_list(self, tenant_id, client_id, mailbox):
        """The addresses the app may send as from `mailbox`, or None if the app
        has no permission on that mailbox at all."""
        _, app = self.app(tenant_id, client_id)
        if app is None:
            return None
        return app["mailboxes"].get((mailbox or "").lower())


def _google(raw):
    """Google Workspace (google_token.py): service accounts by client_email,
    each with its client_id and public keys by key id; domains with their
    users and the domain-wide delegation grants (client_id -> scopes) made in
    that domain's Admin console."""
    from cryptography.hazmat.primitives import serialization
    accounts = {}
    for email, acct in (raw.get("service_accounts") or {}).items():
        keys = {kid: serialization.load_pem_public_key(pem.encode())
                for kid, pem in (acct.get("keys") or {}).items()}
        accounts[email.lower()] = {"client_id": str(acct.get("client_id") or ""), "keys": keys}
    domains = {}
    for domain, d in (raw.get("domains") or {}).items():
        domains[domain.lower()] = {
            "users": {u.lower() for u in d.get("users") or []},
            "delegation": {str(cid): set(scopes or []) for cid, scopes in (d.get("delegation") or {}).items()},
        }
    return accounts, domains


def google_domain(registry, mailbox):
    """The Workspace domain record `mailbox` belongs to, or None (a Microsoft
    mailbox): the stand-in's servers speak Google's texts to these."""
    domain = (mailbox or "").lower().rpartition("@")[2]
    return getattr(registry, "google_domains", {}).get(domain) if domain else None


def may_send_as(send_as, sender):
    """Exact address or "*@domain", case-insensitive (SendAs grants)."""
    sender = sender.lower()
    for pattern in send_as:
        if pattern == sender:
            return True
        if pattern.startswith("*@") and sender.endswith(pattern[1:]) and "@" in sender:
            if sender.rsplit("@", 1)[1] == pattern[2:]:
                return True
    return False

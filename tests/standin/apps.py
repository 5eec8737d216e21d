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
        tenants = {}
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
                }
            tenants[tid.lower()] = apps
        self.tenants = tenants

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

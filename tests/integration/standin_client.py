"""Tiny client for the stand-in's control API (tests/standin/control.py)."""
import base64
import json
import urllib.parse
import urllib.request


class StandinControl:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def _call(self, method, path, doc=None):
        data = None if doc is None else json.dumps(doc).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def stats(self):
        """{"token": {"requests", "issued", "tenants": {tid: {...}}},
            "smtp": {"connections", "auth_ok", "auth_failed", "messages", "throttled",
                     "quota_exceeded", "sessions": {mailbox: n}, "peak_sessions": {mailbox: n}}}"""
        return self._call("GET", "/stats")

    def messages(self):
        """Accepted messages, oldest first; "data" is bytes, exactly as stored."""
        msgs = self._call("GET", "/messages")
        for m in msgs:
            m["data"] = base64.b64decode(m["data"])
        return msgs

    def clear_messages(self):
        self._call("DELETE", "/messages")

    def knobs(self, **changes):
        """Merges knobs (None restores a knob's default); returns all knobs.
        An unknown knob name raises urllib.error.HTTPError (400)."""
        return self._call("POST", "/knobs", changes)

    def reset(self):
        """Knobs to defaults, counters to zero, messages gone."""
        self._call("POST", "/reset", {})

    def reload(self):
        """Re-reads the apps JSON file."""
        self._call("POST", "/reload", {})

    def graph_faults(self, *faults):
        """Queues one-off Graph faults, each {"status", "retry_after", "code",
        "message", "count" (1), "drop", "path" (sendMail|user|any), "mailbox"};
        the next matching requests get them. Returns the faults still queued."""
        return self._call("POST", "/graph/faults", {"faults": list(faults)})

    def graph_stats(self):
        """{"requests", "accepted", "throttled", "unauthorized", "faults", "concurrent",
        "peak_concurrent": {mailbox: n}, "log": [{"time", "method", "mailbox", "status",
        "code", "request_id"}], "faults_left"}"""
        return self.stats()["graph"]

    def deliver(self, address, data):
        """Puts a message (bytes) into a mailbox, as if mail had arrived; returns its UID."""
        req = urllib.request.Request(f"{self.base}/mailboxes/{urllib.parse.quote(address)}/messages",
                                     data=data, method="POST",
                                     headers={"Content-Type": "message/rfc822"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())["uid"]

    def mailbox_messages(self, address):
        """[{"uid", "size", "flags", "data" (bytes)}] of a mailbox, in UID order."""
        msgs = self._call("GET", f"/mailboxes/{urllib.parse.quote(address)}/messages")
        for m in msgs:
            m["data"] = base64.b64decode(m["data"])
        return msgs

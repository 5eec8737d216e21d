"""Everything tests can see or change at run time: knobs, counters, and the
messages Exchange accepted. Shared by the asyncio SMTP server and the
threaded HTTP servers, hence one lock around every access."""
import collections
import copy
import threading
import time

# Each knob's default is the behaviour of a healthy Office 365. Unknown knob
# names are refused so a typo in a test cannot silently test nothing.
KNOB_DEFAULTS = {
    # token endpoint
    "secret_expired": False,     # correct secret -> 401 AADSTS7000222
    "token_lifetime": 3599,      # seconds (expires_in and the JWT's exp)
    "token_delay": 0,            # seconds before answering
    "token_outage": None,        # None | "drop" | "503"
    # SMTP server
    "auth_fail": False,          # every AUTH -> 535 5.7.3
    "smtp_auth_disabled": False, # every AUTH -> 535 5.7.139
    "auth_fail_challenge": False,  # failures first send a Google-style 334 <base64 JSON>
    "max_concurrent_per_mailbox": None,  # None = unlimited; else 432 4.3.2 beyond it
    "smtp_messages_per_minute": None,  # None = unlimited; else 554 5.2.0 quota answer beyond it
    "smtp_quota_window": 60,     # seconds smtp_messages_per_minute counts over (shorter: faster tests)
    "reject_rcpt": None,         # {address: {"code": 550, "text": "5.1.10 ..."}} as RCPT TO replies
    "reject_data": None,         # {"code": 554, "text": "5.6.0 ..."} as the final DATA reply
    "drop_after": None,          # see DROP_POINTS
    "reply_delay": 0,            # seconds before every SMTP reply
    "greeting_delay": 0,         # seconds before the 220 greeting
    # IMAP server
    "imap_no_sasl_ir": False,    # do not advertise SASL-IR: AUTHENTICATE takes the "+" continuation
    "imap_full_access_at_select": False,  # as real Exchange: a login for a mailbox the app has no
                                 # FullAccess on succeeds, SELECT/EXAMINE/APPEND answer
                                 # "BAD User is authenticated but not connected."
    # Graph endpoint (graph_endpoint.py); one-off faults are POST /graph/faults
    "graph_max_concurrent": 4,   # requests per app and mailbox at once; beyond: 429 ApplicationThrottled
    "graph_delay": 0,            # seconds a sendMail holds its slot before the 202 (concurrency tests)
}

DROP_POINTS = {"greeting", "ehlo", "auth", "mail", "rcpt", "data_start", "data_mid", "data_end",
               "fetch_mid"}  # fetch_mid: IMAP, half of a FETCH body literal, then close


class KnobError(ValueError):
    pass


def _check(name, value):
    if name not in KNOB_DEFAULTS:
        raise KnobError(f"unknown knob {name!r}")
    if value is None:
        return
    if name == "token_outage" and value not in ("drop", "503"):
        raise KnobError("token_outage must be null, \"drop\" or \"503\"")
    if name == "drop_after" and value not in DROP_POINTS:
        raise KnobError(f"drop_after must be null or one of {sorted(DROP_POINTS)}")
    if name == "reject_data" and not (isinstance(value, dict) and isinstance(value.get("code"), int)
                                      and isinstance(value.get("text", ""), str)):
        raise KnobError("reject_data must be {\"code\": int, \"text\": str}")
    if name == "reject_rcpt" and not (isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("code"), int)
            and not isinstance(v.get("code"), bool) and isinstance(v.get("text", ""), str)
            for k, v in value.items())):
        raise KnobError("reject_rcpt must be {address: {\"code\": int, \"text\": str}}")
    if name in ("token_lifetime", "token_delay", "reply_delay", "greeting_delay",
                "max_concurrent_per_mailbox", "smtp_messages_per_minute",
                "smtp_quota_window", "graph_max_concurrent", "graph_delay") and (isinstance(value, bool)
                                          or not isinstance(value, (int, float))):
        raise KnobError(f"{name} must be a number")
    if name == "smtp_quota_window" and value <= 0:
        raise KnobError("smtp_quota_window must be more than 0 seconds")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.knobs = dict(KNOB_DEFAULTS)
            self.token = {"requests": 0, "issued": 0, "tenants": {}}
            # throttled: 432 4.3.2 replies (concurrency); quota_exceeded: 554 5.2.0 replies
            self.smtp = {"connections": 0, "auth_ok": 0, "auth_failed": 0, "messages": 0,
                         "throttled": 0, "quota_exceeded": 0}
            self.counters = {p: {"connections": 0, "auth_ok": 0, "auth_failed": 0} for p in ("imap", "pop3")}
            # protocol -> mailbox -> authenticated sessions now open
            self.sessions = {"smtp": {}, "imap": {}, "pop3": {}}
            # protocol -> mailbox -> the most authenticated sessions open at once
            self.peak = {"smtp": {}, "imap": {}, "pop3": {}}
            # mailbox -> times (monotonic) of the SMTP submissions accepted (quota)
            self.submissions = {}
            self.messages = []
            self._seq = 0
            self.mailboxes = {}  # address -> {"uidvalidity", "next_uid", "messages": [...]}

    # knobs ---------------------------------------------------------------
    def merge_knobs(self, changes):
        """JSON merge: null puts a knob back to its default. All-or-nothing."""
        if not isinstance(changes, dict):
            raise KnobError("knobs must be a JSON object")
        for k, v in changes.items():
            _check(k, v)
        with self.lock:
            for k, v in changes.items():
                self.knobs[k] = KNOB_DEFAULTS[k] if v is None else v
            return dict(self.knobs)

    def knob(self, name):
        with self.lock:
            return self.knobs[name]

    # counters ------------------------------------------------------------
    def count_token(self, tenant, what):
        with self.lock:
            self.token[what] += 1
            per = self.token["tenants"].setdefault(tenant, {"requests": 0, "issued": 0})
            per[what] += 1

    def count_smtp(self, what):
        """Adds one to an SMTP counter; returns the new value."""
        with self.lock:
            self.smtp[what] += 1
            return self.smtp[what]

    def count(self, protocol, what):
        """IMAP/POP3 counters: connections, auth_ok, auth_failed."""
        with self.lock:
            self.counters[protocol][what] += 1

    def session_open(self, mailbox, limit, protocol="smtp"):
        """Registers an authenticated session unless `limit` is reached
        (counted per protocol, as Exchange does)."""
        with self.lock:
            open_now = self.sessions[protocol]
            n = open_now.get(mailbox, 0)
            if limit is not None and n >= limit:
                return False
            open_now[mailbox] = n + 1
            peak = self.peak[protocol]
            peak[mailbox] = max(peak.get(mailbox, 0), n + 1)
            return True

    def session_close(self, mailbox, protocol="smtp"):
        with self.lock:
            open_now = self.sessions[protocol]
            n = open_now.get(mailbox, 0) - 1
            if n > 0:
                open_now[mailbox] = n
            else:
                open_now.pop(mailbox, None)

    def stats(self):
        with self.lock:
            out = {"token": copy.deepcopy(self.token),
                   "smtp": dict(self.smtp, sessions=dict(self.sessions["smtp"]),
                                peak_sessions=dict(self.peak["smtp"]))}
            for p, c in self.counters.items():
                out[p] = dict(c, sessions=dict(self.sessions[p]), peak_sessions=dict(self.peak[p]))
            return out

    # mailboxes (IMAP and POP3 read and change them) ------------------------
    def _box(self, address):
        return self.mailboxes.setdefault(address.lower(), {"uidvalidity": 1, "next_uid": 1, "messages": []})

    def deliver(self, address, data, flags=()):
        """Appends a message; returns its UID."""
        with self.lock:
            box = self._box(address)
            uid = box["next_uid"]
            box["next_uid"] += 1
            box["messages"].append({"uid": uid, "data": bytes(data), "flags": list(flags)})
            return uid

    def mailbox(self, address):
        """(uidvalidity, next_uid, [messages]) — a snapshot."""
        with self.lock:
            box = self._box(address)
            return box["uidvalidity"], box["next_uid"], [dict(m, flags=list(m["flags"])) for m in box["messages"]]

    def set_flags(self, address, uid, flags):
        with self.lock:
            for m in self._box(address)["messages"]:
                if m["uid"] == uid:
                    m["flags"] = list(flags)

    def remove(self, address, uids):
        with self.lock:
            box = self._box(address)
            box["messages"] = [m for m in box["messages"] if m["uid"] not in set(uids)]

    # messages ------------------------------------------------------------
    def store(self, mailbox, mail_from, rcpts, data, connection=None):
        """Accepts a message; returns its id, or None when the mailbox is over
        the knob smtp_messages_per_minute (then nothing is stored). Checked and
        counted under one lock, so parallel sessions cannot both slip in."""
        with self.lock:
            now = time.monotonic()
            limit, window = self.knobs["smtp_messages_per_minute"], self.knobs["smtp_quota_window"]
            times = self.submissions.setdefault(mailbox, collections.deque())
            while times and times[0] <= now - window:
                times.popleft()
            if limit is not None and len(times) >= limit:
                self.smtp["quota_exceeded"] += 1
                return None
            times.append(now)
            self._seq += 1
            mid = f"{int(time.time())}.{self._seq}@standin"
            self.messages.append({"id": mid, "mailbox": mailbox, "mail_from": mail_from,
                                  "rcpts": list(rcpts), "data": bytes(data),
                                  "connection": connection, "time": time.time()})
            self.smtp["messages"] += 1
            return mid

    def list_messages(self):
        with self.lock:
            return list(self.messages)

    def clear_messages(self):
        with self.lock:
            self.messages = []

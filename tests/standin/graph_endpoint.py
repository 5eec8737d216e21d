"""Microsoft Graph, as far as the relay uses it: POST /v1.0/users/{mailbox}/sendMail
(MIME, base64, Content-Type: text/plain) and GET /v1.0/users/{mailbox} (the
doctor's dry check), over HTTPS with the stand-in's certificate.

What it checks, as Graph does: a bearer token from the stand-in's issuer with
aud https://graph.microsoft.com; the role Mail.Send in it (tenant-wide
consent) or an RBAC for Applications grant for the mailbox (the app's
"graph_mailboxes" in the apps JSON); the mailbox exists in the token's tenant;
the From header is the mailbox or one it may send as; strict base64; the
request at most 4 MB; at most `graph_max_concurrent` requests per app and
mailbox at once. Errors are Graph's JSON bodies with request-id headers.

A 202 stores the decoded MIME byte for byte among the stand-in's messages
("via": "graph"), with the recipients Graph would deliver to: the addresses
in its To, Cc and Bcc headers, nothing from any envelope."""
import base64
import binascii
import datetime
import email.parser
import email.policy
import email.utils
import http.server
import json
import os
import re
import ssl
import threading
import time
import urllib.parse
import uuid

import apps
import jwt_tokens
import token_endpoint

REQUEST_LIMIT = 4 * 1024 * 1024  # Graph's request size limit (bytes of body)
SEND_PATH = re.compile(r"^/v1\.0/users/([^/]+)/sendMail$")
USER_PATH = re.compile(r"^/v1\.0/users/([^/]+)$")

# Default error code and message per status for injected faults.
FAULT_DEFAULTS = {
    400: ("ErrorInvalidRecipients", "At least one recipient is not valid., Recipient "
          "'nobody@example.invalid' is not resolved. All recipients must be resolved before a "
          "message can be submitted."),
    401: ("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."),
    403: ("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    404: ("ErrorInvalidUser", "The requested user is invalid."),
    413: ("ErrorMessageSizeExceeded", "The message exceeds the maximum supported size."),
    429: ("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
    500: ("InternalServerError", "An internal server error occurred."),
    503: ("ServiceUnavailable", "Service Unavailable"),
    504: ("GatewayTimeout", "Gateway Timeout"),
}


class GraphState:
    """Counters, the request log and the one-off faults; reset with the stand-in."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.counters = {"requests": 0, "accepted": 0, "throttled": 0, "unauthorized": 0,
                             "faults": 0}
            self.concurrent = {}  # (tid, appid, mailbox) -> requests in progress
            self.peak = {}        # mailbox -> most requests in progress at once
            self.log = []         # {"time", "method", "mailbox", "status", "code", "request_id"}
            self.faults = []      # [{"status", "code", "message", "retry_after", "count", ...}]

    def add_faults(self, faults):
        if isinstance(faults, dict):
            faults = faults.get("faults", [faults])
        if not isinstance(faults, list):
            raise ValueError("faults must be a list")
        checked = []
        for f in faults:
            if not isinstance(f, dict):
                raise ValueError("a fault is an object")
            unknown = set(f) - {"status", "code", "message", "retry_after", "count", "drop",
                                "path", "mailbox"}
            if unknown:
                raise ValueError(f"unknown fault fields {sorted(unknown)}")
            if not f.get("drop") and not isinstance(f.get("status"), int):
                raise ValueError("a fault needs an integer status (or drop: true)")
            if f.get("path", "sendMail") not in ("sendMail", "user", "any"):
                raise ValueError("path must be sendMail, user or any")
            checked.append(dict(f, count=int(f.get("count", 1))))
        with self.lock:
            self.faults.extend(checked)
            return list(self.faults)

    def take_fault(self, path, mailbox):
        """The next fault for this request (and one count of it used up), or None."""
        with self.lock:
            for f in self.faults:
                if f.get("path", "sendMail") not in (path, "any"):
                    continue
                if f.get("mailbox") and f["mailbox"].lower() != mailbox.lower():
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                self.counters["faults"] += 1
                return dict(f)
            return None

    def enter(self, key, limit):
        """Counts a request in progress; False when it is one too many."""
        with self.lock:
            n = self.concurrent.get(key, 0)
            if limit is not None and n >= limit:
                self.counters["throttled"] += 1
                return False
            self.concurrent[key] = n + 1
            self.peak[key[2]] = max(self.peak.get(key[2], 0), n + 1)
            return True

    def leave(self, key):
        with self.lock:
            n = self.concurrent.get(key, 0) - 1
            if n > 0:
                self.concurrent[key] = n
            else:
                self.concurrent.pop(key, None)

    def count(self, what):
        with self.lock:
            self.counters[what] += 1

    def record(self, entry):
        with self.lock:
            self.log.append(entry)

    def stats(self):
        with self.lock:
            concurrent = {}
            for (_, _, mailbox), n in self.concurrent.items():
                concurrent[mailbox] = concurrent.get(mailbox, 0) + n
            return dict(self.counters, concurrent=concurrent, peak_concurrent=dict(self.peak),
                        log=[dict(e) for e in self.log], faults_left=[dict(f) for f in self.faults])


def header_recipients(mime):
    """The addresses in the To, Cc and Bcc headers (Graph's recipients), in
    order, and the From address (or None). Only the FIRST field of each
    counts, as a strict Exchange might (RFC 5322 allows one of each): a relay
    that relied on a second To or Bcc field being merged would lose mail here."""
    head = mime.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in mime else mime.split(b"\n\n", 1)[0]
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head + b"\r\n\r\n")
    rcpts = []
    for name in ("to", "cc", "bcc"):
        for _, addr in email.utils.getaddresses([str(v) for v in (msg.get_all(name) or [])[:1]]):
            if addr:
                rcpts.append(addr)
    froms = [a for _, a in email.utils.getaddresses([str(v) for v in msg.get_all("from") or []]) if a]
    return rcpts, (froms[0] if froms else None)


def invalid_recipient(addr):
    """What Graph cannot resolve: no domain, or the reserved .invalid TLD (RFC 2606)."""
    if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
        return True
    return addr.lower().rsplit("@", 1)[1].endswith(".invalid")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def setup(self):
        self.request.settimeout(self.timeout)
        self.request.do_handshake()  # in the request thread, as token_endpoint.py
        super().setup()

    def log_message(self, fmt, *args):
        pass

    # replies ---------------------------------------------------------------
    def send(self, status, doc, extra_headers=()):
        body = json.dumps(doc, separators=(",", ":")).encode() if doc is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("request-id", self.request_id)
        self.send_header("client-request-id", self.client_request_id)
        self.send_header("x-ms-ags-diagnostic",
                         '{"ServerInfo":{"DataCenter":"Standin","Slice":"E","Ring":"1",'
                         '"ScaleUnit":"000","RoleInstance":"STANDIN"}}')
        self.send_header("Strict-Transport-Security", "max-age=31536000")
        for k, v in extra_headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.status = status

    def error(self, status, code, message, extra_headers=()):
        self.code = code
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        self.send(status, {"error": {"code": code, "message": message, "innerError": {
            "date": now, "request-id": self.request_id, "client-request-id": self.client_request_id}}},
            extra_headers)

    def unauthorized(self, message):
        self.server.graph.count("unauthorized")
        self.error(401, "InvalidAuthenticationToken", message, [(
            "WWW-Authenticate", 'Bearer realm="", authorization_uri='
            '"https://login.microsoftonline.com/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"')])

    # request parts -----------------------------------------------------------
    def read_body(self):
        """The body (at most REQUEST_LIMIT + 1 bytes kept) and its full length;
        Content-Length or chunked. Always read to the end, so the connection
        stays usable whatever the answer."""
        kept, total = bytearray(), 0

        def take(chunk):
            nonlocal total
            total += len(chunk)
            room = REQUEST_LIMIT + 1 - len(kept)
            if room > 0:
                kept.extend(chunk[:room])

        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                while size:
                    chunk = self.rfile.read(min(size, 65536))
                    if not chunk:
                        raise ConnectionError("body ended early")
                    take(chunk)
                    size -= len(chunk)
                self.rfile.readline(1024)
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    raise ConnectionError("body ended early")
                take(chunk)
                left -= len(chunk)
        return bytes(kept), total

    def token_claims(self):
        """(claims, None) for a valid Graph token, else (None, Graph's message)."""
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return None, "Access token is empty."
        try:
            return self.server.issuer.check(auth[7:].strip(), token_endpoint.GRAPH_AUDIENCE), None
        except jwt_tokens.JwtError as e:
            why = str(e)
            if why == "expired":
                return None, "Lifetime validation failed, the token is expired."
            if why == "wrong audience":
                return None, "Access token validation failure. Invalid audience."
            return None, "IDX14100: JWT is not well formed, there are no dots (.)." \
                if why == "not a compact JWS" else "Signing key is invalid."

    def permitted(self, claims, mailbox):
        """Mail.Send in the token (tenant-wide consent) or an RBAC grant for the mailbox."""
        if "Mail.Send" in (claims.get("roles") or []):
            return True
        _, app = self.server.registry.app(claims.get("tid"), claims.get("appid"))
        return app is not None and mailbox.lower() in app["graph_mailboxes"]

    def fault_reply(self, fault):
        if fault.get("drop"):
            self.close_connection = True
            self.status, self.code = 0, "drop"
            return
        status = fault["status"]
        code, message = FAULT_DEFAULTS.get(status, ("UnknownError", "An error occurred."))
        headers = []
        if fault.get("retry_after") is not None:
            headers.append(("Retry-After", str(fault["retry_after"])))
        if status == 401:
            self.server.graph.count("unauthorized")
        self.error(status, fault.get("code", code), fault.get("message", message), headers)

    # routes --------------------------------------------------------------------
    def begin(self):
        self.request_id = str(uuid.uuid4())
        self.client_request_id = self.headers.get("client-request-id") or self.request_id
        self.status, self.code = 0, None
        self.server.graph.count("requests")

    def finish_log(self, method, mailbox):
        self.server.graph.record({"time": time.time(), "method": method, "mailbox": mailbox,
                                  "status": self.status, "code": self.code,
                                  "request_id": self.request_id})

    def do_GET(self):
        self.begin()
        m = USER_PATH.match(urllib.parse.urlsplit(self.path).path)
        mailbox = urllib.parse.unquote(m.group(1)) if m else ""
        try:
            if not m:
                return self.error(400, "BadRequest", f"Resource not found for the segment '{self.path}'.")
            fault = self.server.graph.take_fault("user", mailbox)
            if fault:
                return self.fault_reply(fault)
            claims, why = self.token_claims()
            if claims is None:
                return self.unauthorized(why)
            if not self.server.registry.user_exists(claims.get("tid"), mailbox):
                return self.error(404, "Request_ResourceNotFound", f"Resource '{mailbox}' does not "
                                  "exist or one of its queried reference-property objects are not present.")
            if not self.permitted(claims, mailbox):
                return self.error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            self.send(200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, mailbox.lower())),
                            "userPrincipalName": mailbox, "mail": mailbox,
                            "displayName": mailbox.split("@")[0]})
        finally:
            self.finish_log("GET", mailbox)

    def do_POST(self):
        self.begin()
        graph, registry, st = self.server.graph, self.server.registry, self.server.state
        m = SEND_PATH.match(urllib.parse.urlsplit(self.path).path)
        mailbox = urllib.parse.unquote(m.group(1)) if m else ""
        slot = None
        try:
            fault = graph.take_fault("sendMail", mailbox) if m else None
            claims, why = self.token_claims()
            throttled = False
            if m and claims is not None and fault is None:
                key = (claims.get("tid"), claims.get("appid"), mailbox.lower())
                if graph.enter(key, st.knob("graph_max_concurrent")):
                    slot = key
                else:
                    throttled = True
            body, total = self.read_body()
            if not m:
                return self.error(400, "BadRequest", f"Resource not found for the segment '{self.path}'.")
            if fault:
                return self.fault_reply(fault)
            if claims is None:
                return self.unauthorized(why)
            if throttled:
                return self.error(429, "ApplicationThrottled",
                                  "Application is over its MailboxConcurrency limit.", [("Retry-After", "1")])
            tid = claims.get("tid")
            if not registry.user_exists(tid, mailbox):
                return self.error(404, "ErrorInvalidUser", f"The requested user '{mailbox}' is invalid.")
            if not self.permitted(claims, mailbox):
                return self.error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "text/plain":
                return self.error(400, "ErrorInvalidRequest", "Cannot process input of type "
                                  f"'{ctype}' as MIME content; use text/plain.")
            if total > REQUEST_LIMIT:
                return self.error(413, "ErrorMessageSizeExceeded",
                                  "The message exceeds the maximum supported size., Cannot save changes "
                                  "made to an item to store.")
            try:
                mime = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                mime = None
            if not mime:
                return self.error(400, "ErrorMimeContentInvalidBase64String",
                                  "Invalid base64 string for MIME content.")
            rcpts, sender = header_recipients(mime)
            send_as = registry.send_as_list(tid, claims.get("appid"), mailbox) or [mailbox.lower()]
            # The SendAs rule Exchange applies to SMTP applies here too.
            if sender and not apps.may_send_as(send_as, sender):
                return self.error(403, "ErrorSendAsDenied",
                                  "The user account which was used to submit this request does not have "
                                  "the right to send mail on behalf of the specified sending account., "
                                  "Cannot submit message.")
            bad = [r for r in rcpts if invalid_recipient(r)]
            if bad or not rcpts:
                what = f"Recipient '{bad[0]}' is not resolved." if bad else "At least one recipient is required."
                return self.error(400, "ErrorInvalidRecipients", "At least one recipient is not valid., "
                                  f"{what} All recipients must be resolved before a message can be submitted.")
            delay = st.knob("graph_delay")
            if delay:
                time.sleep(delay)
            mid = self.store(mailbox, sender or mailbox, rcpts, mime)
            graph.count("accepted")
            self.code = mid
            self.send(202, None)
        except (ConnectionError, ValueError, OSError):
            self.close_connection = True
            self.status, self.code = 0, "broken request"
        finally:
            if slot is not None:
                graph.leave(slot)
            self.finish_log("sendMail", mailbox)

    def store(self, mailbox, mail_from, rcpts, mime):
        """Into the stand-in's message list (GET /messages), beside SMTP's, but
        not counted against the SMTP submission quota knob."""
        st = self.server.state
        with st.lock:
            st._seq += 1
            mid = f"{int(time.time())}.{st._seq}@standin-graph"
            st.messages.append({"id": mid, "mailbox": mailbox, "mail_from": mail_from,
                                "rcpts": list(rcpts), "data": bytes(mime), "connection": None,
                                "time": time.time(), "via": "graph", "request_id": self.request_id})
        if self.server.maildir:
            name = os.path.join(self.server.maildir, mid.replace("@", "_") + ".eml")
            with open(name + ".tmp", "wb") as f:
                f.write(mime)
            os.replace(name + ".tmp", name)
        return mid


class GraphServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state, registry, issuer, cert, key, maildir=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.state, self.registry, self.issuer, self.maildir = state, registry, issuer, maildir
        self.graph = GraphState()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-request is not our failure

    def start(self):
        threading.Thread(target=self.serve_forever, name="graph", daemon=True).start()
        return self.server_address[1]

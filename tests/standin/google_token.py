"""Google's OAuth 2.0 token endpoint for service accounts, JWT bearer grant
only (RFC 7523, domain-wide delegation): POST /token over HTTPS with
grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and assertion=<RS256
JWT>. Checks what Google checks (signature by a key of the service account
named in `iss`, `aud`, `iat`/`exp`, `scope`, `sub` a user of a Workspace
domain that delegated the scope to the account's client ID) and answers with
Google's error bodies. Tokens are for one mailbox: the stand-in's SMTP, IMAP
and POP3 servers accept them for that mailbox only (xoauth2.py)."""
import http.server
import json
import ssl
import sys
import threading
import time
import urllib.parse

import apps
import jwt_tokens

PATH = "/token"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAIL_SCOPE = "https://mail.google.com/"
AUDIENCE = "https://mail.google.com/"  # of the tokens minted here (xoauth2.py checks it)
PREFIX = "ya29."                        # Google's access tokens start so

# Google's answers, as its endpoint sends them.
UNAUTHORIZED = (401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, "
                                            "or client not authorized for any of the scopes requested.")
BAD_USER = (400, "invalid_grant", "Invalid email or User ID")
BAD_SIGNATURE = (400, "invalid_grant", "Invalid JWT Signature.")
NO_ACCOUNT = (400, "invalid_grant", "Invalid grant: account not found")
BAD_AUDIENCE = (400, "invalid_grant", "Invalid JWT: Failed audience check.")
BAD_TIME = (400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                                  "reasonable timeframe. Check your iat and exp values in the JWT claim.")
BAD_SCOPE = (400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")


def mint(issuer, mailbox, client_id, scope, lifetime):
    """An access token for `mailbox` only, signed with the stand-in's key."""
    now = int(time.time())
    claims = {"aud": AUDIENCE, "iss": "https://accounts.google.com", "azp": client_id, "email": mailbox,
              "scope": scope, "iat": now, "exp": now + int(lifetime)}
    return PREFIX + jwt_tokens.encode({"alg": "RS256", "typ": "JWT", "kid": issuer.kid}, claims, issuer.key)


def check_token(issuer, token):
    """The claims of a token minted here, or raises JwtError."""
    if not token.startswith(PREFIX):
        raise jwt_tokens.JwtError("not a Google access token")
    return issuer.check(token[len(PREFIX):], audience=AUDIENCE)


def judge(registry, assertion, token_url):
    """(error triple or None, claims) for an assertion, in the order Google
    checks: the account and its key, the signature, aud, time, scope, sub,
    then the delegation."""
    try:
        header, claims = jwt_tokens.split(assertion)
    except jwt_tokens.JwtError:
        return BAD_SIGNATURE, None
    account = registry.google_accounts.get(str(claims.get("iss") or "").lower())
    if account is None:
        return NO_ACCOUNT, None
    key = account["keys"].get(header.get("kid"))
    if key is None:
        return BAD_SIGNATURE, None
    try:
        jwt_tokens.verify(assertion, key, algs=("RS256",))
    except jwt_tokens.JwtError:
        return BAD_SIGNATURE, None
    if claims.get("aud") != token_url:
        return BAD_AUDIENCE, None
    now = time.time()
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int) or exp <= now or iat > now + 300 or exp - iat > 3600:
        return BAD_TIME, None
    scopes = set(str(claims.get("scope") or "").split())
    if not scopes or scopes - {MAIL_SCOPE}:
        return BAD_SCOPE, None
    sub = str(claims.get("sub") or "").lower()
    domain = apps.google_domain(registry, sub)
    if domain is None or sub not in domain["users"]:
        return BAD_USER, None
    if not scopes <= domain["delegation"].get(account["client_id"], set()):
        return UNAUTHORIZED, None
    return None, {"sub": sub, "client_id": account["client_id"], "scope": " ".join(sorted(scopes))}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server_version = "standin-google"
    sys_version = ""

    def setup(self):
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, triple):
        status, error, description = triple
        self.server.state.count_token("google", "requests")
        self.reply(status, {"error": error, "error_description": description})

    def do_POST(self):
        st, registry = self.server.state, self.server.registry
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if urllib.parse.urlsplit(self.path).path != PATH:
            return self.reply(404, {"error": "not_found"})
        outage = st.knob("token_outage")
        if outage == "drop":
            self.close_connection = True
            return
        if outage == "503":
            return self.reply(503, {"error": "internal_failure", "error_description": "Backend Error"})
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace"),
                                                             keep_blank_values=True).items()}
        if form.get("grant_type") != GRANT:
            return self.error((400, "unsupported_grant_type",
                               "Invalid grant_type: " + form.get("grant_type", "")))
        if not form.get("assertion"):
            return self.error((400, "invalid_request", "Missing required parameter: assertion"))
        url = f"https://{self.headers.get('Host', '')}{PATH}"
        problem, grant = judge(registry, form["assertion"], url)
        if problem:
            print(f"standin google: token refused: {problem[1]}: {problem[2]}", file=sys.stderr, flush=True)
            return self.error(problem)
        lifetime = st.knob("token_lifetime")
        token = mint(self.server.issuer, grant["sub"], grant["client_id"], grant["scope"], lifetime)
        st.count_token("google", "requests")
        st.count_token("google", "issued")
        self.reply(200, {"access_token": token, "expires_in": int(lifetime), "token_type": "Bearer"})


class GoogleTokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state, registry, issuer, cert, key):
        super().__init__(("127.0.0.1", 0), Handler)
        self.state, self.registry, self.issuer = state, registry, issuer
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        pass

    def start(self):
        threading.Thread(target=self.serve_forever, name="google-token", daemon=True).start()
        return self.server_address[1]

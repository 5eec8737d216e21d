"""Entra ID v2 token endpoint, client-credentials grant only:
POST /{tenant}/oauth2/v2.0/token over HTTPS. Issues RS256 access tokens that
the SMTP side (smtp_server.py) validates like Exchange Online would."""
import hashlib
import http.server
import json
import re
import secrets
import ssl
import threading
import time
import urllib.parse
import uuid

from cryptography.hazmat.primitives import serialization

import entra_errors
import jwt_tokens
import pki

SCOPE = "https://outlook.office365.com/.default"
AUDIENCE = "https://outlook.office365.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_AUDIENCE = "https://graph.microsoft.com"
# scope -> the token's aud. As in Entra, a token carries only the roles of the
# resource it is for: Exchange's (SMTP.SendAsApp, ...) or Graph's (Mail.Send, ...).
AUDIENCES = {SCOPE: AUDIENCE, GRAPH_SCOPE: GRAPH_AUDIENCE}
EXCHANGE_ROLES = {"SMTP.SendAsApp", "IMAP.AccessAsApp", "POP.AccessAsApp", "full_access_as_app",
                  "Exchange.ManageAsApp"}


def roles_for(audience, roles):
    """The app's roles that belong to `audience` (Exchange's or Graph's)."""
    exchange = audience == AUDIENCE
    return [r for r in roles if (r in EXCHANGE_ROLES) == exchange]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")


class TokenIssuer:
    """Mints and checks access tokens; the one place that holds the signing key."""

    def __init__(self, signing_key):
        self.key = signing_key
        der = signing_key.public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = jwt_tokens.b64url(hashlib.sha256(der).digest())[:27]

    def mint(self, tenant_id, client_id, roles, lifetime, audience=AUDIENCE):
        now = int(time.time())
        claims = {
            "aud": audience, "iss": f"https://sts.windows.net/{tenant_id}/", "iat": now, "nbf": now,
            "exp": now + int(lifetime), "tid": tenant_id, "appid": client_id, "appidacr": "1",
            "idtyp": "app", "roles": list(roles), "ver": "1.0",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{client_id}")),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{tenant_id}/{client_id}")),
            # Real Exchange tokens are 1.5-3 KB; padding to that size makes the
            # relay meet the long-AUTH-line case (RFC 4954 two-step) in every test.
            "xms_pad": secrets.token_urlsafe(900),
        }
        return jwt_tokens.encode({"alg": "RS256", "typ": "JWT", "kid": self.kid}, claims, self.key)

    def check(self, token, audience=AUDIENCE):
        """Claims of a valid token, or raises JwtError saying why it is not."""
        _, claims = jwt_tokens.verify(token, self.key.public_key(), algs=("RS256",))
        if claims.get("aud") != audience:
            raise jwt_tokens.JwtError("wrong audience")
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= time.time():
            raise jwt_tokens.JwtError("expired")
        return claims


def check_assertion(assertion, app, client_id, token_url):
    """None if the client assertion is acceptable, else the reason (for the
    AADSTS700027 description)."""
    if app.get("cert") is None:
        return "no certificate registered for the app"
    try:
        header, _ = jwt_tokens.split(assertion)
        expected = jwt_tokens.b64url(pki.thumbprint_s256(app["cert"]))
        if header.get("x5t#S256") != expected:
            return "x5t#S256 does not match a registered certificate"
        _, claims = jwt_tokens.verify(assertion, app["cert"].public_key(), algs=("PS256", "RS256"))
    except jwt_tokens.JwtError as e:
        return str(e)
    if claims.get("aud") != token_url:
        return "aud is not the token endpoint"
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        return "iss and sub must be the client_id"
    now = time.time()
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
        return "assertion expired"
    if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + 300:
        return "assertion not yet valid"
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Entra does
    timeout = 30
    server_version = "standin-entra"
    sys_version = ""

    def setup(self):
        # The TLS handshake runs here, in the request thread, so one stuck
        # client cannot block the accept loop.
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, fmt, *args):  # request lines would only add noise
        pass

    def reply(self, status, body, ctype="application/json; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-store, no-cache")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def aad(self, code, **fields):
        self.reply(*entra_errors.body(code, **fields))

    def do_GET(self):
        self.reply(405, b'{"error":"invalid_request"}')

    def do_POST(self):
        st, registry, issuer = self.server.state, self.server.registry, self.server.issuer
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        m = PATH.match(urllib.parse.urlsplit(self.path).path)
        if not m:
            self.reply(404, b'{"error":"not_found"}')
            return
        tenant = m.group(1)
        st.count_token(tenant, "requests")
        delay = st.knob("token_delay")
        if delay:
            time.sleep(delay)
        outage = st.knob("token_outage")
        if outage == "drop":
            self.close_connection = True  # no bytes at all: the client sees EOF
            return
        if outage == "503":
            self.reply(503, b'{"error":"temporarily_unavailable","error_description":'
                            b'"AADSTS90033: A transient error has occurred. Please try again."}')
            return
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace"),
                                                             keep_blank_values=True).items()}
        client_id = form.get("client_id", "")
        for param in ("grant_type", "client_id", "scope"):
            if not form.get(param):
                return self.aad(900144, param=param)
        if form["grant_type"] != "client_credentials":
            return self.aad(70003, grant=form["grant_type"])
        found, app = registry.app(tenant, client_id)
        if not found:
            return self.aad(90002, tenant=tenant)
        if app is None:
            return self.aad(700016, client_id=client_id, tenant=tenant)
        if form["scope"] not in AUDIENCES:
            return self.aad(70011, scope=form["scope"])
        audience = AUDIENCES[form["scope"]]
        if "client_secret" in form:
            if app["secret"] is None or not secrets.compare_digest(
                    form["client_secret"].encode(), app["secret"].encode()):
                return self.aad(7000215, client_id=client_id)
            if st.knob("secret_expired"):
                return self.aad(7000222, client_id=client_id)
        elif "client_assertion" in form or "client_assertion_type" in form:
            if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
                return self.aad(900144, param="client_assertion_type")
            url = f"https://{self.headers.get('Host', '')}{urllib.parse.urlsplit(self.path).path}"
            reason = check_assertion(form["client_assertion"], app, client_id, url)
            if reason:
                return self.aad(700027, reason=reason)
        else:
            return self.aad(7000218)
        lifetime = st.knob("token_lifetime")
        token = issuer.mint(tenant, client_id, roles_for(audience, app["roles"]), lifetime, audience)
        st.count_token(tenant, "issued")
        self.reply(200, json.dumps({"token_type": "Bearer", "expires_in": int(lifetime),
                                    "ext_expires_in": int(lifetime), "access_token": token}).encode())


class TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state, registry, issuer, cert, key):
        super().__init__(("127.0.0.1", 0), Handler)
        self.state, self.registry, self.issuer = state, registry, issuer
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        pass  # a client hanging up mid-handshake is not our failure

    def start(self):
        threading.Thread(target=self.serve_forever, name="token", daemon=True).start()
        return self.server_address[1]

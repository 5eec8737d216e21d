"""SASL XOAUTH2 as Exchange Online checks it, shared by the SMTP, IMAP and
POP3 servers: the initial response's shape, the token (signature, expiry,
audience via jwt_tokens), the protocol's app role, and the app's access to
the mailbox. Reasons are printed by the servers, never the token."""
import base64
import binascii
import json

import apps
import google_token
import jwt_tokens

# Google's failure form, which the relay must also cope with: a challenge of
# base64 JSON the client answers with an empty line.
FAIL_CHALLENGE = base64.b64encode(json.dumps(
    {"status": "401", "schemes": "bearer", "scope": "https://outlook.office365.com/.default"}
).encode()).decode()


def parse(b64):
    """(user, token) from the SASL XOAUTH2 initial response, or None."""
    try:
        raw = base64.b64decode(b64, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    parts = raw.split("\x01")
    if len(parts) != 4 or parts[2:] != ["", ""]:
        return None
    if not parts[0].startswith("user=") or not parts[1].startswith("auth=Bearer "):
        return None
    return parts[0][5:], parts[1][12:]


# Gmail's own challenge (smtp.gmail.com, imap.gmail.com) for a refused token.
GOOGLE_FAIL_CHALLENGE = base64.b64encode(json.dumps(
    {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}, separators=(",", ":")
).encode()).decode()


def is_google(response, registry):
    """True when the login is for a mailbox of a Google Workspace domain in
    the stand-in's config: the servers then answer with Gmail's texts."""
    parsed = parse(response)
    return parsed is not None and apps.google_domain(registry, parsed[0]) is not None


def check_google(user, token, issuer, registry):
    """(mailbox, send_as, None) when Gmail would accept the login: a token
    from google_token.py minted for this very mailbox."""
    try:
        claims = google_token.check_token(issuer, token)
    except jwt_tokens.JwtError as e:
        return None, None, f"token: {e}"
    if str(claims.get("email") or "").lower() != user.lower():
        return None, None, f"token is for {claims.get('email')}, not {user}"
    if google_token.MAIL_SCOPE not in str(claims.get("scope") or "").split():
        return None, None, "token lacks https://mail.google.com/"
    return user.lower(), [user.lower()], None


def check(response, issuer, registry, role, mailbox_access=True):
    """(mailbox, send_as, None) when Exchange would accept the login, else
    (None, None, reason). With mailbox_access=False the app's access to the
    mailbox is not part of the login (Exchange's IMAP checks it only when a
    mailbox is opened): send_as is then None for a mailbox the app may not use."""
    parsed = parse(response)
    if parsed is None:
        return None, None, "malformed XOAUTH2 string"
    user, token = parsed
    if apps.google_domain(registry, user) is not None:
        return check_google(user, token, issuer, registry)
    try:
        claims = issuer.check(token)
    except jwt_tokens.JwtError as e:
        return None, None, f"token: {e}"
    if role not in (claims.get("roles") or []):
        return None, None, f"token lacks {role}"
    send_as = registry.send_as_list(claims.get("tid"), claims.get("appid"), user)
    if send_as is None and mailbox_access:
        return None, None, f"app has no permission on mailbox {user}"
    return user.lower(), send_as, None

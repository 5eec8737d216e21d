"""Just enough JWS (compact form) for the stand-in: RS256/PS256 sign and verify.
Written here rather than taken from a JWT library so the stand-in needs only
python3-cryptography, and so every check it makes is visible."""
import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


class JwtError(Exception):
    """Why a token was refused (for logs; never contains the token)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str) or any(c in text for c in "+/= \t\r\n"):
        raise JwtError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as e:
        raise JwtError("not base64url") from e


def _padding(alg):
    if alg == "RS256":
        return padding.PKCS1v15()
    if alg == "PS256":
        # Entra accepts PS256 assertions with salt = digest length.
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    raise JwtError(f"unsupported alg {alg!r}")


def encode(header: dict, claims: dict, private_key) -> str:
    alg = header.get("alg", "RS256")
    h = dict(header, alg=alg)
    h.setdefault("typ", "JWT")
    signing_input = (b64url(json.dumps(h, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sig = private_key.sign(signing_input.encode("ascii"), _padding(alg), hashes.SHA256())
    return signing_input + "." + b64url(sig)


def split(token: str):
    """Header and claims without checking the signature (to find the key to check with)."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise JwtError("not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as e:
        raise JwtError("header or claims are not JSON") from e
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError("header or claims are not objects")
    return header, claims


def verify(token: str, public_key, algs=("RS256",)):
    """Returns (header, claims) when the signature is valid with `public_key`."""
    header, claims = split(token)
    alg = header.get("alg")
    if alg not in algs:
        raise JwtError(f"alg {alg!r} not accepted")
    head, body, sig = token.split(".")
    try:
        public_key.verify(b64url_decode(sig), f"{head}.{body}".encode("ascii"), _padding(alg),
                          hashes.SHA256())
    except InvalidSignature as e:
        raise JwtError("bad signature") from e
    return header, claims

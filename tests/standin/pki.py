"""Test PKI for the stand-in: a throw-away CA, a server certificate for
127.0.0.1/localhost, and the RSA key that signs access tokens.

Files are created only when missing, so a directory reused across runs keeps
the certificates clients were told to trust."""
import datetime
import hashlib
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT, CA_KEY = "ca.crt", "ca.key"
SERVER_CERT, SERVER_KEY = "server.crt", "server.key"
TOKEN_KEY = "token-signing.key"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def write_private(path, data):
    # Keys are secrets even in tests: owner-only, and written whole (rename).
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_public(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _validity(builder, days):
    # Back-dated a day so a slightly wrong clock never makes a fresh cert "not yet valid".
    now = datetime.datetime.now(datetime.timezone.utc)
    return builder.not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(
        now + datetime.timedelta(days=days))


def make_ca(cn="xoauth2-relay test CA"):
    key = new_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    b = x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
    b = _validity(b.public_key(key.public_key()).serial_number(x509.random_serial_number()), 3650)
    b = b.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                      key_encipherment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=True, crl_sign=True,
                                      encipher_only=False, decipher_only=False), critical=True)
    b = b.add_extension(ski, critical=False)
    return b.sign(key, hashes.SHA256()), key


def issue(ca_cert, ca_key, cn, *, dns=(), ips=(), server=True, days=825):
    """A leaf certificate signed by the CA (server or client use)."""
    key = new_key()
    b = x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject)
    b = _validity(b.public_key(key.public_key()).serial_number(x509.random_serial_number()), days)
    b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                        critical=False)
    return b.sign(ca_key, hashes.SHA256()), key


def self_signed(cn):
    """What an admin uploads to an app registration: a self-signed certificate."""
    key = new_key()
    b = x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
    b = _validity(b.public_key(key.public_key()).serial_number(x509.random_serial_number()), 365)
    return b.sign(key, hashes.SHA256()), key


def thumbprint_s256(cert):
    """x5t#S256 as Entra expects it: SHA-256 of the DER certificate (base64url by caller)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def ensure(directory):
    """Creates whatever is missing in `directory`; returns the token signing key."""
    p = lambda name: os.path.join(directory, name)  # noqa: E731
    if not (os.path.exists(p(CA_CERT)) and os.path.exists(p(CA_KEY))):
        ca, ca_key = make_ca()
        write_private(p(CA_KEY), key_pem(ca_key))
        write_public(p(CA_CERT), cert_pem(ca))
        # A new CA invalidates any older server certificate.
        for stale in (SERVER_CERT, SERVER_KEY):
            if os.path.exists(p(stale)):
                os.remove(p(stale))
    if not (os.path.exists(p(SERVER_CERT)) and os.path.exists(p(SERVER_KEY))):
        ca, ca_key = load_cert(p(CA_CERT)), load_key(p(CA_KEY))
        cert, key = issue(ca, ca_key, "localhost", dns=["localhost"], ips=["127.0.0.1"])
        write_private(p(SERVER_KEY), key_pem(key))
        write_public(p(SERVER_CERT), cert_pem(cert))
    if not os.path.exists(p(TOKEN_KEY)):
        write_private(p(TOKEN_KEY), key_pem(new_key()))
    return load_key(p(TOKEN_KEY))

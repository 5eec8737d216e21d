"""Hardening of the TLS a device meets, with a real OpenSSL client
(`openssl s_client`): a legacy listener (min_tls_version 1.0, OpenSSL
security level 0) still serves TLS 1.0 devices with AES-CBC-SHA but never
3DES (Sweet32) or RC4, and no listener renegotiates."""
import shutil
import subprocess

import pytest

from relay_helpers import wait_for_log

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl(1) not installed")


def s_client(port, *args, stdin=b"", timeout=20):
    """Runs s_client against the relay's implicit-TLS port; returns (rc, output)."""
    out = subprocess.run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "relay.test",
                          *args], input=stdin, capture_output=True, timeout=timeout)
    return out.returncode, out.stdout.decode("utf-8", "replace") + out.stderr.decode("utf-8", "replace")


def negotiated_cipher(text):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Cipher is ") or line.startswith("Cipher    :"):
            return line.split()[-1]
    return None


@pytest.fixture
def legacy(relay):
    return relay(listeners=[{"tls": "implicit", "name": "legacy", "min_tls_version": "1.0"},
                            {"tls": "implicit", "name": "modern"}])


def test_tls10_device_gets_aes_cbc_sha(legacy):
    # -ign_eof: s_client must not hang up when its stdin ends, before the
    # greeting arrived (it did, under ASan); the relay closes after QUIT.
    rc, text = s_client(legacy.port("legacy"), "-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0", "-ign_eof",
                        stdin=b"QUIT\r\n")
    assert negotiated_cipher(text) == "AES128-SHA", text
    assert "220 " in text, text  # the SMTP greeting came through the TLS 1.0 session


def test_tls10_device_offering_ecdhe_cbc_gets_it(legacy):
    # The listener keeps the client's order (no server preference): a TLS 1.0
    # device that offers forward-secret CBC first gets it, not plain RSA.
    rc, text = s_client(legacy.port("legacy"), "-tls1", "-ign_eof",
                        "-cipher", "ECDHE-RSA-AES128-SHA:AES128-SHA:@SECLEVEL=0", stdin=b"QUIT\r\n")
    assert negotiated_cipher(text) == "ECDHE-RSA-AES128-SHA", text
    assert "220 " in text, text


def offerable(cipher):
    """Whether this machine's OpenSSL can offer `cipher` at all (Debian's has
    no 3DES or RC4): a refusal only means something if it was offered."""
    return subprocess.run([OPENSSL, "ciphers", f"{cipher}:@SECLEVEL=0"], capture_output=True).returncode == 0


def refused_by_server(text):
    # The client offered it (CONNECTED) and the relay said no with an alert.
    return "CONNECTED" in text and "alert handshake failure" in text and "220 " not in text


@pytest.mark.parametrize("cipher", ["DES-CBC3-SHA", "RC4-SHA", "NULL-SHA", "ADH-AES128-SHA", "AECDH-AES128-SHA",
                                    "CAMELLIA128-SHA", "ARIA128-GCM-SHA256"])
@pytest.mark.parametrize("version", ["-tls1", "-tls1_2"])
def test_legacy_listener_refuses_weak_suites(legacy, cipher, version):
    if not offerable(cipher):
        pytest.skip(f"this OpenSSL cannot offer {cipher}")
    if version == "-tls1" and cipher.startswith("ARIA"):
        pytest.skip("ARIA-GCM is TLS 1.2 only")
    rc, text = s_client(legacy.port("legacy"), version, "-cipher", f"{cipher}:@SECLEVEL=0", stdin=b"QUIT\r\n")
    assert rc != 0 and refused_by_server(text), text
    # Ops hear why, and what the device needs.
    assert wait_for_log(legacy, "offered only cipher suites the relay refuses"), legacy.redacted_tail()


def test_modern_listener_refuses_weak_suites_too(legacy):
    rc, text = s_client(legacy.port("modern"), "-tls1_2", "-cipher", "CAMELLIA128-SHA:@SECLEVEL=0",
                        stdin=b"QUIT\r\n")
    assert rc != 0 and refused_by_server(text), text


def test_modern_listener_still_refuses_tls10(legacy):
    rc, text = s_client(legacy.port("modern"), "-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0", stdin=b"QUIT\r\n")
    assert rc != 0 and "220 " not in text, text


@pytest.mark.parametrize("version", ["-tls1", "-tls1_2"])
def test_client_initiated_renegotiation_is_refused(legacy, version):
    # A line "R" asks an interactive s_client (stdin open, no -ign_eof) to
    # renegotiate. The relay answers with a no_renegotiation alert, which
    # ends s_client's session; stdin stays open so nothing else ends it.
    proc = subprocess.Popen([OPENSSL, "s_client", "-connect", f"127.0.0.1:{legacy.port('legacy')}", version,
                             "-cipher", "AES128-SHA:@SECLEVEL=0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        text = ""
        for raw in proc.stdout:  # the greeting first: the handshake is done
            text += raw.decode("utf-8", "replace")
            if raw.startswith(b"220 "):
                break
        proc.stdin.write(b"R\n")
        proc.stdin.flush()
        rest, _ = proc.communicate(timeout=20)
        text += rest.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "RENEGOTIATING" in text, text
    assert "no renegotiation" in text.lower(), text
    assert proc.returncode != 0, text

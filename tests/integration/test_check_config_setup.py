"""check-config runs every check `run` does (issue 15): certificates and keys
loaded and matched, `authority` a bare origin, warnings for likely mistakes
(exit 0 when only warnings; `run` logs them at warn), and YAML layout errors
named as such. Each refusal is also checked against `run`, which must refuse
with the same words."""
import datetime
import os
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from conftest import TENANT_ID, _write_private, merge, pki
from relay_helpers import wait_for_log


def check_config(relay_bin, path):
    return subprocess.run([relay_bin, "check-config", "--config", str(path)], capture_output=True, text=True,
                          timeout=60)


def line_of(config_path, needle, nth=0):
    """1-based line number of the nth line of the config containing `needle`."""
    with open(config_path, encoding="utf-8") as f:
        hits = [i + 1 for i, line in enumerate(f) if needle in line]
    return hits[nth]


def run_refuses(r, text):
    """`run` exits 1 and its log holds `text`."""
    r.start(wait=False)
    assert r.proc.wait(timeout=30) == 1, r.redacted_tail()
    assert text in r.log_text(), r.redacted_tail()


def expired_pair(directory):
    key = pki.new_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=60))
            .not_valid_after(now - datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    crt, k = os.path.join(directory, "old.crt"), os.path.join(directory, "old.key")
    with open(crt, "wb") as f:
        f.write(pki.cert_pem(cert))
    _write_private(k, pki.key_pem(key))
    return crt, k


def test_swapped_cert_and_key_are_refused_by_check_config_and_run_alike(relay, relay_bin, standin):
    r = relay(listeners=[{"tls": "starttls", "cert_file": standin.server_key, "key_file": standin.server_cert}],
              start=False)
    out = check_config(relay_bin, r.config_path)
    assert out.returncode == 1, out.stderr
    line = line_of(r.config_path, "cert_file:")
    expected = (f"cert_file and key_file are swapped: `{standin.server_key}` holds a private key and "
                f"`{standin.server_cert}` a certificate; write cert_file: {standin.server_cert} and key_file: "
                f"{standin.server_key}")
    assert f"{r.config_path}:{line}:" in out.stderr and f"listeners[0].cert_file: {expected}" in out.stderr, \
        out.stderr
    assert "chmod" not in out.stderr, out.stderr
    run_refuses(r, expected)


def test_a_key_of_another_certificate_is_refused(relay, relay_bin, standin, tmp_path):
    other = str(tmp_path / "other.key")
    _write_private(other, pki.key_pem(pki.new_key()))
    r = relay(listeners=[{"tls": "implicit", "key_file": other}], start=False)
    out = check_config(relay_bin, r.config_path)
    assert out.returncode == 1, out.stderr
    expected = f"the private key in `{other}` does not belong to the certificate in `{standin.server_cert}`"
    assert f"{r.config_path}:{line_of(r.config_path, 'key_file:')}:" in out.stderr, out.stderr
    assert f"listeners[0].key_file: {expected}" in out.stderr, out.stderr
    run_refuses(r, expected)


def test_a_garbage_certificate_is_refused(relay, relay_bin, tmp_path):
    junk = tmp_path / "junk.crt"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    r = relay(listeners=[{"tls": "starttls", "cert_file": str(junk)}], start=False)
    out = check_config(relay_bin, r.config_path)
    assert out.returncode == 1
    assert f"listeners[0].cert_file: `{junk}`: the certificate cannot be read" in out.stderr, out.stderr
    run_refuses(r, f"`{junk}`: the certificate cannot be read")


def test_a_non_rsa_tenant_certificate_is_refused(relay, relay_bin, standin, tmp_path):
    # An EC pair: the relay cannot sign a client assertion with it.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "app.key"), "-out", str(tmp_path / "app.crt"), "-days", "30",
                    "-subj", "/CN=app"], check=True, capture_output=True)
    os.chmod(tmp_path / "app.key", 0o600)
    r = relay(tenants={"contoso": {"client_secret_file": None,
                                   "certificate": {"cert_file": str(tmp_path / "app.crt"),
                                                   "key_file": str(tmp_path / "app.key")}}}, start=False)
    out = check_config(relay_bin, r.config_path)
    assert out.returncode == 1
    assert "tenants.contoso.certificate.key_file:" in out.stderr
    assert "is an EC key; Entra ID client assertions need RSA" in out.stderr, out.stderr


def test_an_expired_certificate_is_a_warning_and_run_logs_it(relay, relay_bin, tmp_path):
    crt, key = expired_pair(str(tmp_path))
    r = relay(listeners=[{"tls": "implicit", "cert_file": crt, "key_file": key}], start=False)
    out = check_config(relay_bin, r.config_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "OK"
    line = line_of(r.config_path, "cert_file:")
    assert f"{r.config_path}:{line}:" in out.stderr
    assert f"warning: listeners[0].cert_file: the certificate in `{crt}` expired on " in out.stderr, out.stderr
    assert "1 warning" in out.stderr
    r.start()
    log = r.log_text()
    assert "config_warning" in log and "expired on" in log, r.redacted_tail()


def test_an_authority_holding_the_tenant_id_is_refused_with_the_right_value(relay, relay_bin, standin):
    r = relay(tenants={"contoso": {"authority": f"{standin.authority}/{TENANT_ID}"}}, start=False)
    out = check_config(relay_bin, r.config_path)
    assert out.returncode == 1
    assert f"{r.config_path}:{line_of(r.config_path, 'authority:')}:" in out.stderr, out.stderr
    assert "tenants.contoso.authority:" in out.stderr
    assert "holds the tenant ID in its path" in out.stderr
    assert out.stderr.rstrip().splitlines()[0].endswith(f"write authority: {standin.authority}"), out.stderr
    run_refuses(r, f"write authority: {standin.authority}")


def test_a_plain_listener_without_allow_plaintext_auth_is_a_warning_run_logs(relay, relay_bin):
    r = relay(listeners=[{"tls": "starttls"}, {"tls": "none", "allow_plaintext_auth": None}], start=False)
    out = check_config(relay_bin, r.config_path)
    assert out.returncode == 0, out.stderr
    assert "warning: listeners[1].tls: tls: none without allow_plaintext_auth: true offers devices no AUTH" \
        in out.stderr, out.stderr
    r.start()
    assert "config_warning" in r.log_text() and "offers devices no AUTH" in r.log_text()
    # Written either way, it is a choice: no warning.
    said = relay(listeners=[{"tls": "none", "allow_plaintext_auth": False}], start=False)
    assert "warning" not in check_config(relay_bin, said.config_path).stderr


def test_a_secret_id_instead_of_the_value_is_named_without_showing_it(relay, relay_bin):
    guid = "3c2b1a09-8f7e-4d6c-9b5a-0f1e2d3c4b5a"
    r = relay(client_secret=guid, start=False)
    out = check_config(relay_bin, r.config_path)
    assert out.returncode == 0, out.stderr
    assert "tenants.contoso.client_secret_file:" in out.stderr
    assert "that is the secret's Secret ID, not its Value" in out.stderr, out.stderr
    assert guid not in out.stdout + out.stderr


def test_a_secret_ending_in_spaces_is_a_warning(relay, relay_bin):
    r = relay(client_secret="Zm9v.bar~baz  ", start=False)
    out = check_config(relay_bin, r.config_path)
    assert out.returncode == 0, out.stderr
    assert "ends in white space" in out.stderr, out.stderr
    assert "Zm9v.bar~baz" not in out.stdout + out.stderr
    clean = relay(start=False)
    assert "warning" not in check_config(relay_bin, clean.config_path).stderr


def test_a_tab_in_the_indentation_is_named(tmp_path, relay_bin):
    cfg = tmp_path / "relay.yaml"
    cfg.write_text("tenants:\n  contoso:\n\ttenant_id: x\nlisteners: []\n")
    out = check_config(relay_bin, cfg)
    assert out.returncode == 1
    assert f"{cfg}:3:1: a tab; YAML indents with spaces only" in out.stderr, out.stderr
    assert "end of map not found" not in out.stderr


def test_a_dedented_key_is_reported_at_its_own_line(tmp_path, relay_bin):
    cfg = tmp_path / "relay.yaml"
    cfg.write_text("tenants:\n  contoso:\n    tenant_id: x\n    client_id: y\n   client_secret_file: s\n"
                   "listeners: []\n")
    out = check_config(relay_bin, cfg)
    assert out.returncode == 1
    assert (f"{cfg}:5:4: `client_secret_file` is indented less than its siblings (3 spaces, they have 4); "
            "did you mean to put it under `contoso`?") in out.stderr, out.stderr


def test_a_key_dedented_out_of_its_list_item_is_not_an_unknown_key(tmp_path, relay_bin):
    cfg = tmp_path / "relay.yaml"
    cfg.write_text("listeners:\n  - listen: \"127.0.0.1:2525\"\n    tls: none\nallow_plaintext_auth: true\n")
    out = check_config(relay_bin, cfg)
    assert out.returncode == 1
    assert (f"{cfg}:4:1: allow_plaintext_auth: `allow_plaintext_auth` is indented less than its siblings "
            "(column 5); did you mean to put it under `listeners[0]`?") in out.stderr, out.stderr
    assert "unknown key" not in out.stderr


def test_a_reload_with_swapped_files_is_refused_and_the_relay_keeps_running(relay, standin):
    r = relay(listeners=[{"tls": "starttls"}])
    config = merge(r.config, {})
    config["listeners"][0] = merge(config["listeners"][0],
                                   {"cert_file": standin.server_key, "key_file": standin.server_cert})
    r.write_config(config)
    r.reload()
    assert wait_for_log(r, "event=reload_failed"), r.redacted_tail()
    assert "cert_file and key_file are swapped" in r.log_text(), r.redacted_tail()
    assert r.proc.poll() is None

"""conf/relay.schema.json, the JSON Schema editors use to check and complete
relay.yaml, must not drift from the loader (conf/load_*.cpp), which stays the
authority (check-config):

- every config the project ships validates: conf/relay.example.yaml, the
  README's shape of the file, the one scripts/demo.sh writes, the ones the test
  fixture writes (also accepted by `check-config`, so schema and loader agree
  on them), and `init`'s output;
- typo'd keys and a few wrong values are rejected, by the schema and, for the
  same file, by check-config;
- the key set of every mapping the loader reads (the `allowed` lists its
  MapReader calls pass, parsed from the source) equals the schema's
  `properties` at that place, so a key added to the loader without the schema
  (or the reverse) fails here.

Debian's python3-jsonschema and python3-yaml (scripts/install-deps.sh)."""
import copy
import json
import os
import re
import subprocess
import sys

import jsonschema
import pytest
import yaml

from conftest import CLIENT_ID, REPO, TENANT_ID, free_port

SCHEMA_PATH = os.path.join(REPO, "conf", "relay.schema.json")
EXAMPLE_PATH = os.path.join(REPO, "conf", "relay.example.yaml")
DEMO_PATH = os.path.join(REPO, "scripts", "demo.sh")
CONF_DIR = os.path.join(REPO, "conf")


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML speaks YAML 1.1; the relay (yaml-cpp reads scalars as text) and
    yaml-language-server read 1.2: `2027-05-01` is a string, not a date, and
    only true/false are booleans (`yes`, `on` are strings)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                   re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_yaml(text):
    return yaml.load(text, Loader=Yaml12Loader)


@pytest.fixture(scope="module")
def schema():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def validator(schema):
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def problems(validator, doc):
    """Every schema error as "path: message", for assertion messages."""
    return ["/".join(str(p) for p in e.absolute_path) + ": " + e.message
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def example_doc():
    with open(EXAMPLE_PATH, encoding="utf-8") as f:
        return load_yaml(f.read())


# --- shipped configs validate ---------------------------------------------------

def test_schema_is_a_valid_draft7_schema(schema):
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["additionalProperties"] is False


def test_example_config_matches_schema(validator):
    doc = example_doc()
    assert problems(validator, doc) == []
    # The example shows every section: a schema that validated nothing would pass above.
    assert {"server", "log", "tenants", "listeners", "admin", "users", "no_auth", "limits", "spool",
            "trusted_networks"} <= set(doc)


def demo_config_text():
    """The relay.yaml scripts/demo.sh writes (its here-document), with its
    shell variables filled in as the demo fills them."""
    with open(DEMO_PATH, encoding="utf-8") as f:
        script = f.read()
    m = re.search(r'cat > "\$demo/relay\.yaml" <<YAML\n(.*?)\nYAML\n', script, re.S)
    assert m, "scripts/demo.sh no longer writes relay.yaml from a here-document; update this test"
    values = {"upstream": "the stand-in", "run_as": "  user: root", "tenant_id": TENANT_ID, "client_id": CLIENT_ID,
              "token_port": "40001", "smtp_port": "40002", "imap_port": "40003", "pop3_port": "40004",
              "hash": "$y$j9T$GU15flNw9WimW3d3kPPrI1$BSC.Vt3lI7R5hAfagB9XyhKAQcJjhxNUM8Y6NJMDso5"}

    def fill(v):
        assert v.group(1) in values, f"demo.sh's relay.yaml uses ${v.group(1)}: give it a value in this test"
        return values[v.group(1)]
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", fill, m.group(1))


def test_demo_config_matches_schema(validator):
    doc = load_yaml(demo_config_text())
    assert problems(validator, doc) == []
    assert doc["users"]["scanner01"]["mailbox"] == "scanner@contoso.com"


def test_readme_config_matches_schema(validator):
    """The README's annotated shape of the file is a config admins copy from."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    m = re.search(r"The shape:\n\n```yaml\n(.*?)\n```", readme, re.S)
    assert m, "README.md no longer has the config's shape after \"The shape:\"; update this test"
    doc = load_yaml(m.group(1))
    assert problems(validator, doc) == []
    assert {"tenants", "listeners", "users", "limits", "spool"} <= set(doc)


def check_config(relay_bin, path):
    out = subprocess.run([relay_bin, "check-config", "--config", path], capture_output=True, timeout=60)
    return out.returncode, (out.stdout + out.stderr).decode("utf-8", "replace")


# The fixture's configs, as the integration tests write them: the default one
# and variants that use every section and both forms of the alternatives.
FIXTURE_VARIANTS = {
    "default": {},
    "every_section": dict(
        listeners=[{"tls": "starttls", "min_tls_version": "1.0"}, {"tls": "none"},
                   {"tls": "implicit", "protocol": "imap", "name": "imaps"},
                   {"tls": "implicit", "protocol": "pop3", "name": "pop3s"},
                   {"tls": "starttls", "name": "proxied", "proxy_protocol": True, "proxy_from": ["127.0.0.2/32"]}],
        users={"spooler": {"password": "another password", "delivery": "spool", "senders": ["*@contoso.com"],
                           "rewrite_sender": {"from_header": True, "reply_to": True}, "sources": ["127.0.0.0/8"]},
               "reader": {"password": "a third one", "protocols": ["imap", "pop3"], "rewrite_sender": False}},
        no_auth=[{"sources": ["127.0.0.3/32", "fd00:10::/64"], "tenant": "contoso", "mailbox": "mfp@contoso.com",
                  "senders": ["*@contoso.com"], "rewrite_sender": True, "delivery": "direct"}],
        limits={"max_sessions": 100, "max_message_size": "10M", "max_line_length": 2000, "command_timeout": 30,
                "data_timeout": "1m", "login_cache_ttl": 0, "shutdown_grace": "0s", "auth_failures_per_ip": 0,
                "max_header_size": "64KiB", "max_session_lifetime": "1h", "mailbox_wait_timeout": "5s"},
        admin={"listen": "127.0.0.1:0", "allow_from": ["127.0.0.1"]},  # port filled in below
        trusted_networks=["127.0.0.0/8"],
        spool={"dir": "spool", "max_size": "100M", "min_free": 0, "max_age": "1h",
               "retry_schedule": [1, "10s", "1m"], "bounce_to": None},
        tenants={"contoso": {"imap": {"host": "127.0.0.1", "port": 993, "tls": "implicit",
                                      "max_connections_per_mailbox": 4},
                             "smtp": {"max_messages_per_minute": 30},
                             "scope": "https://outlook.office365.com/.default",
                             "client_secret_expires": "2099-01-01"}},
        server={"hostname": "relay.test", "user": "root"},
        log={"level": "info", "format": "json"}),
    "certificate": dict(tenants={"contoso": {"client_secret_file": None, "certificate": {}}}),  # files filled in below
}


@pytest.mark.parametrize("variant", sorted(FIXTURE_VARIANTS))
def test_fixture_configs_match_schema_and_loader(validator, relay, standin, variant):
    over = copy.deepcopy(FIXTURE_VARIANTS[variant])
    if "admin" in over:
        over["admin"]["listen"] = f"127.0.0.1:{free_port()}"
    if variant == "certificate":
        over["tenants"]["contoso"]["certificate"] = {"cert_file": standin.client_cert, "key_file": standin.client_key}
    r = relay(start=False, **over)
    with open(r.config_path, encoding="utf-8") as f:
        doc = load_yaml(f.read())
    assert problems(validator, doc) == []
    rc, out = check_config(r.bin, r.config_path)
    assert rc == 0, out


# --- mistakes are rejected -----------------------------------------------------

def _set(doc, path, key, value, remove=None):
    node = doc
    for p in path:
        node = node[p]
    if remove:
        value = node.pop(remove)
    node[key] = value


TYPOS = {
    # (where, typo'd key, the right key it replaces)
    "top_level": ((), "tenant", "tenants"),
    "server": (("server",), "hostnme", "hostname"),
    "log": (("log",), "levle", "level"),
    "tenant": (("tenants", "contoso"), "tenant_di", "tenant_id"),
    "endpoint": (("tenants", "contoso", "smtp"), "prot", "port"),
    "listener": (("listeners", 0), "allow_plaintext_atuh", "allow_plaintext_auth"),
    "admin": (("admin",), "allow_form", "allow_from"),
    "user": (("users", "scanner01"), "mailbx", "mailbox"),
    "no_auth": (("no_auth", 0), "sender", "senders"),
    "rewrite_sender": (("no_auth", 0, "rewrite_sender"), "from_headr", "from_header"),
    "limits": (("limits",), "command_timout", "command_timeout"),
    "spool": (("spool",), "retry_schedul", "retry_schedule"),
}


@pytest.mark.parametrize("where", sorted(TYPOS))
def test_schema_rejects_a_typod_key(validator, where):
    path, typo, right = TYPOS[where]
    doc = example_doc()
    _set(doc, path, typo, None, remove=right)
    found = problems(validator, doc)
    assert any(repr(typo) in p for p in found), found


VALUE_MISTAKES = {
    "upstream_tls_none": (("tenants", "contoso", "smtp"), "tls", "none"),
    "imap_paced": (("tenants", "contoso", "imap"), "max_messages_per_minute", 30),
    "min_tls_version": (("listeners", 0), "min_tls_version", "1.4"),
    "duration_words": (("limits",), "command_timeout", "5 min"),
    "zero_timeout": (("limits",), "data_timeout", 0),
    "size_unit": (("limits",), "max_message_size", "35 MB"),
    "log_level": (("log",), "level", "verbose"),
    "yes_is_not_a_bool": (("listeners", 0), "allow_plaintext_auth", "yes"),
    "port_range": (("tenants", "contoso", "smtp"), "port", 70000),
    "two_credentials": (("tenants", "contoso"), "client_secret_env", "CONTOSO_SECRET"),  # beside client_secret_file
    "expiry_with_certificate": (("tenants", "contoso"), "certificate", {"cert_file": "a.crt", "key_file": "a.key"}),
    "authority_with_tenant": (("tenants", "contoso"), "authority", "https://login.microsoftonline.com/" + TENANT_ID),
    "client_id_not_guid": (("tenants", "contoso"), "client_id", "my-app"),
    "scope": (("tenants", "contoso"), "scope", "https://outlook.office365.com/SMTP.SendAsApp"),
    "mailbox": (("users", "scanner01"), "mailbox", "scanner"),
    "empty_sources": (("users", "scanner01"), "sources", []),
    "protocol": (("users", "scanner01"), "protocols", ["smtp", "http"]),
    "delivery": (("users", "scanner01"), "delivery", "queue"),
    "proxy_without_from": (("listeners", 1), "proxy_protocol", True),
}


@pytest.mark.parametrize("what", sorted(VALUE_MISTAKES))
def test_schema_rejects_a_wrong_value(validator, what):
    path, key, value = VALUE_MISTAKES[what]
    doc = example_doc()
    assert problems(validator, doc) == []
    _set(doc, path, key, value)
    assert problems(validator, doc) != [], f"the schema accepts {key}: {value!r}"


def test_tls_none_listener_with_certificate_rejected(validator):
    doc = example_doc()
    doc["listeners"][0]["tls"] = "none"  # cert_file, key_file, min_tls_version stay
    found = problems(validator, doc)
    assert found, "a plain listener with a certificate passed"


def test_typo_rejected_by_schema_and_check_config_alike(validator, relay):
    """The same file, both judges: the schema and the loader both refuse it,
    and the loader's did-you-mean names the key the schema has."""
    r = relay(start=False)
    with open(r.config_path, encoding="utf-8") as f:
        doc = load_yaml(f.read())
    assert problems(validator, doc) == []
    doc["listeners"][0]["allow_plaintext_atuh"] = doc["listeners"][0].pop("allow_plaintext_auth")
    assert any("'allow_plaintext_atuh'" in p for p in problems(validator, doc))
    r.write_config(doc)
    rc, out = check_config(r.bin, r.config_path)
    assert rc != 0
    assert "allow_plaintext_atuh" in out and "allow_plaintext_auth" in out, out


# --- the schema's keys are the loader's keys --------------------------------------

# Where each loader function's MapReader reads in the document: a path of
# property names, "*" (any name under a mapping of names) and "[]" (list items).
LOADER_PLACES = {
    "load_document": [()],
    "load_server": [("server",)],
    "load_log": [("log",)],
    "load_limits": [("limits",)],
    "load_admin": [("admin",)],
    "load_spool": [("spool",)],
    "load_tenants": [("tenants",)],
    "load_tenant": [("tenants", "*")],
    "read_endpoint": [("tenants", "*", "smtp"), ("tenants", "*", "imap"), ("tenants", "*", "pop3")],
    "read_certificate": [("tenants", "*", "certificate")],
    "load_listener": [("listeners", "[]")],
    "load_users": [("users",)],
    "load_user": [("users", "*")],
    "load_rule": [("no_auth", "[]")],
    "read_rewrite_sender": [("users", "*", "rewrite_sender"), ("no_auth", "[]", "rewrite_sender")],
    "read_graph_block": [("tenants", "*", "graph")],
}

_FUNCTION = re.compile(r"^(?!namespace\b|struct\b|class\b|using\b|return\b)[A-Za-z_][\w:<>,\s*&]*?\b(\w+)\s*\(", re.M)
_MAP_READER = re.compile(r"\bMapReader\s+\w+\s*[({]")


def loader_maps():
    """[(function, [allowed keys], "file:line")] for every MapReader the
    loader constructs under conf/ (an empty list: a mapping of free names)."""
    found = []
    for root, _, files in os.walk(CONF_DIR):
        for name in sorted(files):
            if not name.endswith(".cpp") or name == "yaml_reader.cpp":
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                src = f.read()
            for m in _MAP_READER.finditer(src):
                where = f"{os.path.relpath(path, REPO)}:{src.count(chr(10), 0, m.start()) + 1}"
                call = src[m.end():src.index(";", m.end())]
                braces = re.search(r"\{(.*)\}", call, re.S)
                assert braces, f"{where}: cannot read this MapReader's allowed keys (not a {{...}} list); update this test"
                keys = re.findall(r'"([^"\\]*)"', braces.group(1))
                assert len(keys) == braces.group(1).count(",") + 1 or not keys, \
                    f"{where}: the allowed keys are not all string literals; update this test"
                headers = [h for h in _FUNCTION.finditer(src, 0, m.start())]
                assert headers, f"{where}: no enclosing function found"
                found.append((headers[-1].group(1), keys, where))
    return found


def deref(schema, node):
    while isinstance(node, dict):
        if "$ref" in node:
            node = _lookup(schema, node["$ref"])
        elif "allOf" in node and len(node["allOf"]) == 1 and set(node) <= {"allOf", "description"}:
            node = node["allOf"][0]
        else:
            break
    return node


def _lookup(schema, ref):
    assert ref.startswith("#/"), ref
    node = schema
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def object_schemas(schema, node, path=()):
    """Every object schema reachable from `node`: (path, schema), with the
    branches of anyOf/oneOf at the same path."""
    node = deref(schema, node)
    if not isinstance(node, dict):
        return
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        yield from object_schemas(schema, branch, path)
    if node.get("type") == "object" or "properties" in node:
        yield path, node
        for key, child in node.get("properties", {}).items():
            yield from object_schemas(schema, child, path + (key,))
        if isinstance(node.get("additionalProperties"), dict):
            yield from object_schemas(schema, node["additionalProperties"], path + ("*",))
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        yield from object_schemas(schema, node["items"], path + ("[]",))


def test_schema_keys_match_the_loader(schema):
    maps = loader_maps()
    assert len(maps) >= len(LOADER_PLACES), maps  # the parser found the loader's maps at all
    objects = {}
    for path, node in object_schemas(schema, schema):
        objects.setdefault(path, []).append(node)
    covered = set()
    for function, keys, where in maps:
        assert function in LOADER_PLACES, (
            f"{where}: {function}() reads a mapping this test does not know; add it to LOADER_PLACES "
            f"and its keys ({', '.join(keys) or 'free names'}) to conf/relay.schema.json")
        for place in LOADER_PLACES[function]:
            covered.add(place)
            nodes = objects.get(place)
            assert nodes, f"{where}: the schema has no mapping at {'.'.join(place) or '(top)'}"
            assert len(nodes) == 1, f"the schema has {len(nodes)} mappings at {'.'.join(place)}"
            node = nodes[0]
            if not keys:
                # A mapping of names (tenants:, users:): any key, each one a schema.
                assert "properties" not in node and isinstance(node.get("additionalProperties"), dict), \
                    f"{'.'.join(place)}: the loader takes any name here"
                continue
            schema_keys = set(node.get("properties", {}))
            place_name = ".".join(place) or "(top)"
            assert set(keys) - schema_keys == set(), \
                f"{where}: keys the loader knows at {place_name} but the schema lacks"
            assert schema_keys - set(keys) == set(), \
                f"{where}: keys in the schema at {place_name} that the loader refuses"
            assert node.get("additionalProperties") is False, \
                f"{place_name}: the loader refuses unknown keys here; the schema must too"
    # And the reverse: no closed mapping in the schema the loader never reads.
    closed = {p for p, nodes in objects.items() if any(n.get("additionalProperties") is False for n in nodes)}
    assert closed - covered == set(), "mappings in the schema that no loader MapReader reads"


def loader_enums():
    """{enum type: {names}} from the loader's read_enum tables ({"name", Type::value})."""
    found = {}
    for root, _, files in os.walk(CONF_DIR):
        for name in files:
            if name.endswith(".cpp"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    for word, enum in re.findall(r'\{"([^"]+)",\s*(\w+)::\w+\}', f.read()):
                        found.setdefault(enum, set()).add(word)
    return found


def _enum_at(schema, *pointer):
    node = schema
    for part in pointer:
        node = deref(schema, node)[part]
    node = deref(schema, node)
    return {v for v in node["enum"] if isinstance(v, str)}


def test_schema_enums_match_the_loader(schema):
    """The words the loader accepts for each choice are the schema's enums
    (upstream tls: the loader refuses none with a reason, so the schema omits it)."""
    enums = loader_enums()
    places = {
        "LogLevel": [("properties", "log", "properties", "level")],
        "LogFormat": [("properties", "log", "properties", "format")],
        "Protocol": [("definitions", "protocol"), ("definitions", "listener", "properties", "protocol")],
        "TlsMode": [("definitions", "listener", "properties", "tls")],
        "TlsVersion": [("definitions", "listener", "properties", "min_tls_version")],
        "Delivery": [("definitions", "delivery")],
        "SmtpVia": [("definitions", "endpoint_smtp", "properties", "via")],
        "Provider": [("definitions", "tenant", "properties", "provider")],
        "LargeMessages": [],  # below: upload is refused as not available yet
    }
    assert set(enums) == set(places), f"choices in the loader this test does not map: {set(enums) ^ set(places)}"
    for enum, pointers in places.items():
        for pointer in pointers:
            assert _enum_at(schema, *pointer) == enums[enum], f"{enum} at {'/'.join(pointer)}"
    for proto in ("smtp", "imap", "pop3"):
        assert _enum_at(schema, "definitions", f"endpoint_{proto}", "properties", "tls") == enums["TlsMode"] - {"none"}
    assert _enum_at(schema, "definitions", "tenant", "properties", "graph", "properties", "large_messages") == \
        enums["LargeMessages"] - {"upload"}


def test_key_parser_sees_a_new_key(schema, tmp_path, monkeypatch):
    """The drift check itself can fail: a loader with one more key is caught."""
    fake = tmp_path / "conf"
    fake.mkdir()
    for name in os.listdir(CONF_DIR):
        if name.endswith(".cpp"):
            text = open(os.path.join(CONF_DIR, name), encoding="utf-8").read()
            if name == "load_basics.cpp":
                text = text.replace('{"level", "format"}', '{"level", "format", "destination"}', 1)
                assert "destination" in text
            (fake / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "CONF_DIR", str(fake))
    with pytest.raises(AssertionError, match="schema lacks"):
        test_schema_keys_match_the_loader(schema)


# --- init's output -----------------------------------------------------------------

def test_init_output_matches_schema(validator, relay_bin, tmp_path):
    """`xoauth2-relay init --non-interactive` writes a config the schema takes."""
    probe = subprocess.run([relay_bin, "--help"], capture_output=True, timeout=30)
    if not re.search(rb"^\s+init\s", probe.stdout, re.M):
        pytest.skip("this build has no `init` subcommand")
    secret = tmp_path / "secret.in"
    secret.write_text("not-a-real-secret-value~0123456789abcdef\n")
    os.chmod(secret, 0o600)
    config = tmp_path / "etc" / "relay.yaml"
    out = subprocess.run([relay_bin, "init", "--non-interactive", "--config", str(config),
                          "--tenant-id", TENANT_ID, "--client-id", CLIENT_ID,
                          "--client-secret-file", str(secret), "--user", "scanner01", "--password-stdin",
                          "--mailbox", "scanner@contoso.com", "--listen", "127.0.0.1:2587"],
                         input=b"a test password\n", capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode("utf-8", "replace")[-2000:]
    doc = load_yaml(config.read_text(encoding="utf-8"))
    assert problems(validator, doc) == []

"""deploy/ stays correct (issue 14): the Kubernetes manifests parse and agree
with each other and with the relay (probe paths and ports are the admin
endpoint's, the ConfigMap's relay.yaml passes the real binary's
`check-config`, and runs as the pod would: a non-root user, secrets root-owned
0440 with the pod's fsGroup under $CREDENTIALS_DIRECTORY, the spool in a
volume owned by root:fsGroup), the reload sidecar's script sends SIGHUP when
Kubernetes swaps the mounted files, and `haproxy -c` accepts
deploy/haproxy/haproxy.cfg."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest

from conftest import free_port
from spool_helpers import wait_until

yaml = pytest.importorskip("yaml")  # python3-yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
K8S = os.path.join(REPO, "deploy", "kubernetes")
HAPROXY_CFG = os.path.join(REPO, "deploy", "haproxy", "haproxy.cfg")
HAPROXY = "/usr/sbin/haproxy"


def docs(name):
    with open(os.path.join(K8S, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def all_docs():
    out = {}
    for path in sorted(glob.glob(os.path.join(K8S, "*.yaml"))):
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if d:
                    out[(d["kind"], d.get("metadata", {}).get("name", ""))] = d
    return out


def statefulset():
    return all_docs()[("StatefulSet", "xoauth2-relay")]


def relay_container(sts):
    return next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "relay")


def relay_yaml_text():
    return all_docs()[("ConfigMap", "xoauth2-relay-config")]["data"]["relay.yaml"]


def relay_config():
    return yaml.safe_load(relay_yaml_text())


def port_of(listen):
    return int(listen.rsplit(":", 1)[1])


# --- the manifests agree with each other and with relay.yaml ---------------------------------

def test_every_manifest_parses_and_kustomization_lists_them():
    found = all_docs()
    kinds = {k for k, _ in found}
    assert {"ConfigMap", "StatefulSet", "Service", "PodDisruptionBudget", "Secret", "Kustomization"} <= kinds
    listed = docs("kustomization.yaml")[0]["resources"]
    for f in listed:
        assert os.path.isfile(os.path.join(K8S, f)), f
    # Secrets are created from files, never applied from the example.
    assert "secrets.example.yaml" not in listed
    kubectl = shutil.which("kubectl")
    if kubectl:  # offline: kustomize builds without a cluster
        out = subprocess.run([kubectl, "kustomize", K8S], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        built = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(out.stdout) if d}
        assert ("StatefulSet", "xoauth2-relay") in built


def test_probes_are_the_admin_endpoints_on_the_admin_port():
    c = relay_container(statefulset())
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    cfg = relay_config()
    assert ports["admin"] == port_of(cfg["admin"]["listen"])
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    # The kubelet probes from the node: allow_from cannot be loopback only.
    assert any(not n.startswith("127.") and n != "::1" for n in cfg["admin"]["allow_from"])


def test_ports_listeners_and_services_agree():
    sts = statefulset()
    c = relay_container(sts)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    cfg = relay_config()
    listened = sorted(port_of(listener["listen"]) for listener in cfg["listeners"])
    assert listened == sorted(v for k, v in ports.items() if k != "admin")
    # Unprivileged ports: no capability needed in the pod.
    assert all(p >= 1024 for p in listened)
    found = all_docs()
    svc = found[("Service", "xoauth2-relay")]["spec"]
    assert svc["type"] == "LoadBalancer" and svc["externalTrafficPolicy"] == "Local"
    public = {p["port"]: p["targetPort"] for p in svc["ports"]}
    assert sorted(public) == [25, 110, 143, 465, 587, 993, 995]
    assert set(public.values()) == set(ports) - {"admin"}
    labels = sts["spec"]["template"]["metadata"]["labels"]
    for kind, name in (("Service", "xoauth2-relay"), ("Service", "xoauth2-relay-headless")):
        assert found[(kind, name)]["spec"]["selector"].items() <= labels.items()
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pdb = found[("PodDisruptionBudget", "xoauth2-relay")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["maxUnavailable"] == 1 and sts["spec"]["replicas"] >= 2
    assert found[("Service", "xoauth2-relay-headless")]["spec"]["clusterIP"] == "None"
    assert sts["spec"]["serviceName"] == "xoauth2-relay-headless"


def test_volumes_config_secrets_and_spool():
    sts = statefulset()
    pod = sts["spec"]["template"]["spec"]
    c = relay_container(sts)
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    claims = {t["metadata"]["name"]: t for t in sts["spec"]["volumeClaimTemplates"]}
    for name in mounts:
        assert name in volumes or name in claims, name
    # The config file the command names is the ConfigMap's key.
    cmd = c["command"]
    config_path = cmd[cmd.index("--config") + 1]
    assert os.path.dirname(config_path) == mounts["config"]["mountPath"]
    assert volumes["config"]["configMap"]["name"] == "xoauth2-relay-config"
    assert os.path.basename(config_path) in all_docs()[("ConfigMap", "xoauth2-relay-config")]["data"]
    # Secrets: files under $CREDENTIALS_DIRECTORY, 0440, from Secrets the example shows.
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["CREDENTIALS_DIRECTORY"] == mounts["credentials"]["mountPath"]
    proj = volumes["credentials"]["projected"]
    assert proj["defaultMode"] == 0o440
    example = {d["metadata"]["name"]: d for d in docs("secrets.example.yaml")}
    keys = set()
    for src in proj["sources"]:
        s = example[src["secret"]["name"]]
        items = src["secret"].get("items")
        keys |= {i["path"] for i in items} if items else set(s["stringData"])
    cfg = relay_config()
    named = set(re.findall(r"\$\{CREDENTIALS_DIRECTORY\}/([\w.-]+)", relay_yaml_text()))
    assert named and named <= keys, (named, keys)
    assert cfg["tenants"]["contoso"]["client_secret_file"] == "${CREDENTIALS_DIRECTORY}/contoso.secret"
    # The spool: a subdirectory of the per-pod volume (the relay makes it 0700).
    spool_mount = mounts["spool"]["mountPath"]
    assert os.path.dirname(cfg["spool"]["dir"]) == spool_mount
    assert claims["spool"]["spec"]["accessModes"] == ["ReadWriteOnce"]
    # The reload sidecar sees the same files.
    sidecar = next(x for x in pod["containers"] if x["name"] == "reload")
    side_mounts = {m["name"]: m["mountPath"] for m in sidecar["volumeMounts"]}
    assert side_mounts == {"config": mounts["config"]["mountPath"],
                           "credentials": mounts["credentials"]["mountPath"]}
    assert pod["shareProcessNamespace"] is True


def test_security_context_matches_the_hardened_unit():
    pod = statefulset()["spec"]["template"]["spec"]
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] != 0 and psc["fsGroup"] == psc["runAsGroup"]
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc["capabilities"] == {"drop": ["ALL"]}, c["name"]
    # The grace period covers limits.shutdown_grace plus the relay's last 5 s.
    grace = relay_config().get("limits", {}).get("shutdown_grace", "30s")
    assert pod["terminationGracePeriodSeconds"] >= int(str(grace).rstrip("s")) + 5


# --- the relay accepts and runs what the pod gives it ----------------------------------------

POD_UID = 10001


@pytest.fixture
def pod_like(standin, tmp_path):
    """A directory laid out as the pod sees its files, readable by uid 10001
    (pytest's own tmp dirs are root-only): config/ and credentials/ as
    Kubernetes' atomic writer makes them (..data symlink to a timestamped
    directory), credentials root:10001 0440, the spool volume root:10001
    2775, and a copy of the relay binary named as in the image."""
    base = tempfile.mkdtemp(prefix="xr-k8s-")
    os.chmod(base, 0o755)
    try:
        yield PodDirs(base, standin)
    finally:
        shutil.rmtree(base, ignore_errors=True)


class PodDirs:
    def __init__(self, base, standin):
        self.base, self.standin = base, standin
        self.config_dir = os.path.join(base, "config")
        self.creds_dir = os.path.join(base, "credentials")
        self.volume = os.path.join(base, "spool-volume")
        self.generation = 0
        os.mkdir(self.volume)
        os.chown(self.volume, 0, POD_UID)
        os.chmod(self.volume, 0o2775)
        ca = os.path.join(base, "ca.crt")
        shutil.copy(standin.ca, ca)
        os.chmod(ca, 0o644)
        self.ca = ca
        self.admin_port = free_port()

    def relay_yaml(self, **log):
        """The ConfigMap's relay.yaml, changed only where this machine
        differs from a pod: listener and admin addresses (free loopback
        ports), the tenant's endpoint (the stand-in), the spool volume's path."""
        cfg = relay_config()
        for listener in cfg["listeners"]:
            listener["listen"] = f"127.0.0.1:{free_port()}"
        cfg["admin"]["listen"] = f"127.0.0.1:{self.admin_port}"
        cfg["tenants"]["contoso"].update(authority=self.standin.authority, ca_file=self.ca)
        cfg["spool"]["dir"] = os.path.join(self.volume, os.path.basename(cfg["spool"]["dir"]))
        cfg["log"].update(log)
        return yaml.safe_dump(cfg, sort_keys=False)

    def project(self, directory, files, mode, group):
        """Writes files the way the kubelet does: a new ..<generation>
        directory, then ..data swapped to it by rename, and per-file
        symlinks through ..data."""
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, 0o755)
        self.generation += 1
        gen = f"..2026_12_06_00_00_{self.generation:02d}"
        os.mkdir(os.path.join(directory, gen))
        os.chmod(os.path.join(directory, gen), 0o755)
        for name, data in files.items():
            path = os.path.join(directory, gen, name)
            with open(path, "wb") as f:
                f.write(data)
            os.chown(path, 0, group)
            os.chmod(path, mode)
        tmp_link = os.path.join(directory, "..data_tmp")
        os.symlink(gen, tmp_link)
        os.rename(tmp_link, os.path.join(directory, "..data"))
        for name in files:
            link = os.path.join(directory, name)
            if not os.path.islink(link):
                os.symlink(os.path.join("..data", name), link)

    def write_all(self, **log):
        self.project(self.config_dir, {"relay.yaml": self.relay_yaml(**log).encode()}, 0o644, 0)
        with open(self.standin.server_cert, "rb") as f:
            cert = f.read()
        with open(self.standin.server_key, "rb") as f:
            key = f.read()
        self.project(self.creds_dir, {"contoso.secret": (self.standin.secret + "\n").encode(),
                                      "tls.crt": cert, "tls.key": key}, 0o440, POD_UID)

    @property
    def config_path(self):
        return os.path.join(self.config_dir, "relay.yaml")

    def env(self):
        return dict(os.environ, CREDENTIALS_DIRECTORY=self.creds_dir)


def as_pod_user(argv):
    """argv run as the pod's user: uid and gid 10001, supplementary group
    10001 (fsGroup), no capabilities."""
    return ["setpriv", f"--reuid={POD_UID}", f"--regid={POD_UID}", f"--groups={POD_UID}",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", *argv]


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def relay_copy(base, relay_bin):
    """The binary, named as in the image (the sidecar finds it by name)."""
    d = os.path.join(base, "bin")
    os.mkdir(d)
    os.chmod(d, 0o755)
    path = os.path.join(d, "xoauth2-relay")
    shutil.copy(relay_bin, path)
    os.chmod(path, 0o755)
    return path


def test_configmap_passes_check_config_with_pod_credentials(relay_bin, tmp_path):
    """The ConfigMap's relay.yaml as it is (not rewritten), with the secret
    files it names created in $CREDENTIALS_DIRECTORY as the pod mounts them."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "contoso.secret").write_text("a-client-secret-value\n")
    key = creds / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(creds / "tls.crt"), "-subj", "/CN=relay.contoso.com",
                    "-days", "30"], check=True, capture_output=True)
    for f in creds.iterdir():
        os.chmod(f, 0o440)
    cfg = tmp_path / "relay.yaml"
    cfg.write_text(relay_yaml_text())
    env = dict(os.environ, CREDENTIALS_DIRECTORY=str(creds))
    out = subprocess.run([relay_bin, "check-config", "--config", str(cfg)], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "OK", out.stdout + out.stderr
    # Without the variable the same file is refused, naming the key.
    env.pop("CREDENTIALS_DIRECTORY")
    out = subprocess.run([relay_bin, "check-config", "--config", str(cfg)], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1 and "client_secret_file" in out.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("unshare"),
                    reason="needs root, setpriv and unshare to act as the pod's user")
def test_runs_as_the_pod_user_and_the_sidecar_reloads_it(standin, relay_bin, pod_like):
    """The relay as uid 10001 with the pod's files: the probes' paths answer
    200 (readiness once the token is there), the spool directory is created
    0700 in the volume; the sidecar's own script (from statefulset.yaml, its
    poll shortened) sees Kubernetes swap the files and sends SIGHUP, in a PID
    namespace of its own, as with shareProcessNamespace."""
    p = pod_like
    binary = relay_copy(p.base, relay_bin)
    p.write_all()
    sts = statefulset()
    c = relay_container(sts)
    sidecar = next(x for x in sts["spec"]["template"]["spec"]["containers"] if x["name"] == "reload")
    script = sidecar["command"][2]
    assert "sleep 10" in script
    script = (script.replace("sleep 10", "sleep 0.2")
              .replace("/etc/xoauth2-relay", p.config_dir)
              .replace("/run/xoauth2-relay/credentials", p.creds_dir))
    relay_cmd = " ".join(as_pod_user([binary, "run", "--config", p.config_path]))
    sidecar_cmd = " ".join(as_pod_user(["/bin/sh", "-c", "\"$SIDECAR\""]))
    log_path = os.path.join(p.base, "pod.log")
    with open(log_path, "wb") as log:
        pod = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "/bin/sh", "-c",
             f"{relay_cmd} & {sidecar_cmd} & wait"],
            env=dict(p.env(), SIDECAR=script), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def log_text():
        with open(log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    try:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            path = c[probe]["httpGet"]["path"]
            wait_until(f"{probe} {path} 200", lambda: pod.poll() is None and get(p.admin_port, path)[0] == 200
                       or pod.poll() is not None, timeout=30)
            assert pod.poll() is None, log_text()[-3000:]
        spool = os.path.join(p.volume, "spool")
        st = os.stat(spool)
        assert st.st_uid == POD_UID and st.st_mode & 0o777 == 0o700
        assert "running_as_root" not in log_text()
        # An edit of the ConfigMap: the kubelet swaps ..data; the sidecar
        # sends SIGHUP; the relay reloads.
        assert '"event":"reloaded"' not in log_text()
        p.project(p.config_dir, {"relay.yaml": p.relay_yaml(level="debug").encode()}, 0o644, 0)
        wait_until("the relay to reload after the ConfigMap changed",
                   lambda: '"event":"reloaded"' in log_text(), timeout=15)
        assert "SIGHUP to xoauth2-relay" in log_text()
        # A rotated Secret does the same.
        p.write_all(level="debug")
        wait_until("a second reload after the Secret changed",
                   lambda: log_text().count('"event":"reloaded"') >= 2, timeout=15)
        assert get(p.admin_port, "/readyz")[0] == 200
        assert standin.secret not in log_text()
    finally:
        # SIGKILL to unshare: --kill-child takes its child (the namespace's
        # PID 1) along, and with it every process in the namespace.
        pod.kill()
        pod.wait()


# --- HAProxy ----------------------------------------------------------------------------------

@pytest.mark.skipif(not os.access(HAPROXY, os.X_OK), reason="haproxy is not installed")
def test_example_haproxy_cfg_is_valid():
    out = subprocess.run([HAPROXY, "-c", "-f", HAPROXY_CFG], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_example_haproxy_cfg_uses_proxy_v2_and_readyz_on_every_backend():
    with open(HAPROXY_CFG) as f:
        lines = [l.split("#", 1)[0].strip() for l in f]
    lines = [l for l in lines if l]
    backends, current = {}, None
    for l in lines:
        if l.split()[0] in ("frontend", "backend", "defaults", "global", "listen"):
            current = l if l.startswith("backend ") else None
            if current:
                backends[current] = []
        elif current:
            backends[current].append(l)
    defaults = next(l for l in lines if l.startswith("default-server "))
    assert "send-proxy-v2" in defaults.split() and "check" in defaults.split()
    assert re.search(r"\bport 9187\b", defaults)
    cfg = relay_config()
    assert port_of(cfg["admin"]["listen"]) == 9187
    ports = set()
    assert len(backends) == 7
    for name, body in backends.items():
        assert "option httpchk GET /readyz" in body, name
        assert "http-check expect status 200" in body, name
        servers = [l for l in body if l.startswith("server ")]
        assert len(servers) >= 2, name
        ports |= {int(s.split()[2].rsplit(":", 1)[1]) for s in servers}
        # Never an SMTP-level check (the relay logs it as a device mistake).
        assert not any("smtpchk" in l for l in body), name
    assert ports == {25, 587, 465, 143, 993, 110, 995}

"""The systemd unit as installed by `cmake --install`: it passes
`systemd-analyze verify`, scores an exposure of 2.0 or lower in
`systemd-analyze security --offline=true`, and the install puts binary, unit,
sysusers.d and tmpfiles.d files and the example config in the usual places."""
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


@pytest.fixture(scope="module")
def staged(relay_bin, tmp_path_factory):
    """`cmake --install` of the build that made relay_bin, with prefix /usr, into a staging dir."""
    build = os.path.dirname(relay_bin)
    if not os.path.exists(os.path.join(build, "cmake_install.cmake")):
        pytest.skip(f"{relay_bin} is not in a CMake build directory")
    stage = str(tmp_path_factory.mktemp("stage"))
    out = subprocess.run([shutil.which("cmake"), "--install", build, "--prefix", "/usr"],
                         env=dict(os.environ, DESTDIR=stage),
                         capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()
    return stage


def test_install_puts_files_in_the_usual_places(staged):
    for path in ("usr/bin/xoauth2-relay", "usr/lib/systemd/system/xoauth2-relay.service",
                 "usr/lib/sysusers.d/xoauth2-relay.conf", "usr/lib/tmpfiles.d/xoauth2-relay.conf",
                 "usr/share/doc/xoauth2-relay/examples/relay.yaml"):
        assert os.path.isfile(os.path.join(staged, path)), path
    assert os.access(os.path.join(staged, "usr/bin/xoauth2-relay"), os.X_OK)
    unit = open(os.path.join(staged, "usr/lib/systemd/system/xoauth2-relay.service")).read()
    assert "ExecStart=/usr/bin/xoauth2-relay run --config /etc/xoauth2-relay/relay.yaml" in unit


def unit_for_host(staged, tmp_path):
    """The installed unit with its binary path pointing into the staging dir,
    since verify checks that ExecStart's program exists."""
    unit = open(os.path.join(staged, "usr/lib/systemd/system/xoauth2-relay.service")).read()
    unit = unit.replace("/usr/bin/xoauth2-relay", os.path.join(staged, "usr/bin/xoauth2-relay"))
    path = tmp_path / "xoauth2-relay.service"
    path.write_text(unit)
    return str(path)


def test_systemd_analyze_verify_passes(staged, tmp_path):
    out = subprocess.run(["systemd-analyze", "verify", unit_for_host(staged, tmp_path)],
                         capture_output=True, timeout=120)
    text = out.stdout.decode() + out.stderr.decode()
    assert out.returncode == 0 and "xoauth2-relay.service" not in text, text


def test_security_exposure_is_at_most_2(staged, tmp_path):
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                          unit_for_host(staged, tmp_path)], capture_output=True, timeout=120)
    text = out.stdout.decode() + out.stderr.decode()
    m = re.search(r"Overall exposure level for xoauth2-relay\.service: (\d+\.\d+)", text)
    assert m, text[-3000:]
    assert float(m.group(1)) <= 2.0, text


def test_unit_has_what_operations_rely_on(staged):
    unit = open(os.path.join(staged, "usr/lib/systemd/system/xoauth2-relay.service")).read()
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "WatchdogSec=",
                 "User=xoauth2-relay", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "ConfigurationDirectory=xoauth2-relay",
                 "StateDirectory=xoauth2-relay", "ProtectSystem=strict", "NoNewPrivileges=yes",
                 "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
                 "ReadWritePaths=-/var/spool/xoauth2-relay", "LimitCORE=0"):
        assert line in unit, line

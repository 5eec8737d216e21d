"""bench/compare.py: every figure of two bench/run.sh --json files side by
side, a figure more than 20 % worse flagged and exit status 1, the direction
of each figure (higher or lower is better) taken from its name."""
import copy
import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
COMPARE = os.path.join(ROOT, "bench", "compare.py")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import compare  # noqa: E402

# The shape bench/run.py writes (spool.py writes the same kind: runs of dicts).
RUN = {
    "load_average_before": [0.5, 0.4, 0.3],
    "short_starttls": [{"sessions_per_s": 300.0, "cpu_ms_per_session": 2.6, "p99_ms": 40.0},
                       {"sessions_per_s": 310.0, "cpu_ms_per_session": 2.5, "p99_ms": 42.0},
                       {"sessions_per_s": 290.0, "cpu_ms_per_session": 2.7, "p99_ms": 38.0}],
    "big_5mb_starttls": [{"mb_per_s": 80.0, "cpu_ms_per_mb": 7.0}],
    "idle_smtp": [{"rss_kib_per_session": 30.0}],
    "machine": {"node": "vm", "cores": 2, "runs": 3, "quick": False},
}


def run(tmp_path, old, new):
    paths = []
    for name, data in (("old.json", old), ("new.json", new)):
        p = tmp_path / name
        p.write_text(json.dumps(data))
        paths.append(str(p))
    return subprocess.run([sys.executable, COMPARE, *paths], capture_output=True, text=True)


def test_directions_of_every_figure_the_benches_write():
    assert compare.direction("sessions_per_s") == 1
    assert compare.direction("mb_per_s") == 1
    assert compare.direction("delivered_msgs_per_s") == 1
    for lower in ("cpu_ms_per_session", "cpu_ms_per_mb", "p99_ms", "rss_kib_per_session", "cpu_ms",
                  "acc_cpu_ms_per_mb", "rss_kib_per_queued", "rss_max_kib", "drain_after_s", "deliver_s"):
        assert compare.direction(lower) == -1, lower
    for info in ("kernel_pct", "acc_kernel_pct", "queued_bytes", "cores", "runs"):
        assert compare.direction(info) == 0, info


def test_same_figures_pass_and_every_figure_is_printed(tmp_path):
    r = run(tmp_path, RUN, RUN)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("short_starttls.sessions_per_s", "short_starttls.cpu_ms_per_session", "short_starttls.p99_ms",
                 "big_5mb_starttls.mb_per_s", "big_5mb_starttls.cpu_ms_per_mb", "idle_smtp.rss_kib_per_session"):
        assert name in r.stdout
    # Medians over the runs.
    assert compare.figures(RUN)["short_starttls.sessions_per_s"] == 300.0


def test_more_than_20_percent_worse_is_flagged_either_way(tmp_path):
    new = copy.deepcopy(RUN)
    new["big_5mb_starttls"][0]["mb_per_s"] = 63.0        # 0.79x of a higher-is-better figure
    new["idle_smtp"][0]["rss_kib_per_session"] = 36.5     # 1.22x of a lower-is-better one
    new["big_5mb_starttls"][0]["cpu_ms_per_mb"] = 1.0     # much better: not flagged
    r = run(tmp_path, RUN, new)
    assert r.returncode == 1
    flagged = {ln.split()[0] for ln in r.stdout.splitlines() if ln.rstrip().endswith("WORSE")}
    assert flagged == {"big_5mb_starttls.mb_per_s", "idle_smtp.rss_kib_per_session"}


def test_within_20_percent_is_not_flagged(tmp_path):
    new = copy.deepcopy(RUN)
    new["big_5mb_starttls"][0]["mb_per_s"] = 65.0        # 0.81x
    new["idle_smtp"][0]["rss_kib_per_session"] = 35.9     # 1.197x
    r = run(tmp_path, RUN, new)
    assert r.returncode == 0, r.stdout


def test_unreadable_input_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    r = subprocess.run([sys.executable, COMPARE, str(bad), str(bad)], capture_output=True, text=True)
    assert r.returncode == 2

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


# Issue 13's figures: the sink's CPU over the same interval (context, never
# judged) and the relay's CPU as a ratio to it (lower is better).
RUN13 = {
    **copy.deepcopy(RUN),
    "big_5mb_none": [{"mb_per_s": 90.0, "cpu_ms_per_mb": 2.5, "sink_cpu_ms_per_mb": 2.0, "cpu_ratio_to_sink": 1.25}],
    "imap_fetch_5mb": [{"mb_per_s": 56.0, "cpu_ms_per_mb": 0.7, "sink_cpu_ms_per_mb": 4.5, "cpu_ratio_to_sink": 0.16},
                       {"mb_per_s": 50.0, "cpu_ms_per_mb": 0.9, "sink_cpu_ms_per_mb": 4.0,
                        "cpu_ratio_to_sink": None}],  # the sink below one clock tick
    "machine": {"node": "vm", "cores": 2, "runs": 2, "quick": False, "smoke": False, "date": "2026-12-06T00:00:00+00:00",
                "commit": "abc1234-dirty", "kernel": "6.1.0", "cpu_model": "AMD EPYC", "openssl": "OpenSSL 3.0.19",
                "relay_version": "xoauth2-relay 0.1.0", "command": "bench/run.py --runs 2"},
    "about": {"imap_fetch_5mb": "IMAP FETCH, described by the run itself"},
}
REPORT = os.path.join(ROOT, "bench", "report.py")


def test_ratio_to_sink_is_judged_and_sink_figures_are_not():
    assert compare.direction("cpu_ratio_to_sink") == -1
    for info in ("sink_cpu_ms_per_session", "sink_cpu_ms_per_mb"):
        assert compare.direction(info) == 0, info


def test_worse_ratio_is_flagged_but_a_slower_sink_is_not(tmp_path):
    new = copy.deepcopy(RUN13)
    new["big_5mb_none"][0]["cpu_ratio_to_sink"] = 1.6      # 1.28x of a lower-is-better figure
    new["big_5mb_none"][0]["sink_cpu_ms_per_mb"] = 8.0     # 4x: the sink's business
    r = run(tmp_path, RUN13, new)
    assert r.returncode == 1, r.stdout
    flagged = {ln.split()[0] for ln in r.stdout.splitlines() if ln.rstrip().endswith("WORSE")}
    assert flagged == {"big_5mb_none.cpu_ratio_to_sink"}
    # A run whose ratio is null (the sink below a clock tick) still has a median.
    assert compare.figures(RUN13)["imap_fetch_5mb.cpu_ratio_to_sink"] == 0.16


def report_of(tmp_path, results, *extra):
    p = tmp_path / "results.json"
    p.write_text(json.dumps(results))
    return subprocess.run([sys.executable, REPORT, str(p), *extra], capture_output=True, text=True)


def test_report_shows_machine_figures_and_goals(tmp_path):
    r = report_of(tmp_path, RUN13)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for text in ("## Results", "abc1234-dirty", "2026-12-06T00:00:00+00:00", "`bench/run.py --runs 2`", "AMD EPYC",
                 "OpenSSL 3.0.19", "xoauth2-relay 0.1.0", "IMAP FETCH, described by the run itself",
                 "relay CPU 0.80 ms/MB (0.70–0.90)", "relay/sink CPU 0.16×", "53.0 MB/s (50.0–56.0)"):
        assert text in out, text
    goal = {ln.split("|")[1].strip(): ln for ln in out.splitlines() if ln.startswith("| ") and "≤" in ln}
    assert "| **no** |" in goal["5 MB DATA, device side plaintext: relay CPU"]       # 2.5 > 0.5
    assert "| yes |" in goal["IMAP FETCH through the splice, TLS both sides: relay CPU"]  # 0.8 <= 0.8
    assert "not in this run" in goal["idle spliced IMAP session, TLS both sides: relay RSS"]


def test_report_copes_with_an_older_file_and_compares_before(tmp_path):
    old = copy.deepcopy(RUN)  # before issue 13: no new scenarios, no sink figures, a short machine record
    before = tmp_path / "before.json"
    before.write_text(json.dumps(old))
    r = report_of(tmp_path, RUN13, "--before", str(before))
    assert r.returncode == 0, r.stderr
    rows = {ln.split("|")[1].strip(): ln for ln in r.stdout.split("### Before and after")[1].splitlines()
            if ln.startswith("| ")}
    assert "| 7.00 ms/MB | 7.00 ms/MB | 1.00× |" in rows["5 MB messages, STARTTLS both sides: relay CPU"]
    assert "| — | 2.50 ms/MB |" in rows["5 MB messages, device plaintext: relay CPU"]
    r = report_of(tmp_path, old)
    assert r.returncode == 0, r.stderr
    assert "commit not recorded" in r.stdout


def test_update_rewrites_only_between_the_markers(tmp_path):
    doc = tmp_path / "benchmarks.md"
    head, tail = "# Benchmarks\n\nhand-written prose\n\n", "\n## Soak\n\nmore prose\n"
    doc.write_text(head + "<!-- generated by bench/report.py from old.json: do not edit -->\nstale figures\n"
                   "<!-- end generated -->" + tail)
    r = report_of(tmp_path, RUN13, "--update", str(doc))
    assert r.returncode == 0, r.stderr
    text = doc.read_text()
    assert text.startswith(head) and text.endswith(tail)
    assert "stale figures" not in text and "abc1234-dirty" in text
    assert f"from {tmp_path / 'results.json'}: do not edit -->" in text
    report_of(tmp_path, RUN13, "--update", str(doc))
    assert doc.read_text() == text  # the same input, the same page
    doc.write_text("no markers here\n")
    r = report_of(tmp_path, RUN13, "--update", str(doc))
    assert r.returncode == 2 and doc.read_text() == "no markers here\n"

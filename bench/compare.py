#!/usr/bin/env python3
"""Compares two benchmark results: bench/compare.py OLD.json NEW.json

OLD and NEW are files written by `bench/run.sh --json FILE` (or
`bench/run.sh --spool --json FILE`). Every figure of both is printed side by
side with the ratio NEW/OLD; a figure more than 20 % worse in NEW is flagged,
and then the exit status is 1 (2 for a usage error).

A scenario holds one dict of figures per run; the median over the runs is
compared. Which way is better comes from the figure's name (bench/run.py
and bench/spool.py name them so):
  *_per_s                                  higher is better (throughput)
  cpu*, *_cpu*, *_ms*, *_kib*, *_s, *_per_mb   lower is better (cost, latency,
                                           memory, duration; cpu_ratio_to_sink,
                                           the relay's CPU over the sink's)
  sink_* (the sink's own CPU: the yardstick for the ratio), kernel_pct,
  queued_bytes, load averages, anything else
                                           shown, never judged
"Worse by more than 20 %": a higher-is-better figure below 0.8 x OLD, a
lower-is-better one above 1.2 x OLD.
"""
import argparse
import json
import statistics
import sys

THRESHOLD = 0.20
INFORMATIONAL = ("kernel_pct", "queued_bytes", "steps")


def direction(field):
    """+1: higher is better, -1: lower is better, 0: not judged."""
    if field.startswith(("load_average", "sink_")) or any(field.endswith(x) for x in INFORMATIONAL):
        return 0
    if field.endswith("_per_s"):
        return +1
    parts = field.split("_")
    if "cpu" in parts or "ms" in parts or "kib" in parts or field.endswith(("_s", "_per_mb")):
        return -1
    return 0


def figures(results):
    """{"scenario.field": number} from one results file: medians over runs."""
    out = {}
    for scenario, value in results.items():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            for field in value[0]:
                nums = [r[field] for r in value if isinstance(r.get(field), (int, float))
                        and not isinstance(r.get(field), bool)]
                if nums:
                    out[f"{scenario}.{field}"] = statistics.median(nums)
        elif isinstance(value, dict):
            for field, v in value.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out[f"{scenario}.{field}"] = v
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[scenario] = value
        # Load averages (lists of numbers) and text are context, not figures.
    return out


def judge(name, old, new):
    """(ratio text, flag text, worse?) for one figure present in both files."""
    sense = direction(name.rsplit(".", 1)[-1])
    if old == 0:
        return "n/a", "" if sense == 0 or new == old else "(was 0)", False
    ratio = new / old
    if sense > 0:
        worse = ratio < 1 - THRESHOLD
    elif sense < 0:
        worse = ratio > 1 + THRESHOLD
    else:
        worse = False
    flag = "WORSE" if worse else {1: "higher is better", -1: "lower is better", 0: "not judged"}[sense]
    return f"{ratio:.2f}x", flag, worse


def fmt(v):
    return "-" if v is None else f"{v:.4g}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", help="JSON from bench/run.sh --json (the reference)")
    ap.add_argument("new", help="JSON from bench/run.sh --json (the candidate)")
    args = ap.parse_args(argv)
    try:
        with open(args.old) as f:
            old = figures(json.load(f))
        with open(args.new) as f:
            new = figures(json.load(f))
    except (OSError, ValueError, AttributeError) as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    names = sorted(set(old) | set(new))
    if not names:
        print("compare.py: no figures in either file", file=sys.stderr)
        return 2
    width = max(len(n) for n in names)
    print(f"{'figure':<{width}}  {'old':>10}  {'new':>10}  {'new/old':>8}  ")
    worse = []
    for n in names:
        o, w = old.get(n), new.get(n)
        if o is None or w is None:
            ratio, flag = "", "only in " + ("NEW" if o is None else "OLD")
        else:
            ratio, flag, bad = judge(n, o, w)
            if bad:
                worse.append(n)
        print(f"{n:<{width}}  {fmt(o):>10}  {fmt(w):>10}  {ratio:>8}  {flag}")
    if worse:
        print(f"\n{len(worse)} figure(s) more than {THRESHOLD:.0%} worse: " + ", ".join(worse))
        return 1
    print(f"\nno figure more than {THRESHOLD:.0%} worse")
    return 0


if __name__ == "__main__":
    sys.exit(main())

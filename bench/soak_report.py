"""The soak's figures and verdict (bench/soak.py): samples of the relay's
RSS, descriptors and threads from /proc, the "flat" checks, the table and
the JSON."""
import os
import statistics


def sample(pid):
    """{"rss_kib", "fds", "threads"} of a live process (None once it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss_kib"] = int(line.split()[1])
                elif line.startswith("Threads:"):
                    out["threads"] = int(line.split()[1])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None
    return out if len(out) == 3 else None  # a zombie has no VmRSS


def lower_quartile(values):
    v = sorted(values)
    return v[(len(v) - 1) // 4]


def rss_trend(samples):
    """RSS under load after the warm-up. Under load it jumps with the
    sessions in flight (a 300 KB message, a burst of TLS handshakes); a leak
    raises the floor it comes back to. So the figure checked is the lower
    quartile of the first quarter of the load samples (the reference) and of
    the last quarter, and their difference; the medians and the
    least-squares slope (KiB per hour; noisy on short runs) are reported."""
    load = [s for s in samples if s["phase"] == "load"]
    if len(load) < 4:
        return None
    q = max(2, len(load) // 4)
    first, last = [s["rss_kib"] for s in load[:q]], [s["rss_kib"] for s in load[-q:]]
    ref, end = lower_quartile(first), lower_quartile(last)
    ts, rs = [s["t"] for s in load], [s["rss_kib"] for s in load]
    mt, mr = statistics.fmean(ts), statistics.fmean(rs)
    den = sum((t - mt) ** 2 for t in ts)
    slope = sum((t - mt) * (r - mr) for t, r in zip(ts, rs)) / den * 3600 if den else 0.0
    return {"ref_kib": ref, "end_kib": end, "growth_kib": end - ref,
            "median_first_kib": statistics.median(first), "median_last_kib": statistics.median(last),
            "slope_kib_per_h": round(slope, 1), "load_samples": len(load), "quarter": q}


def table(samples, rows=24):
    """Every k-th sample (at most `rows`), the last one, and the one with the
    highest RSS, as text."""
    if not samples:
        return "(no samples)"
    k = max(1, -(-len(samples) // rows))
    picked = list(range(0, len(samples), k))
    top = max(range(len(samples)), key=lambda i: samples[i]["rss_kib"])
    for i in (len(samples) - 1, top):
        if i not in picked:
            picked.append(i)
    lines = [f"{'t (s)':>7}  {'phase':<8} {'RSS MiB':>8} {'fds':>5} {'threads':>7}"]
    for i in sorted(picked):
        s = samples[i]
        mark = "  <- max RSS" if i == top else ""
        lines.append(f"{s['t']:7.0f}  {s['phase']:<8} {s['rss_kib'] / 1024:8.1f} {s['fds']:5d} {s['threads']:7d}{mark}")
    return "\n".join(lines)


def summary_rows(samples):
    if not samples:
        return {}
    return {"first": samples[0], "last": samples[-1],
            "max": {k: max(s[k] for s in samples) for k in ("rss_kib", "fds", "threads")}}

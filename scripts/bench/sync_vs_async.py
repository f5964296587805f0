#!/usr/bin/env python3
"""Rows, table and plot for scripts/bench/sync-vs-async.sh.

  sync_vs_async.py row --clk-tck N --server S --connections C --wrk FILE \
      --idle SAMPLE --first SAMPLE --last SAMPLE
      one TSV row: req/s, p50 and p99 (µs) from wrk --latency; user and kernel CPU µs,
      voluntary and involuntary context switches per request over the window between
      the two samples (requests in the window = req/s × its length); threads and RSS
      at the last sample; RSS before the run; wrk's errors (socket errors, non-2xx).
      A SAMPLE is "time utime stime voluntary involuntary threads rss_kib".
  sync_vs_async.py table TSV        the Markdown table
  sync_vs_async.py plot TSV PNG     kernel CPU per request, RSS and req/s against
                                    connections (needs matplotlib)
"""
import argparse
import csv
import re
import sys

UNITS_US = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0, "m": 60_000_000.0}
LABELS = {"storegate": "storegate (one event loop)", "twin": "twin (thread per connection)"}


def to_us(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * UNITS_US[match.group(2)] if match else float("nan")


def wrk(path):
    text = open(path).read()
    match = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    rps = float(match.group(1)) if match else 0.0
    latency = {}
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}(?:\.0+)?%\s+(\S+)", text, re.M)
        latency[pct] = to_us(match.group(1)) if match else float("nan")
    errors = 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if match:
        errors += sum(int(g) for g in match.groups())
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if match:
        errors += int(match.group(1))
    return rps, latency["50"], latency["99"], errors


def row(args):
    rps, p50, p99, errors = wrk(args.wrk)
    idle = [float(x) for x in args.idle.split()]
    first = [float(x) for x in args.first.split()]
    last = [float(x) for x in args.last.split()]
    requests = rps * (last[0] - first[0])
    per = (lambda delta: delta / requests) if requests > 0 else (lambda delta: float("nan"))
    tick_us = 1_000_000 / args.clk_tck
    fields = [
        args.server, args.connections, f"{rps:.0f}", f"{p50:.0f}", f"{p99:.0f}",
        f"{per((last[1] - first[1]) * tick_us):.2f}", f"{per((last[2] - first[2]) * tick_us):.2f}",
        f"{per(last[3] - first[3]):.3f}", f"{per(last[4] - first[4]):.3f}",
        f"{last[5]:.0f}", f"{last[6]:.0f}", f"{idle[6]:.0f}", str(errors),
    ]
    print("\t".join(str(f) for f in fields))


def load(path):
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def table(args):
    print("| connections | server | req/s | p50 | p99 | user µs/req | kernel µs/req | vol. cs/req | invol. cs/req "
          "| threads | RSS MiB | errors |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in load(args.tsv):
        print(f"| {int(r['connections']):,} | {r['server']} | {int(r['rps']):,} | {ms(r['p50_us'])} | {ms(r['p99_us'])} "
              f"| {float(r['user_us']):.1f} | {float(r['sys_us']):.1f} | {float(r['voluntary']):.2f} "
              f"| {float(r['involuntary']):.3f} | {int(r['threads']):,} | {int(r['rss_kib']) / 1024:.1f} | {r['errors']} |")


def ms(us):
    value = float(us)
    if value >= 1_000_000:
        return f"{value / 1_000_000:.2f} s"
    return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} µs"


def plot(args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    rows = load(args.tsv)
    panels = [("sys_us", "kernel CPU µs per request", 1.0), ("rss_kib", "RSS (MiB)", 1 / 1024),
              ("rps", "requests/s", 1.0)]
    figure, axes = plt.subplots(1, 3, figsize=(11, 3.3), dpi=80)
    for axis, (key, title, scale) in zip(axes, panels):
        for server, style in (("storegate", "o-"), ("twin", "s--")):
            points = [(int(r["connections"]), float(r[key]) * scale) for r in rows if r["server"] == server]
            axis.plot([p[0] for p in points], [p[1] for p in points], style, label=LABELS[server])
        axis.set_xscale("log")
        stages = sorted({int(r["connections"]) for r in rows})
        axis.set_xticks(stages, [f"{c:,}" for c in stages])
        axis.xaxis.set_minor_locator(ticker.NullLocator())
        if key == "rss_kib":
            axis.set_yscale("log")
            axis.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
            axis.yaxis.set_minor_formatter(
                ticker.FuncFormatter(lambda value, _: f"{value:g}" if f"{value:g}"[0] in "25" else ""))
        axis.set_ylim(bottom=0 if key != "rss_kib" else None)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("keep-alive connections")
        axis.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(args.png)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("row")
    for name in ("--server", "--wrk", "--idle", "--first", "--last"):
        r.add_argument(name, required=True)
    r.add_argument("--connections", type=int, required=True)
    r.add_argument("--clk-tck", type=int, required=True)
    t = sub.add_parser("table")
    t.add_argument("tsv")
    p = sub.add_parser("plot")
    p.add_argument("tsv")
    p.add_argument("png")
    args = parser.parse_args()
    {"row": row, "table": table, "plot": plot}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

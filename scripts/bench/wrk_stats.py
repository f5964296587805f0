#!/usr/bin/env python3
"""Picks the median of several wrk --latency runs, for scripts/bench.sh.

usage: wrk_stats.py --clk-tck N RUN...
where each RUN is OUTPUT_FILE:CPU_TICKS, the file holding one wrk --latency output and
CPU_TICKS the server's utime+stime delta (clock ticks) over that run.

Prints, per run, a line to stderr, and for the median run (by requests/s) key=value
lines on stdout:
  rps requests p50_us p99_us cpu_us_per_req errors runs
`errors` sums socket errors and non-2xx/3xx responses over all runs.
Standard library only.
"""
import argparse
import re
import sys

UNITS_US = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0, "m": 60_000_000.0}


def to_us(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unrecognised latency {text!r}")
    return float(match.group(1)) * UNITS_US[match.group(2)]


def parse(path):
    text = open(path).read()
    run = {}
    match = re.search(r"^\s*(\d+) requests in ", text, re.M)
    run["requests"] = int(match.group(1)) if match else 0
    match = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    run["rps"] = float(match.group(1)) if match else 0.0
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}(?:\.0+)?%\s+(\S+)", text, re.M)
        run[f"p{pct}_us"] = to_us(match.group(1)) if match else float("nan")
    errors = 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if match:
        errors += sum(int(g) for g in match.groups())
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if match:
        errors += int(match.group(1))
    run["errors"] = errors
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clk-tck", type=int, required=True)
    parser.add_argument("--label", default="server")
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()

    runs = []
    for i, spec in enumerate(args.runs, 1):
        path, _, ticks = spec.rpartition(":")
        run = parse(path)
        cpu_seconds = int(ticks) / args.clk_tck
        run["cpu_us_per_req"] = cpu_seconds * 1e6 / run["requests"] if run["requests"] else float("nan")
        runs.append(run)
        print(
            f"  {args.label} run {i}/{len(args.runs)}: {run['rps']:.0f} req/s, "
            f"p50 {run['p50_us']:.0f} µs, p99 {run['p99_us']:.0f} µs, "
            f"{run['cpu_us_per_req']:.2f} CPU µs/request ({run['requests']} requests, "
            f"{cpu_seconds:.2f} s server CPU)" + (f", {run['errors']} errors" if run["errors"] else ""),
            file=sys.stderr,
        )
    median = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    print(f"rps={median['rps']:.0f}")
    print(f"requests={median['requests']}")
    print(f"p50_us={median['p50_us']:.0f}")
    print(f"p99_us={median['p99_us']:.0f}")
    print(f"cpu_us_per_req={median['cpu_us_per_req']:.3f}")
    print(f"errors={sum(r['errors'] for r in runs)}")
    print(f"runs={len(runs)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Median of several wrk --latency runs, with the gateway's and the store's CPU per request.

The one wrk parser of the benches: wrk_median in scripts/bench/lib.sh runs it.
usage: wrk_median.py --clk-tck N --label NAME RUN...
where each RUN is OUTPUT_FILE:GATEWAY_TICKS:REDIS_TICKS — one wrk --latency output and
the utime+stime deltas (clock ticks) of the gateway and of redis-server over that run
(0 for a process not measured).

Prints one line per run to stderr and, for the median run by requests/s, key=value
lines on stdout: rps p50_us p99_us requests gw_us redis_us non2xx socket_errors errors
runs. non2xx, socket_errors and errors (the two added) are summed over all runs.
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
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    run["socket_errors"] = sum(int(g) for g in match.groups()) if match else 0
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    run["non2xx"] = int(match.group(1)) if match else 0
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clk-tck", type=int, required=True)
    parser.add_argument("--label", default="server")
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()

    runs = []
    for i, spec in enumerate(args.runs, 1):
        path, gw_ticks, redis_ticks = spec.rsplit(":", 2)
        run = parse(path)
        per_request = 1e6 / args.clk_tck / run["requests"] if run["requests"] else float("nan")
        run["gw_us"] = int(gw_ticks) * per_request
        run["redis_us"] = int(redis_ticks) * per_request
        runs.append(run)
        print(
            f"  {args.label} run {i}/{len(args.runs)}: {run['rps']:.0f} req/s, p50 {run['p50_us']:.0f} µs, "
            f"p99 {run['p99_us']:.0f} µs, gateway {run['gw_us']:.2f} / redis {run['redis_us']:.2f} CPU µs/request, "
            f"{run['non2xx']} non-2xx, {run['socket_errors']} socket errors",
            file=sys.stderr,
        )
    median = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    print(f"rps={median['rps']:.0f}")
    print(f"p50_us={median['p50_us']:.0f}")
    print(f"p99_us={median['p99_us']:.0f}")
    print(f"requests={median['requests']}")
    print(f"gw_us={median['gw_us']:.2f}")
    print(f"redis_us={median['redis_us']:.2f}")
    print(f"non2xx={sum(r['non2xx'] for r in runs)}")
    print(f"socket_errors={sum(r['socket_errors'] for r in runs)}")
    print(f"errors={sum(r['non2xx'] + r['socket_errors'] for r in runs)}")
    print(f"runs={len(runs)}")


if __name__ == "__main__":
    main()

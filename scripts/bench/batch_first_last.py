#!/usr/bin/env python3
"""One large batch get (default 5,000 keys), streamed as NDJSON and as ordered JSON:
time to the first and to the last result, and the gateway's memory.

Used by scripts/bench/vs-webdis.sh. Seeds KEYS 3-bin records `bench/batch/k0…` first
(batches of 1,000 puts, which every version accepts), then on one keep-alive
connection sends the same `POST /v1/batch` of KEYS gets, a warm-up and then
--iterations times in each mode, and times from the last byte of the request:
  NDJSON: the first complete result line, and the last;
  ordered JSON: the whole body (usable only then).
Every result must carry status 200 and every index must come back once.
If the gateway refuses the batch, its status and error code are printed and the rest
is skipped (exit status 0: a refusal is a figure, not a failure).

Prints key=value lines:
  status=200 keys=N iterations=I
  ndjson_first_ms=… ndjson_last_ms=… json_last_ms=…   (medians)
  rss_before_kib=… vm_hwm_kib=…                       (with --pid)
Standard library only (and batch_http.py beside it).
"""
import argparse
import json
import statistics
import sys
import time

from batch_http import Connection, request


def check_results(results, keys):
    seen = set()
    for result in results:
        if result.get("status") != 200:
            raise RuntimeError(f"batch item answered {result}")
        seen.add(result["index"])
    if len(seen) != keys or len(results) != keys:
        raise RuntimeError(f"{len(results)} results, {len(seen)} distinct indexes, {keys} asked")


def streamed(conn, raw, keys):
    """(first result, last result) in seconds after the send; checks every line."""
    conn.sock.sendall(raw)
    start = time.perf_counter()
    status, headers = conn.head()
    if status != 200:
        return status, headers, None
    if headers.get("transfer-encoding", "").lower() != "chunked":
        raise RuntimeError(f"NDJSON answer is not chunked: {headers}")
    first, results = None, []
    for line in conn.ndjson_lines():
        if first is None:
            first = time.perf_counter() - start
        results.append(json.loads(line))
    last = time.perf_counter() - start
    check_results(results, keys)
    return status, headers, (first, last)


def ordered(conn, raw, keys):
    conn.sock.sendall(raw)
    start = time.perf_counter()
    status, headers = conn.head()
    body = conn.body(headers)
    if status != 200:
        return status, body, None
    last = time.perf_counter() - start
    check_results(json.loads(body)["results"], keys)
    return status, body, last


def memory_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", type=int, default=5000)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--pid", type=int, help="the gateway, for VmRSS / VmHWM")
    args = parser.parse_args()

    conn = Connection(args.port)
    for lo in range(0, args.keys, 1000):
        puts = [{"op": "put", "namespace": "bench", "set": "batch", "key": f"k{i}",
                 "bins": {"name": "Alice", "age": 30, "city": "Rome"}} for i in range(lo, min(lo + 1000, args.keys))]
        status, body, _ = ordered(conn, request(json.dumps({"operations": puts}).encode(), "application/json"), len(puts))
        if status != 200:
            sys.exit(f"batch_first_last: seeding answered {status}: {body[:300]!r}")

    if args.pid:
        print(f"rss_before_kib={memory_kib(args.pid, 'VmRSS')}")
    gets = json.dumps({"operations": [{"op": "get", "namespace": "bench", "set": "batch", "key": f"k{i}"}
                                      for i in range(args.keys)]}).encode()
    ndjson_raw = request(gets, "application/x-ndjson")
    status, headers, timing = streamed(conn, ndjson_raw, args.keys)
    if timing is None:
        body = conn.body(headers)
        try:
            code = json.loads(body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = body[:120].decode("utf-8", "replace")
        print(f"status={status} keys={args.keys} iterations=0 refused={code}")
        return
    firsts, lasts, wholes = [], [], []
    for _ in range(args.iterations):
        _, _, (first, last) = streamed(conn, ndjson_raw, args.keys)
        firsts.append(first)
        lasts.append(last)
    json_raw = request(gets, "application/json")
    ordered(conn, json_raw, args.keys)
    for _ in range(args.iterations):
        wholes.append(ordered(conn, json_raw, args.keys)[2])
    print(f"status=200 keys={args.keys} iterations={args.iterations}")
    print(f"ndjson_first_ms={statistics.median(firsts) * 1000:.2f}")
    print(f"ndjson_last_ms={statistics.median(lasts) * 1000:.2f}")
    print(f"json_last_ms={statistics.median(wholes) * 1000:.2f}")
    if args.pid:
        print(f"vm_hwm_kib={memory_kib(args.pid, 'VmHWM')}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Batch of N keys (default 100), ordered JSON vs streamed NDJSON, one keep-alive
connection, one batch at a time: for each mode, p50/p99 of the time from the last byte
of the request to the first result and to the last result. Ordered JSON is usable only
when its whole body has arrived, so its first and last are the same; its first body
byte is reported beside it. Prints one line per mode:
  MODE first_p50 first_p99 last_p50 last_p99 first_byte_p50 first_byte_p99   (µs)
Usage: batch_latency.py PORT [ITERATIONS] [KEYS]   (batch_http.py beside it holds the connection)"""

import json
import sys
import time

from batch_http import Connection, request

PORT = int(sys.argv[1])
ITERATIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
KEYS = int(sys.argv[3]) if len(sys.argv) > 3 else 100
WARMUP = 50


def exchange(conn, raw, streamed):
    """Sends `raw`; returns (first byte, first result, last result) in ns after the send."""
    conn.sock.sendall(raw)
    start = time.perf_counter_ns()
    while not conn.buffer:
        conn.fill()
    first_byte = time.perf_counter_ns() - start
    status, headers = conn.head()
    assert status == 200, status
    if not streamed:
        body = conn.body(headers)
        done = time.perf_counter_ns() - start
        assert len(json.loads(body)["results"]) == KEYS
        return first_byte, done, done
    assert headers.get("transfer-encoding") == "chunked", headers
    first, lines = None, 0
    for _ in conn.ndjson_lines():
        if first is None:
            first = time.perf_counter_ns() - start
        lines += 1
    last = time.perf_counter_ns() - start
    assert lines == KEYS, lines
    return first_byte, first, last


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] / 1000


def main():
    connection = Connection(PORT, timeout=None)
    puts = [{"op": "put", "namespace": "bench", "set": "batch", "key": f"k{i}",
             "bins": {"name": "Alice", "age": 30, "city": "Paris"}} for i in range(KEYS)]
    exchange(connection, request(json.dumps({"operations": puts}).encode(), "application/json"), False)
    gets = json.dumps({"operations": [{"op": "get", "namespace": "bench", "set": "batch", "key": f"k{i}"}
                                      for i in range(KEYS)]}).encode()
    for mode, accept, streamed in [("ordered", "application/json", False), ("streamed", "application/x-ndjson", True)]:
        raw = request(gets, accept)
        samples = [exchange(connection, raw, streamed) for _ in range(WARMUP + ITERATIONS)][WARMUP:]
        firsts, lasts, bytes_ = [s[1] for s in samples], [s[2] for s in samples], [s[0] for s in samples]
        print(mode, *(f"{percentile(v, p):.0f}" for v in (firsts, lasts, bytes_) for p in (50, 99)))


main()

#!/usr/bin/env python3
"""Batch of N keys (default 100), ordered JSON vs streamed NDJSON, one keep-alive
connection, one batch at a time: for each mode, p50/p99 of the time from the last byte
of the request to the first result and to the last result. Ordered JSON is usable only
when its whole body has arrived, so its first and last are the same; its first body
byte is reported beside it. Prints one line per mode:
  MODE first_p50 first_p99 last_p50 last_p99 first_byte_p50 first_byte_p99   (µs)
Usage: batch_latency.py PORT [ITERATIONS] [KEYS]"""

import json
import socket
import sys
import time

PORT = int(sys.argv[1])
ITERATIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
KEYS = int(sys.argv[3]) if len(sys.argv) > 3 else 100
WARMUP = 50


class Connection:
    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", PORT))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        self.buffer += chunk

    def take(self, n):
        while len(self.buffer) < n:
            self.fill()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def line(self):
        while b"\r\n" not in self.buffer:
            self.fill()
        out, self.buffer = self.buffer.split(b"\r\n", 1)
        return out

    def exchange(self, request, streamed):
        """Sends `request`; returns (first byte, first result, last result) in ns after the send."""
        self.sock.sendall(request)
        start = time.perf_counter_ns()
        while not self.buffer:
            self.fill()
        first_byte = time.perf_counter_ns() - start
        status = self.line()
        assert b" 200 " in status, status
        headers = {}
        while True:
            header = self.line()
            if not header:
                break
            name, value = header.split(b":", 1)
            headers[name.strip().lower()] = value.strip()
        if not streamed:
            body = self.take(int(headers[b"content-length"]))
            done = time.perf_counter_ns() - start
            assert len(json.loads(body)["results"]) == KEYS
            return first_byte, done, done
        assert headers.get(b"transfer-encoding") == b"chunked", headers
        first, lines, pending = None, 0, b""
        while True:
            size = int(self.line().split(b";")[0], 16)
            if size == 0:
                self.line()
                break
            pending += self.take(size)
            self.take(2)
            if b"\n" in pending:
                if first is None:
                    first = time.perf_counter_ns() - start
                lines += pending.count(b"\n")
                pending = pending[pending.rfind(b"\n") + 1:]
        last = time.perf_counter_ns() - start
        assert lines == KEYS, lines
        return first_byte, first, last


def request(body, accept):
    return (f"POST /v1/batch HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAccept: {accept}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] / 1000


def main():
    connection = Connection()
    puts = [{"op": "put", "namespace": "bench", "set": "batch", "key": f"k{i}",
             "bins": {"name": "Alice", "age": 30, "city": "Paris"}} for i in range(KEYS)]
    connection.exchange(request(json.dumps({"operations": puts}).encode(), "application/json"), False)
    gets = json.dumps({"operations": [{"op": "get", "namespace": "bench", "set": "batch", "key": f"k{i}"}
                                      for i in range(KEYS)]}).encode()
    for mode, accept, streamed in [("ordered", "application/json", False), ("streamed", "application/x-ndjson", True)]:
        raw = request(gets, accept)
        samples = [connection.exchange(raw, streamed) for _ in range(WARMUP + ITERATIONS)][WARMUP:]
        firsts, lasts, bytes_ = [s[1] for s in samples], [s[2] for s in samples], [s[0] for s in samples]
        print(mode, *(f"{percentile(v, p):.0f}" for v in (firsts, lasts, bytes_) for p in (50, 99)))


main()

#!/usr/bin/env python3
"""Sends a fixed number of identical HTTP/1.1 requests over keep-alive connections.

Used by scripts/bench/vs-webdis.sh to drive a server running under callgrind, where
the count of requests, not their rate, matters. Each of --connections connections
has one request outstanding at a time; the whole run stops after --requests answers.
Every answer must be 2xx, framed by Content-Length or chunked, and must not close the
connection: anything else is an error (exit status 1), so an instruction count is
never divided by requests that failed.

Prints one line per run: requests=N connections=C seconds=S
With --commands the connections are opened first and kept across runs that stdin asks
for ("run N", then "quit"), so a caller can zero and dump the server's counters around
a run without counting connection set-up and tear-down.
Standard library only.
"""
import argparse
import selectors
import socket
import sys
import time


class Conn:
    """One keep-alive connection: the unsent part of the request and the bytes read."""

    __slots__ = ("sock", "out", "inbuf")

    def __init__(self, sock, request):
        self.sock = sock
        self.out = request
        self.inbuf = b""


def response_length(buf):
    """Bytes of the first whole response in buf, or None while it is incomplete.
    Raises on a non-2xx status or a response that closes the connection."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1")
    status_line, *fields = head.split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].startswith("2"):
        raise RuntimeError(f"non-2xx response: {status_line!r}")
    length, chunked = 0, False
    for field in fields:
        name, _, value = field.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and "close" in value:
            raise RuntimeError("server answered with Connection: close")
    if not chunked:
        return end + 4 + length if len(buf) >= end + 4 + length else None
    pos = end + 4
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(buf[pos:line_end].split(b";")[0], 16)
        pos = line_end + 2 + size + 2
        if len(buf) < pos:
            return None
        if size == 0:
            return pos


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default=None, help="sent as application/json")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--commands", action="store_true",
        help="connect, print 'connected', then obey stdin lines 'run N' and 'quit'")
    args = parser.parse_args()

    head = f"{args.method} {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
    if args.body is not None:
        body = args.body.encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    else:
        body = b""
    request = head.encode() + b"\r\n" + body

    socks = []
    for _ in range(args.connections):
        sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        socks.append(sock)

    if not args.commands:
        print(run(socks, request, args.requests, args.timeout), flush=True)
        return
    print("connected", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["run"] and len(words) == 2:
            print(run(socks, request, int(words[1]), args.timeout), flush=True)
        elif words == ["quit"]:
            break
        else:
            sys.exit(f"keepalive_load: unknown command {line.strip()!r}")
    for sock in socks:
        sock.close()


def run(socks, request, count, timeout):
    """Sends `count` requests over `socks`, one outstanding per connection; returns the
    summary line. Exits the process on any error or non-2xx answer."""
    sel = selectors.DefaultSelector()
    started = answered = 0
    begin = time.monotonic()
    deadline = begin + timeout
    for sock in socks[:count]:
        started += 1
        sel.register(sock, selectors.EVENT_WRITE, Conn(sock, request))

    while answered < count:
        if time.monotonic() > deadline:
            sys.exit(f"keepalive_load: only {answered} of {count} answers in {timeout:.0f} s")
        for key, _ in sel.select(timeout=1.0):
            conn = key.data
            if conn.out:
                try:
                    conn.out = conn.out[conn.sock.send(conn.out):]
                except BlockingIOError:
                    continue
                if not conn.out:
                    sel.modify(conn.sock, selectors.EVENT_READ, conn)
                continue
            try:
                chunk = conn.sock.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                sys.exit("keepalive_load: server closed a connection")
            conn.inbuf += chunk
            try:
                length = response_length(conn.inbuf)
            except RuntimeError as error:
                sys.exit(f"keepalive_load: {error}")
            if length is None:
                continue
            if len(conn.inbuf) > length:
                sys.exit("keepalive_load: bytes after the response (nothing else was asked)")
            conn.inbuf = b""
            answered += 1
            if started < count:
                started += 1
                conn.out = request
                sel.modify(conn.sock, selectors.EVENT_WRITE, conn)
            else:
                sel.unregister(conn.sock)
    sel.close()
    return f"requests={answered} connections={len(socks)} seconds={time.monotonic() - begin:.2f}"


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Measures the resident memory a server spends per idle keep-alive connection.

Used by scripts/bench.sh. Opens connections to 127.0.0.1:PORT in stages (e.g. 5000,
then up to 10000). Every connection first sends one `GET PATH` and reads the whole
response, so it is a real keep-alive connection that has served a request, and then
stays open and idle. Before the first stage (after a short warm-up that opens and
closes a few connections) and after each stage, the VmRSS of the server's processes
(--pids, summed) is read from /proc/PID/status.

Prints one line per figure, key=value, for the caller to pick up:
  baseline_rss_kib=...
  stage=5000 rss_kib=... delta_bytes=... bytes_per_conn=... closed_by_server=0
Exits non-zero when a connection fails or the whole thing takes too long.
Standard library only.
"""
import argparse
import errno
import resource
import selectors
import socket
import sys
import time

IN_FLIGHT = 256  # connections being set up at once (stays under listen backlogs)


def raise_nofile_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
    return total


class Conn:
    __slots__ = ("sock", "state", "out", "inbuf", "need")

    def __init__(self, sock, request):
        self.sock = sock
        self.state = "connecting"
        self.out = request
        self.inbuf = b""
        self.need = None  # bytes of the whole response, once the head is in


def response_complete(conn):
    """True once conn.inbuf holds one whole response (Content-Length framed)."""
    if conn.need is None:
        end = conn.inbuf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = conn.inbuf[:end].decode("latin-1")
        status_line, *fields = head.split("\r\n")
        parts = status_line.split(" ")
        if len(parts) < 2 or parts[1] != "200":
            raise RuntimeError(f"unexpected response: {status_line!r}")
        length = 0
        for field in fields:
            name, _, value = field.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            if name.strip().lower() == "connection" and "close" in value.lower():
                raise RuntimeError("server answered with Connection: close")
        conn.need = end + 4 + length
    return len(conn.inbuf) >= conn.need


def open_connections(port, count, request, deadline):
    """Returns `count` sockets, each having had one request answered."""
    sel = selectors.DefaultSelector()
    done = []
    started = 0
    active = 0

    def start_one():
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            raise OSError(err, f"connect: {errno.errorcode.get(err, err)}")
        sel.register(sock, selectors.EVENT_WRITE, Conn(sock, request))

    while len(done) < count:
        while active < IN_FLIGHT and started < count:
            start_one()
            started += 1
            active += 1
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(done)} of {count} connections ready in time")
        for key, _ in sel.select(timeout=1.0):
            conn = key.data
            sock = conn.sock
            if conn.state == "connecting":
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, f"connect: {errno.errorcode.get(err, err)}")
                conn.state = "sending"
            if conn.state == "sending":
                try:
                    sent = sock.send(conn.out)
                except BlockingIOError:
                    continue
                conn.out = conn.out[sent:]
                if not conn.out:
                    conn.state = "reading"
                    sel.modify(sock, selectors.EVENT_READ, conn)
                continue
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                raise ConnectionError("server closed a connection before answering")
            conn.inbuf += chunk
            if response_complete(conn):
                sel.unregister(sock)
                done.append(sock)
                active -= 1
    sel.close()
    return done


def count_closed(socks):
    """Connections the server has closed (EOF readable) since they went idle."""
    sel = selectors.DefaultSelector()
    for sock in socks:
        sel.register(sock, selectors.EVENT_READ)
    closed = 0
    for key, _ in sel.select(timeout=0):
        try:
            if key.fileobj.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except (ConnectionError, BlockingIOError):
            closed += 1
    sel.close()
    return closed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pids", required=True, help="server PIDs, comma-separated")
    parser.add_argument("--counts", default="5000,10000", help="cumulative stages")
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--warmup", type=int, default=64, help="connections opened and closed first")
    parser.add_argument("--settle", type=float, default=0.5, help="seconds before each RSS read")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    pids = [int(p) for p in args.pids.split(",") if p]
    stages = [int(n) for n in args.counts.split(",") if n]
    limit = raise_nofile_limit()
    if max(stages) + 16 > limit:
        sys.exit(f"idle_connections: RLIMIT_NOFILE {limit} is too low for {max(stages)} connections")
    request = f"GET {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n\r\n".encode()
    deadline = time.monotonic() + args.timeout

    # Warm-up: one-time costs (code pages, allocator arenas) are not per connection.
    for sock in open_connections(args.port, args.warmup, request, deadline):
        sock.close()
    time.sleep(args.settle)
    baseline = rss_kib(pids)
    print(f"baseline_rss_kib={baseline}", flush=True)

    held = []
    for stage in stages:
        held += open_connections(args.port, stage - len(held), request, deadline)
        time.sleep(args.settle)
        rss = rss_kib(pids)
        delta = (rss - baseline) * 1024
        print(
            f"stage={stage} rss_kib={rss} delta_bytes={delta} "
            f"bytes_per_conn={delta / stage:.0f} closed_by_server={count_closed(held)}",
            flush=True,
        )
    for sock in held:
        sock.close()


if __name__ == "__main__":
    main()

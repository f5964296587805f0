"""What the batch benches share: one blocking keep-alive HTTP/1.1 connection to the
gateway with its own read buffer, and the bytes of a `POST /v1/batch`.

Imported by batch_first_last.py and batch_latency.py (run from this directory, so it is
on sys.path). Standard library only.
"""
import socket


class Connection:
    """A blocking keep-alive connection to 127.0.0.1:PORT with a read buffer: the reads
    below take from the buffer and refill it from the socket."""

    def __init__(self, port, timeout=120):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("connection closed by the gateway")
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

    def head(self):
        """(status, headers): names lower-cased, names and values str."""
        status = int(self.line().split(b" ")[1])
        headers = {}
        while True:
            header = self.line()
            if not header:
                return status, headers
            name, value = header.split(b":", 1)
            headers[name.strip().lower().decode()] = value.strip().decode()

    def chunk_size(self):
        """The next chunk's size; after the last (0) chunk, its closing line is read too."""
        size = int(self.line().split(b";")[0], 16)
        if size == 0:
            self.line()
        return size

    def ndjson_lines(self):
        """The non-empty lines of a chunked NDJSON body, each as soon as the chunk that
        completes it has arrived; ends after the last chunk."""
        pending = b""
        while size := self.chunk_size():
            pending += self.take(size)
            self.take(2)
            *lines, pending = pending.split(b"\n")
            yield from (line for line in lines if line)

    def body(self, headers):
        if headers.get("transfer-encoding", "").lower() == "chunked":
            out = b""
            while size := self.chunk_size():
                out += self.take(size)
                self.take(2)
            return out
        return self.take(int(headers.get("content-length", "0")))


def request(body, accept):
    """The bytes of `POST /v1/batch` with the JSON BODY (bytes), asking for ACCEPT."""
    return (
        f"POST /v1/batch HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAccept: {accept}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body

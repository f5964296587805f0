"""Fixtures for the client tests: a real redis-server and the real gateway binary
(STOREGATE_BIN, else the debug build) on free loopback ports, stopped afterwards."""

import os
import pathlib
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class Live:
    """A redis-server and a storegate in front of it; `redis(*args)` runs redis-cli."""

    def __init__(self, directory: pathlib.Path):
        self.directory = directory
        self.redis_port = free_port()
        self.gateway_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.gateway_port}"
        self.processes = []
        self._start(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", str(directory)], "redis.log")
        assert wait_until(lambda: self.redis("PING") == "PONG"), "redis-server did not start"
        binary = os.environ.get("STOREGATE_BIN", str(ROOT / ".build/debug/storegate"))
        self._start([binary, "--listen", f"127.0.0.1:{self.gateway_port}",
                     "--store", f"redis://127.0.0.1:{self.redis_port}",
                     "--pizzeria", "on", "--minute-ms", "5"], "gateway.log")
        assert wait_until(self._ready), "storegate did not start: " + (directory / "gateway.log").read_text()

    def _start(self, argv, log):
        with open(self.directory / log, "wb") as out:
            self.processes.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out))

    def _ready(self):
        try:
            with urllib.request.urlopen(self.base_url + "/readyz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def redis(self, *args) -> str:
        done = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.redis_port), "--raw", *args],
                              capture_output=True, text=True, timeout=10)
        return done.stdout.strip()

    def stop(self):
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def live():
    with tempfile.TemporaryDirectory(prefix="storegate-py-") as directory:
        servers = Live(pathlib.Path(directory))
        try:
            yield servers
        finally:
            servers.stop()
        gateway = servers.processes[-1]
        assert gateway.returncode == 0, "the gateway did not drain cleanly: " + \
            (pathlib.Path(directory) / "gateway.log").read_text()

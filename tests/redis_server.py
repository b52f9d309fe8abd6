"""A real `redis-server` on a free loopback port, for tests and bench: no persistence, stopped on exit.

    with RedisServer() as redis:
        url = redis.url  # redis://127.0.0.1:PORT/0

Stdlib only, no pytest: bench/ imports it too. `REDIS_SERVER` is None when redis-server is not installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType
from typing import Self

REDIS_SERVER = shutil.which("redis-server")
_START_TIMEOUT = 10.0  # seconds for the server to take connections on a loaded machine


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process on 127.0.0.1, started by `with` and stopped (and its files removed) after."""

    def __init__(self) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = tempfile.TemporaryDirectory(prefix="redis-")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        # No RDB snapshots, no AOF: a test server keeps nothing, and never writes outside its folder.
        arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command = [str(REDIS_SERVER), *arguments, "--dir", self._folder.name]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_ready()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        self._folder.cleanup()

    def stop(self) -> None:
        """Stop the server (a test of a store that went away calls this early)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)

    def _wait_until_ready(self) -> None:
        """Block until the server answers PING."""
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

"""How long a big tool call takes to stream in, measured in one run against the loopback fake server.

    python bench/streaming.py [--kb 1024]

The fake server streams an `execute` call whose code is `--kb` KiB (8 characters of arguments per chunk, as
tests/fake_server.py sends them; 1 MiB is ~130,000 chunks). Three figures: a plain HTTP client reading the SSE
stream to its end (the stream itself); the installed `interpreter` with its output piped (`-y`: it also runs the
cell and asks once more); the same in a pty, drawing the code as it comes. Target: the pty run within 2x of the
piped one. Before the drafts were decoded incrementally, 100 KiB took ~36 s in a terminal and 1 MiB never ended.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fake_server import FakeServer, Reply  # the fake lives with the tests
from screen_recording import interpreter  # the installed command, as the screen tests find it

LINE = 'print("line {:06d}: tab\\there, quote \\" and \\\\ backslash, é ✓")\n'


def code_of(kib: int) -> str:
    """A Python cell of about `kib` KiB: many short lines with escapes and non-ASCII characters."""
    lines = kib * 1024 // len(LINE.format(0).encode())
    return "".join(LINE.format(number) for number in range(lines))


def answers(code: str) -> tuple[Reply, Reply]:
    """The call, then the model's last word once the cell ran."""
    return Reply.tool_call("python", code), Reply.text("Done.")


def plain_client(code: str) -> float:
    """Seconds for http.client to read the whole SSE stream of the call."""
    with FakeServer() as server:
        server.enqueue(*answers(code))
        address = urlsplit(server.url)
        body = json.dumps({"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        start = time.perf_counter()
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port)
        connection.request("POST", address.path.rstrip("/") + "/chat/completions", body, {"content-type": "json"})
        response = connection.getresponse()
        while response.read(1 << 16):
            pass
        connection.close()
        return time.perf_counter() - start


def piped(code: str, home: Path) -> float:
    """Seconds for the installed program, output piped, to stream the call, run it and finish."""
    with FakeServer() as server:
        server.enqueue(*answers(code))
        args = [interpreter(), "--api-base", server.url, "--api-key", "sk-test", "-y", "-c", "hi"]
        start = time.perf_counter()
        subprocess.run(args, env={**os.environ, "INTERPRETER_HOME": str(home)}, capture_output=True, check=True)
        return time.perf_counter() - start


def in_pty(code: str, home: Path) -> float:
    """Seconds for the same run in an 80x24 pty, its output read as fast as it comes (a terminal that keeps up)."""
    with FakeServer() as server:
        server.enqueue(*answers(code))
        args = ["--api-base", server.url, "--api-key", "sk-test", "-y", "-c", "hi"]
        env = {**os.environ, "INTERPRETER_HOME": str(home), "TERM": "xterm-256color"}
        start = time.perf_counter()
        child = pexpect.spawn(interpreter(), args, dimensions=(24, 80), env=env, timeout=None)
        with contextlib.suppress(pexpect.EOF):
            while True:
                child.read_nonblocking(1 << 16, timeout=None)
        child.close()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", type=int, default=1024, help="size of the call's code in KiB")
    kib = parser.parse_args().kb
    code = code_of(kib)
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    stream, pipe, pty = plain_client(code), piped(code, home), in_pty(code, home)
    size = f"{kib} KiB call"
    print(f"{size:<16} plain HTTP client {stream:7.2f} s   program piped {pipe:7.2f} s   in a pty {pty:7.2f} s")
    verdict = "ok" if pty <= 2 * pipe else "OVER TARGET"
    print(f"{'':<16} pty / piped {pty / pipe:5.2f}x (target 2x: {verdict})   pty / plain client {pty / stream:5.2f}x")


if __name__ == "__main__":
    main()

"""How long a big tool call takes to stream in, measured in one run against the loopback fake server.

    python bench/streaming.py [--kb 1024]

The fake server streams an `execute` call whose code is `--kb` KiB (8 characters of arguments per chunk, as
tests/fake_server.py sends them; 1 MiB is ~130,000 chunks). Three figures: a plain HTTP client reading the SSE
stream to its end (the stream itself); the installed `interpreter` with its output piped (`-y`: it also runs the
cell and asks once more); the same in a pty, drawing the code as it comes, in wall time and in the CPU time of the
program's processes (steadier on a shared machine). Target: the pty run within 2x of the piped one. Before the
drafts were decoded incrementally, both grew with the square of the size: 64 KiB took 36 s piped and 39 s in a pty
(16 KiB: 3.3 s), and 1 MiB never ended.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass
class Timing:
    """Wall seconds of a run, and the CPU seconds its processes used (steadier on a shared machine)."""

    wall: float = 0.0
    cpu: float = 0.0


@contextlib.contextmanager
def timed() -> Iterator[Timing]:
    """Time the block: wall clock, and CPU of the child processes it waited for."""
    timing = Timing()
    before, start = children_cpu(), time.perf_counter()
    yield timing
    timing.wall, timing.cpu = time.perf_counter() - start, children_cpu() - before


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def piped(code: str, home: Path) -> Timing:
    """The installed program, output piped, streaming the call, running it and finishing."""
    with FakeServer() as server, timed() as timing:
        server.enqueue(*answers(code))
        args = [interpreter(), "--api-base", server.url, "--api-key", "sk-test", "-y", "-c", "hi"]
        subprocess.run(args, env={**os.environ, "INTERPRETER_HOME": str(home)}, capture_output=True, check=True)
    return timing


def in_pty(code: str, home: Path) -> Timing:
    """The same run in an 80x24 pty, its output read as fast as it comes (a terminal that keeps up)."""
    args = ["--api-base", "", "--api-key", "sk-test", "-y", "-c", "hi"]
    env = {**os.environ, "INTERPRETER_HOME": str(home), "TERM": "xterm-256color"}
    with FakeServer() as server, timed() as timing:
        server.enqueue(*answers(code))
        args[1] = server.url
        child = pexpect.spawn(interpreter(), args, dimensions=(24, 80), env=env, timeout=None)
        with contextlib.suppress(pexpect.EOF):
            while True:
                child.read_nonblocking(1 << 16, timeout=None)
        child.close()
    return timing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", type=int, default=1024, help="size of the call's code in KiB")
    kib = parser.parse_args().kb
    code = code_of(kib)
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    stream, pipe, pty = plain_client(code), piped(code, home), in_pty(code, home)
    print(f"{kib} KiB call: plain HTTP client {stream:.2f} s")
    for name, measured, baseline in (("wall", pty.wall, pipe.wall), ("cpu", pty.cpu, pipe.cpu)):
        verdict = "ok" if measured <= 2 * baseline else "OVER TARGET"
        print(
            f"  {name:<5} in a pty {measured:7.2f} s   program piped {baseline:7.2f} s   "
            f"{measured / baseline:5.2f}x (target 2x: {verdict})"
        )
    print(f"  wall  in a pty / plain client {pty.wall / stream:5.2f}x (the SDK's parsing of each chunk is most of it)")


if __name__ == "__main__":
    main()

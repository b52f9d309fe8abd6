"""How long a big tool call takes to reach `Run this code?`, and its memory, in one run against the fake server.

    python bench/streaming.py [--kb 10240]

The fake server streams an `execute` call whose code is `--kb` KiB (8 characters of arguments per chunk, as
tests/fake_server.py sends them; 1 MiB is ~130,000 chunks). Three figures: a plain HTTP client reading the SSE
stream to its end (the stream itself); the installed `interpreter` with its output piped, which prints the code and
is answered `n` at the question; the same in an 80x24 pty, drawing the code as it comes, then the whole code above
the question. For both runs: wall and CPU seconds and peak RSS of the program (GNU time). Target: the pty run within
2x of the piped one in time and in memory. Before the drafts were decoded incrementally, both grew with the square
of the size: 64 KiB took 36 s piped and 39 s in a pty (16 KiB: 3.3 s), and 1 MiB never ended. Before the code
shown at the question was drawn a line at a time and plain past 64 KiB, a pty took ~6 s of CPU and ~150 MB more
than piped per MiB of code (highlighting, and a cell object per character).
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


@dataclass(frozen=True)
class Run:
    """What GNU time saw of one run of the program: wall and CPU seconds, peak resident memory in MB."""

    wall: float
    cpu: float
    peak_mb: float


def timed_command(report: Path, server: FakeServer) -> list[str]:
    """The installed program under GNU time (which writes its figures to `report`), asked for one task."""
    measured = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(report)]
    return [*measured, interpreter(), "--api-base", server.url, "--api-key", "sk-test", "-c", "hi"]


def read_run(report: Path) -> Run:
    wall, user, system, peak_kb = report.read_text().split()[-4:]
    return Run(float(wall), float(user) + float(system), int(peak_kb) / 1024)


def piped(code: str, home: Path) -> Run:
    """The program, output piped: it prints the code and reads `n` from stdin at the question."""
    report = home / "piped.time"
    with FakeServer() as server:
        server.enqueue(*answers(code))
        env = {**os.environ, "INTERPRETER_HOME": str(home)}
        done = subprocess.run(timed_command(report, server), input=b"n\n", env=env, capture_output=True, check=True)
    if b"Run this code?" not in done.stdout:  # e.g. the server too slow to start streaming: nothing was measured
        raise SystemExit(f"the piped run never reached the question: {done.stderr.decode()[-500:]}")
    return read_run(report)


def in_pty(code: str, home: Path) -> Run:
    """The same in an 80x24 pty, its output read as fast as it comes (a terminal that keeps up), `n` at the question."""
    report = home / "pty.time"
    env = {**os.environ, "INTERPRETER_HOME": str(home), "TERM": "xterm-256color"}
    with FakeServer() as server:
        server.enqueue(*answers(code))
        command, *args = timed_command(report, server)
        child = pexpect.spawn(command, args, dimensions=(24, 80), env=env, timeout=None, maxread=1 << 16)
        child.expect_exact("Run this code?", searchwindowsize=1 << 12)
        child.send("n\r")
        with contextlib.suppress(pexpect.EOF):
            while True:
                child.read_nonblocking(1 << 16, timeout=None)
        child.close()
    return read_run(report)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", type=int, default=10240, help="size of the call's code in KiB")
    kib = parser.parse_args().kb
    code = code_of(kib)
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    stream, pipe, pty = plain_client(code), piped(code, home), in_pty(code, home)
    print(f"{kib} KiB call: plain HTTP client {stream:.2f} s")
    for name, measured, baseline, unit in (
        ("wall", pty.wall, pipe.wall, "s"),
        ("cpu", pty.cpu, pipe.cpu, "s"),
        ("peak", pty.peak_mb, pipe.peak_mb, "MB"),
    ):
        verdict = "ok" if measured <= 2 * baseline else "OVER TARGET"
        print(
            f"  {name:<5} in a pty {measured:8.2f} {unit:<2}  program piped {baseline:8.2f} {unit:<2}  "
            f"{measured / baseline:5.2f}x (target 2x: {verdict})"
        )
    print(f"  wall  in a pty / plain client {pty.wall / stream:5.2f}x (the SDK's parsing of each chunk is most of it)")


if __name__ == "__main__":
    main()

"""A real pseudo-terminal for whole-program tests: the bytes the program writes are replayed into pyte."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import pexpect
import pyte


class Terminal:
    """Runs a command in a pty of a fixed size and keeps the screen a person would see."""

    def __init__(self, command: str, args: list[str], *, rows: int = 24, cols: int = 80, env: dict[str, str]) -> None:
        # A real terminal answers cursor-position requests; pexpect does not, so prompt_toolkit must not ask.
        full_env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", **env}
        self.child: pexpect.spawn[bytes] = pexpect.spawn(
            command, args, dimensions=(rows, cols), env=full_env, timeout=30
        )
        self.screen = pyte.HistoryScreen(cols, rows, history=5000)
        self._stream = pyte.ByteStream(self.screen)
        self.written = b""

    def lines(self) -> list[str]:
        """Every line the person could scroll to: the scrollback, then the screen."""
        history = ["".join(char.data for char in row.values()).rstrip() for row in self.screen.history.top]
        return history + [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        """The scrollback and screen as one text."""
        return "\n".join(self.lines())

    def wait_for(self, text: str, *, count: int = 1, timeout: float = 30) -> None:
        """Wait until `text` has appeared `count` times in the scrollback and screen."""
        self._wait(lambda: self.text().count(text) >= count, f"{text!r} x{count}", timeout)

    def watch(self, pattern: str, *, until: str, timeout: float = 30) -> list[str]:
        """Every distinct match of `pattern` on the screen, read after read, before `until` appears."""
        seen: list[str] = []

        def look() -> bool:
            if until in self.text():
                return True
            for match in re.findall(pattern, "\n".join(self.screen.display)):
                if match not in seen:
                    seen.append(match)
            return False

        self._wait(look, repr(until), timeout)
        return seen

    def wait_for_prompt(self, timeout: float = 30) -> None:
        """Wait until the cursor sits on an empty `> ` prompt."""
        # A Ctrl-C pressed between two prompts is echoed by the tty itself as "^C" before the next prompt.
        self._wait(lambda: self.cursor_line().removeprefix("^C") == ">", "the > prompt", timeout)

    def cursor_line(self) -> str:
        """The screen line the cursor is on."""
        return self.screen.display[self.screen.cursor.y].rstrip()

    def send(self, text: str) -> None:
        self.child.send(text)

    def press(self, key: str) -> None:
        """Send a control key, e.g. press("c") for Ctrl-C."""
        self.child.sendcontrol(key)

    def exit_status(self, timeout: float = 30) -> int | None:
        """Wait for the program to end and return its exit status."""
        self._wait(lambda: not self.child.isalive(), "the program to exit", timeout)
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        self.child.close(force=True)

    def _wait(self, done: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n" + "\n".join(self.screen.display))
            self._pump()

    def _pump(self) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=0.1)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            time.sleep(0.05)
            return
        self.written += data
        self._stream.feed(data)

"""The diagnostics log: retries, waits, breaker transitions and rate-limit headers, in a rotated file under the home.

`--verbose` (or `%verbose on`) also shows them, through the renderer: above the live rows on a terminal, else on
stderr. Never log the API key: nothing here receives it, and headers are filtered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOGGER_NAME = "interpreter"
_MAX_BYTES = 1_000_000
_BACKUPS = 3


class _Echo(logging.Handler):
    """Hands each record, as one line, to the screen's renderer (which shows it only when verbose)."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        super().__init__()
        self._echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._echo(self.format(record))
        except Exception:  # a log line must never break the session (logging's own rule)
            self.handleError(record)


def configure(home: Path, *, echo: Callable[[str], None] | None = None) -> logging.Logger:
    """Send the tool's log to `home/logs/interpreter.log` (rotated) and each line to `echo` (the renderer's log)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    folder = home / "logs"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    to_file = RotatingFileHandler(folder / "interpreter.log", maxBytes=_MAX_BYTES, backupCount=_BACKUPS)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(to_file)
    if echo is not None:
        to_screen = _Echo(echo)
        to_screen.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        logger.addHandler(to_screen)
    return logger


def safe_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers worth logging, by allowlist (rate limits, request id, retry hints): never credentials."""
    return {
        name: value
        for name, value in headers.items()
        if name.startswith("x-ratelimit") or name in ("x-request-id", "retry-after", "retry-after-ms")
    }

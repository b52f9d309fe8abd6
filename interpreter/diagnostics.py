"""The diagnostics log: retries, waits, breaker transitions and rate-limit headers, in a rotated file under the home.

`--verbose` also shows them on stderr. Never log the API key: nothing here receives it, and headers are filtered.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOGGER_NAME = "interpreter"
_MAX_BYTES = 1_000_000
_BACKUPS = 3


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]  # the stream type varies by typeshed
    """Writes to whatever sys.stderr is now, so the screen's renderer can route it above its live region."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure(home: Path, *, verbose: bool) -> logging.Logger:
    """Send the tool's log to `home/logs/interpreter.log` (rotated) and, with --verbose, to stderr."""
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
    if verbose:
        to_stderr = _CurrentStderr()
        to_stderr.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        logger.addHandler(to_stderr)
    return logger


def safe_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers worth logging, by allowlist (rate limits, request id, retry hints): never credentials."""
    return {
        name: value
        for name, value in headers.items()
        if name.startswith("x-ratelimit") or name in ("x-request-id", "retry-after", "retry-after-ms")
    }

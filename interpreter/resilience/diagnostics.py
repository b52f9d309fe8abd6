"""The diagnostics log: retries, waits, breaker transitions and rate-limit headers, in a rotated file under the home.

`--verbose` (or `%verbose on`) also shows them, through the renderer: above the live rows on a terminal, else on
stderr. Never log the API key: nothing here receives it, and headers are filtered. Every line has its URLs redacted
(a password or key in the api_base, quoted by a library's message, stays out of the log and off the screen).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path

from interpreter.errors import HomeNotWritable
from interpreter.settings.directories import private_file, private_folder, reason
from interpreter.trust.redaction import redact_text

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


class _Redacted(logging.Formatter):
    """A formatter whose lines have every URL in them redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class _PrivateRotatingFile(RotatingFileHandler):
    """A rotated log file only its owner can read (each file, the first and those after a rollover, is 0600); one
    that stops taking writes (a full disk) says so once through `say`, then is left alone."""

    def __init__(self, path: Path, *, say: Callable[[str], None]) -> None:
        super().__init__(path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS)
        self._say = say
        self._broken = False

    def _open(self) -> io.TextIOWrapper:
        # logging opens with the umask's mode (0644, readable by every local user): open it ourselves instead.
        return open(private_file(Path(self.baseFilename)), "a", encoding=self.encoding, errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record, unless the file has failed once: then the log goes on without it."""
        if not self._broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        # logging's own handleError prints "--- Logging error ---" and a traceback on stderr, at every record.
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):  # not the disk: a bug in a log call, worth logging's full report
            super().handleError(record)
            return
        self._broken = True
        with contextlib.suppress(OSError):  # flushing what is left fails the same way
            self.close()
        self._say(f"cannot write the log {self.baseFilename} ({reason(error)}): going on without it")


def configure(*, echo: Callable[[str], None] | None = None) -> logging.Logger:
    """Start the tool's log afresh: each line to `echo` (the renderer's log); `log_to_file` adds the file."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    if echo is not None:
        to_screen = _Echo(echo)
        to_screen.setFormatter(_Redacted("[%(name)s] %(message)s"))
        logger.addHandler(to_screen)
    return logger


def log_to_file(folder: Path, *, say: Callable[[str], None]) -> None:
    """Also write the log to `folder/interpreter.log` (rotated; 0600 in a 0700 folder); HomeNotWritable if it cannot.

    If the file stops taking writes later, `say` gets one line, and the log goes on without it."""
    path = folder / "interpreter.log"
    try:
        to_file = _PrivateRotatingFile(private_folder(folder) / path.name, say=say)
    except OSError as exc:
        raise HomeNotWritable(f"cannot write the log {path} ({reason(exc)}): going on without it") from exc
    to_file.setFormatter(_Redacted("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger(LOGGER_NAME).addHandler(to_file)


def safe_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers worth logging, by allowlist (rate limits, request id, retry hints): never credentials."""
    return {
        name: value
        for name, value in headers.items()
        if name.startswith("x-ratelimit") or name in ("x-request-id", "retry-after", "retry-after-ms")
    }

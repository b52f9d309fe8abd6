"""The remembered switches to the Responses API: which (server, model) pairs Chat Completions refused, kept for the
session and in the home (`responses.json`), so a later session, or `--resume`, sends there from the first request.

The one owner of that file's format: `{"version": 1, "responses": [{"api_base": ..., "model": ...}]}`, the api_base
redacted (no key or password in the URL reaches the file). A file that cannot be read or is not this is ignored (and
logged): the worst it costs is one refused request, sent again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from interpreter.conversation.locks import write_atomically
from interpreter.errors import FileRefused
from interpreter.resilience.diagnostics import LOGGER_NAME
from interpreter.trust.redaction import redact_url
from interpreter.trust.regular_files import read_regular

FILE = "responses.json"
VERSION = 1
SIZE_CAP = 256_000  # bytes: a few dozen bytes an entry; anything near this is not the file we wrote
_log = logging.getLogger(f"{LOGGER_NAME}.api")

Pair = tuple[str, str]  # (the api_base redacted, the model)


class RememberedSwitches:
    """The (server, model) pairs that go to the Responses API; kept in the file at `path` too (None: this session)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._pairs: set[Pair] | None = None  # read on first use: most sessions never ask

    def __contains__(self, pair: Pair) -> bool:
        api_base, model = pair
        return (redact_url(api_base), model) in self._known()

    def remember(self, api_base: str, model: str) -> None:
        """Send `model` on `api_base` to the Responses API from now on, in this session and the next ones."""
        self._known().add((redact_url(api_base), model))
        if self._path is None:
            return
        pairs = self._known() | _read(self._path)  # another session may have added its own meanwhile
        try:
            write_atomically(self._path, _encoded(pairs))
        except OSError as exc:
            _log.warning("cannot keep the switch to the Responses API in %s: %s", self._path, exc.strerror or exc)

    def _known(self) -> set[Pair]:
        if self._pairs is None:
            self._pairs = _read(self._path) if self._path is not None else set()
        return self._pairs


def _read(path: Path) -> set[Pair]:
    """The pairs the file at `path` holds; none when it is missing, unreadable or not ours (logged)."""
    if not path.exists():
        return set()
    try:
        data = json.loads(read_regular(path, limit=SIZE_CAP))
        entries = data["responses"] if data["version"] == VERSION else []
        return {(entry["api_base"], entry["model"]) for entry in entries if _is_pair(entry)}
    except (FileRefused, ValueError, TypeError, KeyError) as exc:
        _log.warning("ignoring %s (%s): the switches to the Responses API are learnt again", path, exc)
        return set()


def _is_pair(entry: object) -> bool:
    """Whether an entry holds an api_base and a model, both text."""
    return isinstance(entry, dict) and all(isinstance(entry.get(key), str) for key in ("api_base", "model"))


def _encoded(pairs: set[Pair]) -> str:
    """The file's text for `pairs`, sorted so that it changes only when they do."""
    entries = [{"api_base": api_base, "model": model} for api_base, model in sorted(pairs)]
    return json.dumps({"version": VERSION, "responses": entries}, indent=1) + "\n"

"""What a conversation file in the home holds, read as a person with `jq` would, apart from the code under test.

A conversation file is JSON Lines: a header line, then a line per message, and `{"set": {...}}` lines changing a
header field (the last one wins). A file being appended to may end in part of a line: that part is not read yet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def conversation_files(folder: Path) -> list[Path]:
    """The conversation files in `folder` (the home's `conversations`), by name."""
    return sorted(folder.glob("*.jsonl"))


def records(path: Path) -> list[dict[str, Any]]:
    """Every whole line's JSON object, the header first."""
    lines = path.read_text(encoding="utf-8").split("\n")[:-1]  # what follows the last newline is still being written
    return [json.loads(line) for line in lines]


def stored_messages(path: Path) -> list[dict[str, Any]]:
    """The messages the file holds, as stored."""
    return [record for record in records(path)[1:] if record.keys() != {"set"}]


def stored_header(path: Path) -> dict[str, Any]:
    """The header, with every later change to it applied."""
    header = records(path)[0]
    for record in records(path)[1:]:
        header.update(record.get("set", {}))
    return header

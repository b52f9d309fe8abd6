"""Split a running program's output into finished lines, the way a terminal would show them."""

from __future__ import annotations


def _after_overwrites(line: str) -> str:
    """What a terminal leaves of `line`: after a carriage return, the text overwrites the text before."""
    return line.rstrip("\r").rsplit("\r", 1)[-1]


class LineSplitter:
    """Feed output chunks as they arrive; get back each finished line once."""

    def __init__(self) -> None:
        self._partial = ""

    @property
    def partial(self) -> str:
        """The unfinished last line, as a terminal would show it now."""
        return _after_overwrites(self._partial)

    def feed(self, text: str) -> list[str]:
        """Take more output; return the lines it finished (without their newlines)."""
        *lines, partial = (self._partial + text).split("\n")
        # Only the text after the last overwrite can be seen; drop the rest so progress bars do not pile up.
        cut = partial.rfind("\r", 0, len(partial) - 1)
        self._partial = partial[cut + 1 :]
        return [_after_overwrites(line) for line in lines]

    def flush(self) -> str | None:
        """End the output: return the unfinished line, if any, and start afresh."""
        rest = _after_overwrites(self._partial)
        self._partial = ""
        return rest or None


def lines_of(text: str) -> list[str]:
    """All the lines of a finished piece of output."""
    splitter = LineSplitter()
    lines = splitter.feed(text)
    rest = splitter.flush()
    return lines if rest is None else [*lines, rest]

"""Keeping the conversation when the home stops taking writes mid-session (a full disk, a `chmod`): the Keeper.

Every save still tries the home first. While that fails, the conversation goes to a private spare file in the temp
directory instead, named in one line; the first save that reaches the home again says so, once, and removes the
spare. Where the temp directory cannot be written either, the conversation is kept in memory only, the line says so,
and so does the end of the session if it never reached a disk. A save failing midway leaves what the home held
before: an append cut short tears at most the last line, which reading drops (`storage.py`); a rewrite leaves the
file it would have replaced (`locks.write_atomically`). The spare file is written whole at every save: it exists only
while the home fails.

The other writers into the home (the log, the prompt history, the shared budget's file) hand their one line to the
Keeper, which holds it until the next save: when the home as a whole fails, the line about the conversation says it
all and theirs is shown only with --verbose; so a full home is one line, whichever writer meets it first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from interpreter.conversation.locks import write_atomically
from interpreter.conversation.storage import Conversation, ConversationStore, to_json
from interpreter.errors import HomeNotWritable
from interpreter.settings.directories import reason

_MEMORY = None  # where a conversation is when no disk took its latest save


class Keeper:
    """Saves conversations in the home, or in a spare file while it cannot be written; says each change once.

    `say` shows a line; `verbose` a line only with --verbose. `spares` is where spare files go (the temp directory).
    """

    def __init__(
        self,
        store: ConversationStore,
        *,
        say: Callable[[str], None],
        verbose: Callable[[str], None],
        spares: Path | None = None,
    ) -> None:
        self._store = store
        self._say = say
        self._verbose = verbose
        self._spares = spares or Path(tempfile.gettempdir())
        self._away: dict[str, Path | None] = {}  # conversation id -> its spare file, or _MEMORY, while not home
        self._held: list[str] = []  # lines given to `aside` since the last save

    def save(self, conversation: Conversation) -> None:
        """Save the conversation in the home, else in its spare file, else nowhere; ConversationInUse if it is open
        in another session."""
        try:
            self._store.save(conversation)
        except HomeNotWritable as exc:
            self._keep_away(conversation, exc)
        else:
            if conversation.id in self._away:
                self._back_home(conversation.id)
        self._tell_held()

    def aside(self, line: str) -> None:
        """A line about another writer into the home failing (the log, the history, the budget), held until the
        next save shows whether the whole home fails: then the line about the conversation says it all, and this one
        is shown only with --verbose; else it is shown."""
        self._held.append(line)

    def close(self) -> None:
        """At the end of the session: the lines still held, and which conversations never reached a disk (lost)."""
        self._tell_held()
        for conversation_id, where in self._away.items():
            if where is _MEMORY:
                self._say(
                    f"conversation {conversation_id} was not saved in full: {self._store.folder} cannot be written"
                )

    def _tell_held(self) -> None:
        """Show the lines held by `aside`: only with --verbose while the home fails (that was said), else plainly."""
        tell = self._verbose if self._away else self._say
        while self._held:  # popped one by one: the log may add a line from another thread meanwhile
            tell(self._held.pop(0))

    def _keep_away(self, conversation: Conversation, problem: HomeNotWritable) -> None:
        """Write the conversation to its spare file, or keep it in memory; a line when that changes where it is."""
        first = conversation.id not in self._away
        before = self._away.get(conversation.id)
        try:
            where: Path | None = self._write_spare(conversation)
            line = f"{problem}: it goes to {where} until the home can be written again (%load that file continues it)"
        except OSError as exc:
            where = _MEMORY
            line = f"{problem}, nor in {self._spares} ({reason(exc)}): it is kept in memory only until it can be"
        self._away[conversation.id] = where
        if first or where != before:
            self._say(line)

    def _write_spare(self, conversation: Conversation) -> Path:
        """The conversation's spare file, (re)written whole; OSError when the temp directory cannot take it."""
        spare = self._away.get(conversation.id)
        made = spare is None
        if spare is None:
            fd, name = tempfile.mkstemp(dir=self._spares, prefix=f"interpreter-{conversation.id}-", suffix=".json")
            os.close(fd)  # made 0600 and ours alone (O_EXCL): from now on rewritten atomically
            spare = Path(name)
        try:
            write_atomically(spare, to_json(conversation))
        except OSError:
            if made:
                spare.unlink(missing_ok=True)  # empty: nothing to keep
            raise
        return spare

    def _back_home(self, conversation_id: str) -> None:
        """The conversation reached the home again: say so, and remove its spare file (the home holds all of it)."""
        spare = self._away.pop(conversation_id)
        if spare is not None:
            with contextlib.suppress(OSError):  # gone already (a temp directory cleaned): nothing to remove
                spare.unlink()
        self._say(f"the conversation is saved in {self._store.folder} again")

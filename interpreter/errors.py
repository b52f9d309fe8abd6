"""The one exception tree of steady-interpreter.

    InterpreterError                  root: every failure we expect and can explain in one line
    ├── ConfigError                   bad flags, settings or environment (exit 2)
    │   ├── MissingApiKey             no API key from flag or environment
    │   ├── SandboxUnavailable        --sandbox asked for, and this machine cannot confine cells
    │   └── EffortRefused             the model does not take the --reasoning-effort asked for (the server said so)
    ├── ApiError                      the model API could not be used (exit 1)
    │   ├── ApiConnectionError        the server could not be reached or the connection broke
    │   ├── ApiTimeoutError           the server stopped answering
    │   ├── ApiStatusError            the server answered with an HTTP error status
    │   ├── ApiResponseError          the server answered with something that is not a usable reply
    │   ├── WireRefused               the model answers on an API this session may not or cannot use
    │   ├── BreakerOpen               the circuit breaker is open: the request was not sent
    │   ├── AttemptFailed             one attempt failed: carries its Verdict through the retry policy
    │   │   └── ContextTooLong        the server said the request does not fit the model's context window
    │   └── GaveUp                    the retry policy stopped retrying (one summary line)
    ├── ExecutionError                code could not be run
    │   ├── UnknownLanguage           the model asked for a language we do not know
    │   ├── LanguageUnavailable       a known language whose interpreter is not installed
    │   └── UnusablePython            the Python chosen for cells cannot run them (cells use the tool's own)
    ├── TaskTooLong                   a task that cannot fit the model's context window even alone (not sent)
    ├── CostCapReached                the next request would take the task past --max-cost (not sent; exit 3)
    ├── StorageError                  a conversation could not be read or written
    │   ├── NoSuchConversation        no conversation has the id given
    │   ├── ConversationInUse         another session has the conversation open
    │   └── HomeNotWritable           the home, or a file in it, cannot be written (the session goes on)
    ├── BudgetStoreUnavailable        the shared rate-limit store cannot be used (the session limits itself alone)
    ├── EditorFailed                  $EDITOR could not be started or failed (the question is asked again)
    ├── FileRefused                   a file the tool was pointed at is not a regular file, or too large, or unreadable
    └── CommandError                  a %command cannot do what was asked (the session goes on)

Foreign exceptions (the openai SDK, OSError from subprocesses and files) are translated into these at the boundary
that meets them (`llm.py`, `responses.py`, `execution/`, `storage.py`, `directories.py`, `prompt.py`,
`diagnostics.py`, `approval.py`, the shared budget's stores in `resilience/shared/`); nothing above those modules
sees a foreign exception.
This module imports nothing of the project.
"""

from __future__ import annotations

from typing import Protocol


class Explained(Protocol):
    """What AttemptFailed needs of the verdict it carries (a `resilience.classify.Verdict`): the line to show."""

    @property
    def message(self) -> str:
        """The one line to show if this failure is the last word."""

    @property
    def retry(self) -> bool:
        """Whether the failed request is worth another attempt."""

    @property
    def context_window(self) -> int | None:
        """For a context overflow: the window the server named, in tokens."""


class InterpreterError(Exception):
    """Root of every expected failure; `str(error)` is the one line shown to the person."""


class ConfigError(InterpreterError):
    """Raised when flags, settings or the environment are unusable."""


class MissingApiKey(ConfigError):
    """Raised when no API key is given by flag or environment."""


class SandboxUnavailable(ConfigError):
    """Raised when cells are to be sandboxed and the kernel offers no way to (old kernel, not Linux): none run."""


class EffortRefused(ConfigError):
    """Raised when the server refuses the reasoning effort asked for, naming those the model takes: not retried."""


class ApiError(InterpreterError):
    """Raised when the model API could not be used."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class ApiConnectionError(ApiError):
    """Raised when the API server cannot be reached or the connection breaks mid-reply."""


class ApiTimeoutError(ApiError):
    """Raised when the API server stops answering within the timeout."""


class ApiStatusError(ApiError):
    """Raised when the API server answers with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        body: object = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status = status
        self.code = code
        self.headers = headers or {}
        self.body = body


class ApiResponseError(ApiError):
    """Raised when the server's reply cannot be understood (malformed stream, no choices)."""


class WireRefused(ApiError):
    """Raised when the model answers only on the Responses API and `--api chat` forbids it, or the server has none."""


class BreakerOpen(ApiError):
    """Raised instead of sending a request while the circuit breaker is open."""

    def __init__(self, message: str, *, failures: int, next_probe_in: float) -> None:
        super().__init__(message)
        self.failures = failures
        self.next_probe_in = next_probe_in


class AttemptFailed(ApiError):
    """Raised by the retry driver when an attempt fails; a final verdict lets it out of tenacity unchanged."""

    def __init__(self, verdict: Explained, error: ApiError) -> None:
        super().__init__(verdict.message, request_id=error.request_id)
        self.verdict = verdict
        self.error = error


class ContextTooLong(AttemptFailed):
    """Raised when the server answers context_length_exceeded; the session trims what it sends and asks once more."""

    @property
    def window(self) -> int | None:
        """The context window the server named in its refusal, in tokens; None when it named none."""
        return self.verdict.context_window


class GaveUp(ApiError):
    """Raised when the retry policy stops: `str()` is the one summary line (why, attempts, time waited, request id).

    `error` is the last attempt's failure as the server gave it, for whoever decides what to do next (a fallback).
    """

    def __init__(
        self,
        reason: str,
        *,
        attempts: int,
        waited: float,
        request_id: str | None = None,
        error: ApiError | None = None,
    ) -> None:
        super().__init__(reason, request_id=request_id)
        self.attempts = attempts
        self.waited = waited
        self.error = error


class ExecutionError(InterpreterError):
    """Raised when code cannot be run at all (as opposed to code that runs and fails)."""


class UnknownLanguage(ExecutionError):
    """Raised when the model asks to run a language this tool does not know."""


class LanguageUnavailable(ExecutionError):
    """Raised when a known language's interpreter is not installed on this machine."""


class UnusablePython(ExecutionError):
    """Raised when the Python found for cells is missing, broken or too old; cells then run on the tool's own."""


class TaskTooLong(InterpreterError):
    """Raised when a task alone cannot fit the context window: before it is sent, or once a server names its window."""


class CostCapReached(InterpreterError):
    """Raised instead of sending a request that would take the task's spending past the cap the person set."""


class StorageError(InterpreterError):
    """Raised when a conversation file cannot be read or written."""


class NoSuchConversation(StorageError):
    """Raised when no saved conversation has the id asked for (or the text could not be an id)."""


class ConversationInUse(StorageError):
    """Raised when a conversation is open in another session (which holds its lock); a copy can be continued."""


class HomeNotWritable(StorageError):
    """Raised when the home directory, the log or a conversation in it cannot be written (full, or denied); a session
    goes on, keeping the conversation elsewhere when it can (`keeper.py`)."""


class BudgetStoreUnavailable(InterpreterError):
    """Raised when the shared rate-limit store cannot be reached, read or written; the session then limits itself."""


class EditorFailed(InterpreterError):
    """Raised when $VISUAL/$EDITOR cannot be started or exits with a failure; the code is left as it was."""


class FileRefused(InterpreterError):
    """Raised when a file to read is not a regular file (a FIFO, a device), is over its size cap, or cannot be read."""


class CommandError(InterpreterError):
    """Raised when a %command is misused or cannot do what was asked; one line, and the session goes on."""


def exit_status(error: InterpreterError) -> int:
    """The status a command exits with after `error`: 2 for what the person can fix in the command or the settings
    (a refused reasoning effort included), 3 for a limit they set (--max-cost, as --max-steps), 1 for the rest."""
    if isinstance(error, ConfigError | NoSuchConversation | FileRefused):
        return 2
    return 3 if isinstance(error, CostCapReached) else 1

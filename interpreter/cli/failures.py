"""How a command fails: one line on stderr (and with --json, error and exit lines on stdout) and an exit code."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from interpreter.errors import InterpreterError, StorageError, exit_status
from interpreter.trust.redaction import redact_text

EXIT_USAGE = 2


def guarded(
    action: Callable[[], int], *, verbose: bool | None = None, resuming: bool = False, json: bool = False
) -> int:
    """Run `action`; an expected failure becomes one line and its exit code, and so does a bug.

    `verbose` is the --verbose of a session (None for a command without one): a bug's traceback is shown with it.
    `json`: the session's stdout carries JSON lines, and a failure that escapes it ends them (error, then exit).
    """
    try:
        return action()
    except InterpreterError as exc:
        return fail(exc, exit_code(exc, resuming=resuming), json=json)
    except BrokenPipeError:  # the reader left early (`| head`): Typer quiets stdout and exits 1, as tools do
        raise
    except Exception as exc:  # a bug
        if verbose:
            traceback.print_exc()
        hint = " (run with --verbose for details)" if verbose is False else ""
        return fail(f"internal error: {exc!r}{hint}", 1, json=json)


def exit_code(error: InterpreterError, *, resuming: bool) -> int:
    """`errors.exit_status`, and 2 for a conversation to resume that cannot be read."""
    return EXIT_USAGE if resuming and isinstance(error, StorageError) else exit_status(error)


def fail(problem: object, code: int, *, json: bool = False) -> int:
    """Print one line about what went wrong on stderr, and with `json` end stdout with error and exit lines.

    Any URL in the line is redacted: a library's message (an internal error's repr) may quote the api_base whole.
    """
    line = redact_text(str(problem))
    if not json:
        from interpreter.ui.untrusted import visible  # noqa: PLC0415 - only a failure needs it

        print(f"interpreter: {visible(line)}", file=sys.stderr)  # through the gate: it may quote a server
        return code
    from interpreter.ui.jsonl import JsonLinesRenderer  # noqa: PLC0415 - only a failure with --json needs it

    lines = JsonLinesRenderer(sys.stdout)
    lines.error(line)  # the same line on stderr too, through the gate
    lines.exit(code)
    return code

"""The words both renderers use for durations, exit statuses, changes of model, costs and code languages."""

from __future__ import annotations

import signal

from interpreter.messages import ModelSwitched, RunResult, Usage
from interpreter.resilience.durations import format_wait
from interpreter.ui.words import dollars

_LEXERS = {"shell": "bash", "sh": "bash", "node": "javascript", "js": "javascript"}


def duration(seconds: float) -> str:
    """A short elapsed time: "3.2s", or "2m 05s" past a minute."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def switched(event: ModelSwitched) -> str:
    """The line for a change of model: "gpt-4 rate limited (TPM) for 1m00s; using gpt-4o-mini meanwhile"."""
    if event.back:
        return f"back to {event.model}: its wait has passed"
    if event.seconds is None:
        return f"{event.previous}: {event.reason}; using {event.model} from now on"
    return f"{event.previous} {event.reason} for {format_wait(event.seconds)}; using {event.model} meanwhile"


def spent(usage: Usage) -> str:
    """One request's cost (shown with --verbose): "gpt-4o: 1,234 + 56 tokens (1,024 cached), $0.0037"."""
    about = "≈" if usage.estimated else ""
    cached = f" ({usage.cached_tokens:,} cached)" if usage.cached_tokens else ""
    cost = "price unknown" if usage.cost is None else dollars(usage.cost)
    return f"{usage.model}: {about}{usage.prompt_tokens:,} + {usage.completion_tokens:,} tokens{cached}, {cost}"


def outcome(result: RunResult) -> str | None:
    """How a run ended, in words, when it did not simply succeed; None when it exited 0."""
    status = result.exit_status
    if status is None or result.interrupted:
        return "interrupted"
    if status < 0:
        return f"killed by {_signal_name(-status)}"
    return None if status == 0 else f"exit status {status}"


def ran_in(result: RunResult) -> list[str]:
    """Where a run ran, when that is worth saying: ["sandboxed"] for a run in the sandbox, else nothing."""
    return ["sandboxed"] if result.sandboxed else []


def _signal_name(number: int) -> str:
    """ "SIGKILL" for 9; "signal 99" for a number this platform does not name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def cut_note(cut: int) -> str:
    """The note that stands where output was left out."""
    return f"[… {cut:,} characters cut …]"


def reset_note(language: str) -> str:
    """The note that a language's process was restarted."""
    return f"{language} was restarted: its variables and imports are gone"


def lexer(language: str) -> str:
    """The Pygments lexer name for a cell's language."""
    return _LEXERS.get(language.lower(), language.lower())

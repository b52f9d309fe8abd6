"""The system message: what the model is told about this machine and how its code runs."""

from __future__ import annotations

from pathlib import Path

from interpreter.model.system_prompt import system_message


def test_the_model_is_told_what_persists_between_runs_and_that_secrets_are_withheld() -> None:
    message = system_message(["python", "shell"], tools=True, cwd=Path("/work"))
    assert "Languages you can run: python, shell." in message
    assert "shell options, traps and redirections of the output end with each run" in message
    assert "secret-looking environment variables" in message
    assert len(message) < 2000  # well under 500 tokens

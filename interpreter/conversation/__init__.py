"""Conversations at rest: saved, locked, listed, exported.

storage        the conversation file's one owner: its format (JSON Lines), validation, appends and atomic rewrites,
               the pairing repair
locks          one session per conversation: the lock file beside it; files written whole, or appended to and synced
keeper         keeping the conversation when the home stops taking writes (a spare file in TMPDIR)
transcript     a conversation as a readable Markdown transcript
conversations  what `interpreter conversations` shows and exports

May import `errors`, `messages`, `trust`, `settings.directories`, `model.tool`, `resilience.diagnostics` (the log's
name), `ui.untrusted`, `ui.words`; never the session.
"""

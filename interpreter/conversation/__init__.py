"""Conversations at rest: saved, locked, listed, exported.

storage        the conversation file's one owner: its format, validation, atomic saves, the pairing repair
locks          one session per conversation: the lock file beside it
keeper         keeping the conversation when the home stops taking writes (a spare file in TMPDIR)
transcript     a conversation as a readable Markdown transcript
conversations  what `interpreter conversations` shows and exports

May import `errors`, `messages`, `trust`, `settings.directories`, `model.tool`, `ui.untrusted`, `ui.words`; never the
session.
"""

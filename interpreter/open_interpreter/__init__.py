"""Open Interpreter's habits, translated to this tool's: its flags, its profiles, its LMC messages.

Open Interpreter (0.4.x, Python) is no longer kept; its users arrive with its flags, its profile YAML files and its
saved conversations (JSON lists of LMC messages). What they mean here is decided in this package alone, so the rest
of the tool knows only its own settings and messages.

May import `errors`, `messages`, `trust`, `settings`, `conversation`, `ui.untrusted`, `ui.words`; never the session.
"""

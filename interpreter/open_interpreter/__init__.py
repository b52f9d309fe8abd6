"""Open Interpreter's habits, translated to this tool's: its flags, its profiles, its LMC messages.

Open Interpreter (0.4.x, Python) is no longer kept; its users arrive with its flags, its profile YAML files and its
saved conversations (JSON lists of LMC messages). What they mean here is decided in this package alone, so the rest
of the tool knows only its own settings and messages.

lmc          its LMC messages and conversation files, as our messages and back; a session's events as its chunks

May import `errors`, `messages`, `trust`, `settings`, `conversation`, `ui.untrusted`, `ui.words` and `model.tool`
(an LMC code message is a call of the execute tool); never the session.
"""

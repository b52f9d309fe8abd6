"""Trust at the edges: what may be shown of a secret, which files and processes may be believed.

redaction      what of a URL or a text may be shown, logged or saved (keys, passwords, tokens)
hardening      keeping this process's secrets from the machine's other processes
environment    which environment variables are secrets, and the environment cells get without them
ownership      whether a file is the person's (a settings file obeyed only when it is)
regular_files  reading a file the tool was pointed at: regular files only, checked on the descriptor, bounded

May import `errors` only: everything else may import these.
"""

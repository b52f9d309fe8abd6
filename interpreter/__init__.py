"""steady-interpreter: a terminal code interpreter that stays calm under load."""

__version__ = "0.1.0"

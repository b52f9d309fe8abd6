"""Run the command line with `python -m interpreter`."""

from interpreter.cli import main

main()

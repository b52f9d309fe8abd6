"""Open Interpreter's command-line flags, read before Typer: aliases become our flags, the rest are refused.

The flags are 0.4.x's (`arguments` in interpreter/terminal_interface/start_terminal_interface.py of
OpenInterpreter/open-interpreter, the "Developer Preview" release; 0.3's where it named a flag otherwise: `-s` was
its `--system_message` and became `--stdin`, `-sm` its `--speak_messages` and became `--system_message`). Their
aliases are not ours to show: `--help` lists this tool's flags only, and README's "Coming from Open Interpreter"
lists these. Only what comes before a subcommand is read, never a value (the text of `-c TASK`, of
`--instructions TEXT`), nor anything after `--`.
"""

from __future__ import annotations

from typing import NamedTuple

# Its flags that mean one of ours (`--flag=value` forms are read too).
ALIASES: dict[str, str] = {
    "-ab": "--api-base",
    "--api_base": "--api-base",
    "-ak": "--api-key",
    "--api_key": "--api-key",
    "--auto_run": "--auto-run",  # its -y is ours already
    "-cw": "--context-window",
    "--context_window": "--context-window",
    "-b": "--max-cost",  # its max_budget: USD for the LLM calls (LiteLLM's budget), as our cap
    "--max_budget": "--max-cost",
    "-ci": "--instructions",  # its custom_instructions were "appended to the system_message", as ours are told
    "--custom_instructions": "--instructions",
    "-xo": "--output-cap",  # its max_output: "maximum number of characters for code outputs", as our output cap
    "--max_output": "--output-cap",
    "-v": "--verbose",
    "-p": "--profile",  # its value names a file (`default.yaml`): see PROFILE_SUFFIXES
}
PROFILE = "--profile"  # ours, and its too: a value naming its file (`fast.yaml`) names the profile (`fast`)
PROFILE_SUFFIXES = (".yaml", ".yml")  # `-p work.yaml` is `--profile work`, the name `config import-oi` gave it
CONVERSATIONS = {"--conversations": "conversations"}  # its list of conversations to resume; ours is a subcommand
LOCAL = frozenset({"-l", "--local"})  # the first local server that answers (model/local_servers.py finds it)
# Accepted and dropped: there is no telemetry, update check or active-line highlight to turn off.
SILENT = frozenset({"--offline", "-o", "--disable_telemetry", "-dt", "--no_highlight_active_line", "-nhl"})

_SYSTEM = "the tool's own system message stays; add yours with --instructions TEXT"
_PROFILE_SHORTCUT = "was a shortcut to one of Open Interpreter's Python profiles: give -m MODEL and --api-base URL"
_PROFILES = (
    "profiles live in the settings file as [profiles.NAME] (interpreter config shows where); "
    "interpreter config import-oi brings Open Interpreter's in"
)
# Its flags with no counterpart here, each with what to do instead.
REFUSED: dict[str, str] = {
    "--os": "has no counterpart: this tool runs code, it does not move the mouse or type on the screen",
    "--vision": "is not needed: pictures a cell draws go to the model when it takes images (the images setting)",
    "--fast": "has no counterpart: pick a quick model with -m (Open Interpreter's fast profile used gpt-4o-mini)",
    "--server": "has no counterpart: use the Python API (from interpreter import Interpreter)",
    "--safe_mode": "has no counterpart: code runs only once you approve it; add --sandbox to confine it",
    "-s": f"was --system_message (0.3) and --stdin (0.4): {_SYSTEM}; pipe a task in with echo TASK | interpreter",
    "--system_message": f"has no counterpart: {_SYSTEM}",
    "-sm": f"was --speak_messages (0.3) and --system_message (0.4): {_SYSTEM}",
    "--stdin": "is not needed: a task piped in is read (echo TASK | interpreter)",
    "--temperature": "has no counterpart: the model's own temperature is used",
    "--llm_supports_functions": "is not needed: the model is offered the tool unless --no-tools",
    "--no-llm_supports_functions": "is --no-tools here (code in fenced blocks instead of tool calls)",
    "--llm_supports_vision": "is not needed: images go to a model known to take them (the images setting)",
    "--no-llm_supports_vision": "is the setting images = false in the settings file",
    "--max_tokens": "has no counterpart: a reply is as long as the model makes it (--max-cost caps the spending)",
    "--api_version": "has no counterpart: use an endpoint that needs no version (Azure OpenAI's .../openai/v1)",
    "--loop": "is not needed: the model goes on until it answers without code (--max-steps N bounds it)",
    "--force_task_completion": "is not needed: the model goes on until it answers without code (--max-steps N)",
    "--speak_messages": "has no counterpart: nothing is spoken",
    "--debug": "is --verbose here",
    "--multi_line": "is not needed: a pasted block of lines arrives whole",
    "--plain": "is not needed: plain text is written when stdout is not a terminal (--json for JSON lines)",
    "--codestral": _PROFILE_SHORTCUT,
    "--assistant": _PROFILE_SHORTCUT,
    "--llama3": _PROFILE_SHORTCUT,
    "--groq": _PROFILE_SHORTCUT,
    "--profiles": f"has no counterpart: {_PROFILES}",
    "--reset_profile": f"has no counterpart: {_PROFILES}",
    "--local_models": "has no counterpart: models are the server's (-l finds a local server and its model)",
    "--contribute_conversation": "has no counterpart: conversations go to no one but the model's server",
}
_SHORT_REFUSED = {
    "-vi": "--vision",
    "-os": "--os",
    "-f": "--fast",
    "-safe": "--safe_mode",
    "-t": "--temperature",
    "-lsf": "--llm_supports_functions",
    "-lsv": "--llm_supports_vision",
    "-x": "--max_tokens",
    "-av": "--api_version",
    "-fc": "--force_task_completion",
    "-sp": "--speak_messages",
    "-ml": "--multi_line",
    "-pl": "--plain",
}
REFUSED |= {short: REFUSED[long] for short, long in _SHORT_REFUSED.items()}
# Their flags that take a value: it is skipped with the flag (`-t 0.2`), never read as a flag itself.
VALUED_REFUSED = frozenset({"-s", "--system_message", "-sm", "-t", "--temperature", "-x", "--max_tokens"})
VALUED_REFUSED |= {"-av", "--api_version", "-safe", "--safe_mode"}
_VALUED_ALIASES = frozenset(name for name, ours in ALIASES.items() if ours not in ("--auto-run", "--verbose"))
# This tool's options that take a value (tests/test_open_interpreter_flags.py holds this to the Typer app).
OUR_VALUED = frozenset(
    {
        "-c",
        "--command",
        "-m",
        "--model",
        "--api-base",
        "--api-key",
        "--profile",
        "--max-steps",
        "--max-cost",
        "--max-retries",
        "--max-wait",
        "--timeout",
        "--context-window",
        "--output-cap",
        "--fallback-model",
        "--api",
        "--reasoning-effort",
        "--instructions",
        "-i",
        "--image",
        "--rate-limit-store",
    }
)
_OPTIONAL_VALUE = "--resume"  # takes an id when one follows, else stands alone
PYTHON_PROFILE = "Open Interpreter's Python profiles run code, and none is run here (copy its settings by hand)"


class Translation(NamedTuple):  # not a dataclass: this module is on every start's path, and that costs 1 ms
    """The command line in this tool's words, whether a local server was asked for, and the refusals to tell."""

    args: tuple[str, ...]
    local: bool = False
    refusals: tuple[str, ...] = ()


def aliases_of(ours: str) -> tuple[str, ...]:
    """Open Interpreter's names for our option `ours` (`--api-key`: `-ak`, `--api_key`)."""
    return tuple(name for name, target in ALIASES.items() if target == ours)


def translate(argv: list[str]) -> Translation:
    """`argv` with Open Interpreter's flags (up to the first subcommand or `--`) put in this tool's words."""
    reading = _Reading(argv)
    while reading.position < len(argv) and _is_option(argv[reading.position]):
        reading.step()
    rest = tuple(argv[reading.position :])  # a subcommand and its arguments, or `--` and what follows, stay as they are
    return Translation((*reading.args, *reading.tail, *rest), reading.local, tuple(reading.refusals))


def _is_option(argument: str) -> bool:
    """Whether `argument` is an option (the options end at a subcommand, `-` or `--`)."""
    return argument.startswith("-") and argument not in ("-", "--")


class _Reading:
    """The options of one command line, read one at a time."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.position = 0
        self.args: list[str] = []
        self.tail: list[str] = []  # a subcommand named by one of its flags goes after every option
        self.local = False
        self.refusals: list[str] = []

    def step(self) -> None:
        """Read the option at `position` (and its value), and move past them."""
        argument = self.argv[self.position]
        name, equals, value = argument.partition("=")
        self.position += 1
        if name in ALIASES or name == PROFILE:
            self._alias(name, [value] if equals else self._next() if name in _VALUED_ALIASES | {PROFILE} else [])
        elif (name in OUR_VALUED and not equals) or (argument == _OPTIONAL_VALUE and self._value_follows()):
            self.args += [argument, *self._next()]  # our own: its value is skipped, whatever it says
        elif argument in CONVERSATIONS:
            self.tail.append(CONVERSATIONS[argument])
        elif argument in LOCAL:
            self.local = True
        elif name in REFUSED:
            self._refuse(name, REFUSED[name], skip=name in VALUED_REFUSED and not equals)
        elif name not in SILENT:
            self.args.append(argument)

    def _alias(self, name: str, value: list[str]) -> None:
        """Our option for `name`, with its value (a profile's file name as its name)."""
        ours = ALIASES.get(name, name)
        if ours == PROFILE and value and value[0].endswith(".py"):
            self.refusals.append(f"{name} {value[0]}: {PYTHON_PROFILE}")
            return
        if ours == PROFILE:
            value = [_profile_name(item) for item in value]
        self.args += [ours, *value]

    def _refuse(self, name: str, instead: str, *, skip: bool) -> None:
        """One line for a refused flag; its value, if it takes one, is skipped."""
        self.refusals.append(f"{name} (Open Interpreter's) {instead}")
        if skip:
            self._next()

    def _next(self) -> list[str]:
        """The next argument, taken as a value (none at the end)."""
        taken = self.argv[self.position : self.position + 1]
        self.position += len(taken)
        return taken

    def _value_follows(self) -> bool:
        """Whether a value (not an option) follows."""
        return self.position < len(self.argv) and not self.argv[self.position].startswith("-")


def _profile_name(value: str) -> str:
    """A profile named as Open Interpreter's file (`work.yaml`) by its name (`work`), as `config import-oi` names it."""
    return next((value.removesuffix(suffix) for suffix in PROFILE_SUFFIXES if value.endswith(suffix)), value)

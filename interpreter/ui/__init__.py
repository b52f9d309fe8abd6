"""The screen: one renderer owns the terminal (Rich on a tty, plain text on pipes, JSON lines for `--json`).

renderer     the Renderer protocol, and make_renderer, which picks one of the three
terminal     the terminal renderer: the transcript printed once, above a small live region (`region`, `cells`, `frame`)
plain        the plain renderer for pipes and dumb terminals; `jsonl` the JSON-lines one
untrusted    the one gate: every string this program did not write passes `visible` before it is drawn
markdown     the model's markdown as the transcript shows it (`blocks`, `links`); `codeblock` a code cell
output       a running program's output in finished lines, drawn behind a dim bar (`gutter`)
thoughts     the model's reasoning while it streams; `labels` and `words` the wording every renderer shares
images       pictures on a terminal (`sixel`, `png`); `viewer` the system viewer (`xdg-open`, macOS's `open`)
prompt       reading from the person (the only module that touches prompt_toolkit); `approval` asking before running
interrupts   Ctrl-C that never lands mid-draw; `checklist` the doctor's report

May import `errors`, `messages`, `trust`, `settings.directories`, `resilience.durations`, `resilience.diagnostics`
and `doctor.check` (a value); never the session, the model, execution or the command line.
"""

from interpreter.ui.renderer import Renderer, make_renderer

__all__ = ["Renderer", "make_renderer"]

"""Figures a python cell draws with matplotlib: saved as PNG under the home, named in the output, drawn on terminals
that take pictures, linked elsewhere, an `image` event with --json, opened by `%open N`."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_server import FakeServer, Reply
from no_bwrap import path_without_bwrap
from sixels import read_sixel
from small_disk import PAGE, fill, tmpfs
from terminal import Terminal

from interpreter.errors import ExecutionError
from interpreter.execution import sandbox
from interpreter.execution.done_pipe import DoneLines
from interpreter.execution.figures import FIGURE_LIMIT, LINE_LIMIT, FigureInbox, FigureShelf, png_dimensions
from interpreter.messages import Figure
from interpreter.model.vision import image_part
from interpreter.ui.images import ImageProtocol, image_protocol, inline_image

pytest.importorskip("matplotlib", reason="matplotlib (a dev dependency) draws the figures")

Run = Callable[..., subprocess.CompletedProcess[str]]
PLOT = (
    "import matplotlib.pyplot as plt\nplt.figure(figsize=(4, 3), dpi=50)\nplt.plot([1, 2])\nplt.show()\nprint('drawn')"
)


def figures_of(home: Path) -> list[Path]:
    return sorted((home / "outputs").glob("*/figure-*.png"))


def told(server: FakeServer) -> str:
    """Every tool message the model got."""
    messages = [message for request in server.requests for message in (request.body or {}).get("messages", [])]
    return "\n".join(message["content"] for message in messages if message["role"] == "tool")


@pytest.fixture(autouse=True)
def cells_on_this_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python cells run where matplotlib is installed: the Python of these tests, first on PATH."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)


def test_a_shown_figure_is_saved_under_the_home_and_named_in_the_piped_output(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    server.enqueue(Reply.tool_call("python", PLOT), Reply.text("done"))

    result = run_cli("-c", "plot", "-y")

    assert result.returncode == 0, result.stderr
    (saved,) = figures_of(private_home)
    assert png_dimensions(saved.read_bytes()) == (200, 150)  # 4 x 3 inches at 50 dpi
    line = f"[figure 1: {saved}]"
    assert f"drawn\n{line}\n" in result.stdout and "\x1b" not in result.stdout
    assert line in told(server)  # the model is told where it is (the path, not the picture)


def test_json_has_an_image_event_with_the_path_size_and_format(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    server.enqueue(Reply.tool_call("python", PLOT), Reply.text("done"))

    result = run_cli("-c", "plot", "-y", "--json")

    records = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [record["type"] for record in records]
    (image,) = [record for record in records if record["type"] == "image"]
    (saved,) = figures_of(private_home)
    assert image == {"type": "image", "number": 1, "path": str(saved), "width": 200, "height": 150, "format": "png"}
    assert kinds.index("output") < kinds.index("image") < kinds.index("code_finished")


def test_figures_left_open_are_saved_once_and_numbered_on_through_the_conversation(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    shown_then_open = "import matplotlib.pyplot as plt\nplt.plot([1])\nplt.show()\nplt.figure()\nplt.plot([2])"
    server.enqueue(
        Reply.tool_call("python", shown_then_open),
        Reply.tool_call("python", "print(plt.get_fignums())"),  # none left open: each was saved and closed
        Reply.tool_call("python", "plt.bar([1], [2])"),
        Reply.text("done"),
    )

    result = run_cli("-c", "plot", "-y")

    saved = figures_of(private_home)
    assert [path.name for path in saved] == ["figure-1.png", "figure-2.png", "figure-3.png"]
    assert "[]\n" in result.stdout
    for number, path in enumerate(saved, start=1):
        assert result.stdout.count(f"[figure {number}: {path}]") == 1


def test_cells_and_the_programs_they_start_get_a_backend_without_a_window(run_cli: Run, server: FakeServer) -> None:
    child = "subprocess.run(['sh', '-c', 'echo in: $MPLBACKEND'])"  # a program the cell starts
    code = f"import os, subprocess\nprint(os.environ['MPLBACKEND'])\n{child}"
    server.enqueue(Reply.tool_call("python", code), Reply.text("done"))

    result = run_cli("-c", "which backend", "-y")

    assert "Agg\nin: Agg\n" in result.stdout


def test_a_figure_that_cannot_be_drawn_is_one_line_and_the_python_process_lives_on(
    run_cli: Run, server: FakeServer
) -> None:
    broken = "import matplotlib.pyplot as plt\nplt.text(0, 0, '$\\\\frac{$')\nx = 41"  # mathtext fails when drawn
    server.enqueue(Reply.tool_call("python", broken), Reply.tool_call("python", "x + 1"), Reply.text("done"))

    result = run_cli("-c", "plot", "-y")

    assert "[a figure could not be saved: ValueError:" in result.stdout
    assert "\n42\n" in result.stdout and "started a new python process" not in result.stdout


# ---- the terminal ---------------------------------------------------------------------------------------------


# What kitty answers to the graphics query and to DA1 (https://sw.kovidgoyal.net/kitty/graphics-protocol/).
KITTY_ANSWERS = "\x1b_Gi=31;OK\x1b\\\x1b[?62;c"
QUERY = b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\\x1b[c"
PlotOnTerminal = Callable[..., tuple[bytes, Path]]


@pytest.fixture
def plot_on_terminal(
    interpreter_command: list[str], server: FakeServer, private_home: Path
) -> Iterator[PlotOnTerminal]:
    """Run `-c plot -y` on a pty with these variables (and the terminal's answers typed ahead, so that no timing
    decides whether they come in time); what it wrote, and the figure saved."""
    terminals: list[Terminal] = []

    def plot(env: dict[str, str], answers: str = "") -> tuple[bytes, Path]:
        server.enqueue(Reply.tool_call("python", PLOT), Reply.text("all done"))
        args = ["--api-base", server.url, "--api-key", "sk-test", "-c", "plot", "-y"]
        terminal = Terminal(interpreter_command[0], args, env=env, cols=100)
        terminals.append(terminal)
        terminal.send(answers)
        terminal.wait_for("all done")
        assert terminal.exit_status() == 0
        (saved,) = figures_of(private_home)
        return terminal.written, saved

    yield plot
    for terminal in terminals:
        terminal.close()


def test_kitty_gets_the_figure_drawn_inline(plot_on_terminal: PlotOnTerminal) -> None:
    written, saved = plot_on_terminal({"TERM": "xterm-kitty"})

    assert QUERY not in written  # the environment said: the terminal is not asked
    assert_kitty_drawn(written, saved)


def test_a_terminal_that_answers_as_kitty_does_gets_the_figure_drawn_inline(plot_on_terminal: PlotOnTerminal) -> None:
    written, saved = plot_on_terminal({"TERM": "xterm-256color"}, answers=KITTY_ANSWERS)

    assert written.count(QUERY) == 1
    assert_kitty_drawn(written, saved)


def assert_kitty_drawn(written: bytes, saved: Path) -> None:
    """`written` holds the kitty graphics commands that draw the PNG file `saved`."""
    found = re.findall(rb"\x1b_G([^;]*);([^\x1b]*)\x1b\\", written)
    commands = [(keys, payload) for keys, payload in found if not keys.startswith(b"i=31,")]  # not the query
    assert commands[0][0] == b"a=T,f=100,q=2,c=25,m=1"  # 200 px wide: 25 columns; more chunks follow
    assert [keys for keys, _ in commands[1:]] == [b"m=1"] * (len(commands) - 2) + [b"m=0"]
    assert b"".join(payload for _, payload in commands) == base64.standard_b64encode(saved.read_bytes())


def test_iterm2_gets_the_figure_drawn_inline(plot_on_terminal: PlotOnTerminal) -> None:
    written, saved = plot_on_terminal({"TERM_PROGRAM": "iTerm.app"})

    assert b"\x1b]1337;File=inline=1;size=%d;width=25;" % saved.stat().st_size in written
    assert b"\x1b_G" not in written


# What foot answers to DA1 (attribute 4: sixel) and what xterm answers without -ti vt340 (https://vt100.net/docs/vt510-rm/DA1.html).
SIXEL_ANSWER = "\x1b[?62;4;22c"
NO_SIXEL_ANSWER = "\x1b[?65;1;9c"


def test_a_terminal_whose_device_attributes_list_sixel_gets_the_figure_drawn_in_sixel(
    plot_on_terminal: PlotOnTerminal,
) -> None:
    written, _ = plot_on_terminal({"TERM": "xterm-256color"}, answers=SIXEL_ANSWER)

    assert written.count(QUERY) == 1
    start = written.index(b"\x1bPq")
    drawn = read_sixel(written[start:].decode())
    assert (drawn.width, drawn.height) == (200, 150)  # its own size: it fits in 99 columns of 10 pixels
    assert drawn.colours()[0][0] == (100, 100, 100)  # the figure's white background
    assert (20, 40, 80) in drawn.registers.values()  # its line: matplotlib's blue #1f77b4, as the palette has it
    assert b"\x1b_Ga=" not in written and b"\x1b]1337;" not in written


def test_foot_gets_the_figure_drawn_in_sixel_without_being_asked(plot_on_terminal: PlotOnTerminal) -> None:
    written, _ = plot_on_terminal({"TERM": "foot"})

    assert QUERY not in written
    assert read_sixel(written[written.index(b"\x1bPq") :].decode()).width == 200


def test_a_terminal_whose_device_attributes_do_not_list_sixel_gets_a_link(plot_on_terminal: PlotOnTerminal) -> None:
    written, saved = plot_on_terminal({"TERM": "xterm-256color"}, answers=NO_SIXEL_ANSWER)

    assert written.count(QUERY) == 1
    assert b"\x1bPq" not in written and b"\x1b_Ga=" not in written and b"\x1b]1337;" not in written
    assert f";{saved.as_uri()}\x1b\\[figure 1: ".encode() in written


def test_a_terminal_that_does_not_answer_gets_a_link_to_the_figure(plot_on_terminal: PlotOnTerminal) -> None:
    written, saved = plot_on_terminal({"TERM": "xterm-256color"})

    assert written.count(QUERY) == 1  # asked once; no answer came within the timeout
    assert b"\x1b_Ga=" not in written and b"\x1b]1337;" not in written
    assert f";{saved.as_uri()}\x1b\\[figure 1: ".encode() in written  # OSC 8: the line is a link to the file


# ---- %open -------------------------------------------------------------------------------------------------------


def fake_viewer(folder: Path, log: Path) -> dict[str, str]:
    """A PATH whose `xdg-open` writes what it was asked to open to `log`."""
    folder.mkdir()
    viewer = folder / "xdg-open"
    viewer.write_text(f'#!/bin/sh\necho "$1" > {log}\n')
    viewer.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def test_percent_open_opens_figure_n_with_the_system_viewer(
    run_cli: Run, server: FakeServer, private_home: Path, tmp_path: Path
) -> None:
    server.enqueue(Reply.tool_call("python", PLOT), Reply.text("done"))
    assert run_cli("-c", "plot", "-y").returncode == 0
    (saved,) = figures_of(private_home)
    log = tmp_path / "opened"

    result = run_cli("--resume", "-c", "%open 1", env=fake_viewer(tmp_path / "bin", log))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"opening {saved} with xdg-open" in result.stdout
    deadline = time.monotonic() + 30  # the viewer is not waited for
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text() == f"{saved}\n"
    missing = run_cli("--resume", "-c", "%open 2", env=fake_viewer(tmp_path / "bin2", log))
    assert missing.returncode == 2 and missing.stdout.endswith("error: no figure 2 in this conversation\n")


def test_percent_open_without_a_viewer_is_one_line(
    run_cli: Run, server: FakeServer, private_home: Path, tmp_path: Path
) -> None:
    server.enqueue(Reply.tool_call("python", PLOT), Reply.text("done"))
    assert run_cli("-c", "plot", "-y").returncode == 0

    result = run_cli("--resume", "-c", "%open 1", env={"PATH": str(tmp_path)})

    assert result.returncode == 2
    assert result.stdout.strip().endswith("xdg-open is not installed (open the file yourself)")
    assert "Traceback" not in result.stdout + result.stderr


# ---- the pieces ----------------------------------------------------------------------------------------------------


PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big")


def picture(path: Path, size: int = 100) -> Figure:
    path.write_bytes(PNG_HEADER + bytes(size))
    return Figure(1, str(path), 640, 480)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"TERM": "xterm-kitty"}, ImageProtocol.KITTY),
        ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"}, ImageProtocol.KITTY),
        ({"TERM": "xterm-ghostty"}, ImageProtocol.KITTY),
        ({"TERM_PROGRAM": "iTerm.app"}, ImageProtocol.ITERM2),
        ({"TERM_PROGRAM": "WezTerm"}, ImageProtocol.ITERM2),
        ({"TERM": "foot"}, ImageProtocol.SIXEL),
        ({"TERM": "foot-extra"}, ImageProtocol.SIXEL),
        ({"TERM": "foot", "KITTY_WINDOW_ID": "1"}, ImageProtocol.KITTY),  # kitty's protocol first
        ({"TERM": "xterm-256color"}, None),  # not said: the terminal is asked
        ({}, None),
    ],
)
def test_the_image_protocol_is_told_from_the_environment(
    environ: dict[str, str], expected: ImageProtocol | None
) -> None:
    assert image_protocol(environ) is expected


def test_kitty_sends_a_big_picture_in_chunks_of_4096(tmp_path: Path) -> None:
    figure = picture(tmp_path / "big.png", 10_000)

    drawn = inline_image(figure, ImageProtocol.KITTY, width=60)

    assert drawn is not None
    commands = drawn.split("\x1b\\")[:-1]
    assert commands[0].startswith("\x1b_Ga=T,f=100,q=2,c=60,m=1;")  # 640 px would be 80 columns: the width wins
    assert [command.split(";")[0] for command in commands[1:]] == ["\x1b_Gm=1", "\x1b_Gm=1", "\x1b_Gm=0"]
    payload = "".join(command.split(";", 1)[1] for command in commands)
    assert base64.standard_b64decode(payload) == Path(figure.path).read_bytes()
    assert all(len(command.split(";", 1)[1]) <= 4096 for command in commands)


def test_what_is_not_a_png_is_linked_not_drawn(tmp_path: Path) -> None:
    fake = tmp_path / "figure-1.png"
    fake.write_bytes(b"\x1b]52;c;aGVsbG8=\x07")  # a cell wrote into the folder: never sent raw

    assert inline_image(Figure(1, str(fake), 1, 1), ImageProtocol.KITTY, width=80) is None
    assert inline_image(picture(tmp_path / "real.png"), ImageProtocol.NONE, width=80) is None


def png_of(width: int, height: int, size: int = 100) -> bytes:
    """Bytes that begin as a PNG of that size does (what the tool checks before filing a figure)."""
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big")
    return header + bytes(size)


def figure_line(data: bytes) -> bytes:
    return b"figure " + base64.standard_b64encode(data) + b"\n"


def test_the_shelf_writes_new_files_numbered_on_and_passes_over_a_name_a_link_holds(tmp_path: Path) -> None:
    shelf = FigureShelf(tmp_path / "outputs", lambda: "conv")
    folder = tmp_path / "outputs" / "conv"
    first = shelf.file([png_of(640, 480)])
    holiday = tmp_path / "holiday.png"
    holiday.write_bytes(b"the person's picture")
    (folder / "figure-2.png").symlink_to(holiday)  # planted by a cell that could write here

    second = shelf.file([png_of(20, 10, 5), png_of(30, 40, 5)])

    assert first == [Figure(1, str(folder / "figure-1.png"), 640, 480)]
    assert [(figure.number, figure.width, figure.height) for figure in second] == [(3, 20, 10), (4, 30, 40)]
    assert (folder / "figure-4.png").read_bytes() == png_of(30, 40, 5)
    assert holiday.read_bytes() == b"the person's picture" and (folder / "figure-2.png").is_symlink()
    assert (folder / "figure-3.png").stat().st_mode & 0o777 == 0o600


def test_a_figure_that_does_not_fit_the_disk_is_one_line_and_leaves_no_file(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk") as disk:
        shelf = FigureShelf(disk / "outputs", lambda: "conv")
        shelf.file([png_of(8, 8)])
        fill(disk)

        with pytest.raises(ExecutionError, match=r"a figure could not be kept in .*conv: No space left on device"):
            shelf.file([png_of(640, 480, 3 * PAGE)])

        assert sorted(path.name for path in (disk / "outputs" / "conv").iterdir()) == ["figure-1.png"]


def test_the_shelf_does_not_follow_a_link_put_in_place_of_the_conversations_folder(tmp_path: Path) -> None:
    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "conv").symlink_to(pictures)
    shelf = FigureShelf(tmp_path / "outputs", lambda: "conv")

    with pytest.raises(
        ExecutionError,
        match=r"^a figure could not be kept in .*/outputs/conv: a link or a file is where its folder should be",
    ):
        shelf.file([png_of(1, 1)])

    assert list(pictures.iterdir()) == []


def test_the_inbox_keeps_pngs_and_refuses_the_rest_with_a_line_each() -> None:
    inbox = FigureInbox()
    for data in (png_of(3, 4), b"\x1b]52;c;aGVsbG8=\x07 not a picture", png_of(5, 6)):
        inbox.receive(base64.standard_b64encode(data))
    inbox.receive(b"#not base64#")

    pictures, refused = inbox.take()

    assert pictures == [png_of(3, 4), png_of(5, 6)]
    assert refused == [
        "a figure was not kept: it is not a PNG picture",
        "a figure was not kept: it was garbled on its way (not base64)",
    ]
    assert inbox.take() == ([], [])


def test_the_inbox_keeps_twenty_figures_a_cell_and_counts_the_rest() -> None:
    inbox = FigureInbox()
    for number in range(25):
        inbox.receive(base64.standard_b64encode(png_of(number + 1, 1)))

    pictures, refused = inbox.take()

    assert [png_dimensions(data) for data in pictures] == [(number, 1) for number in range(1, 21)]
    assert refused == ["5 more figures were not kept: a cell keeps at most 20"]


def test_done_lines_give_the_status_after_the_figures_before_it_in_any_pieces() -> None:
    inbox = FigureInbox()
    lines = DoneLines(inbox)
    stream = figure_line(png_of(7, 8)) + b"junk a cell wrote\n" + b"3\n" + b"0\n"

    statuses = [lines.feed(stream[start : start + 5]) for start in range(0, len(stream), 5)]

    assert [status for status in statuses if status is not None] == [3]  # "0" waits for the next read
    assert lines.feed(b"") == 0
    assert inbox.take() == ([png_of(7, 8)], [])


def test_done_lines_drop_a_line_longer_than_any_figure_as_it_comes_and_say_so_once() -> None:
    inbox = FigureInbox()
    lines = DoneLines(inbox)
    chunk = b"A" * (1 << 20)

    assert lines.feed(b"figure ") is None
    for _ in range(2 * FIGURE_LIMIT // len(chunk)):  # 16 MiB of base64: like a figure swapped for /dev/zero
        assert lines.feed(chunk) is None
        assert len(lines._pending) <= LINE_LIMIT + len(chunk)  # what is held stays bounded
    assert lines.feed(b"A\n" + figure_line(png_of(1, 2)) + b"0\n") == 0

    assert inbox.take() == (
        [png_of(1, 2)],
        ["a figure was not kept: it is over the 8.4 MB a figure may be (save it to a file instead)"],
    )


@pytest.mark.skipif(not sandbox.probe().available, reason="this machine cannot sandbox cells")
def test_a_sandboxed_cell_draws_its_figure_and_says_nothing_of_matplotlibs_settings_folder(
    run_cli: Run, server: FakeServer, private_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HOME", str(tmp_path))  # a person whose matplotlib has never run: no settings folder yet
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    server.enqueue(Reply.tool_call("python", PLOT), Reply.text("done"))

    result = run_cli("-c", "plot", "-y", "--sandbox")

    assert result.returncode == 0, result.stderr
    (saved,) = figures_of(private_home)
    assert f"drawn\n[figure 1: {saved}]\n" in result.stdout
    assert "matplotlib" not in told(server).lower()  # no "is not a writable directory" warning for the model


# ---- what a cell can do to the tool through its figures ------------------------------------------------------------

needs_sandbox = pytest.mark.skipif(not sandbox.probe().available, reason="this machine cannot sandbox cells")
# The done pipe is the worker's last argument (python -u python_worker.py CELL_FD DONE_FD): a cell can find it.
DONE_FD = "done = int(open('/proc/self/cmdline', 'rb').read().split(b'\\0')[-2])\n"


def snapshot(folder: Path) -> dict[str, tuple[bool, bytes | str]]:
    """Every path beneath `folder`: whether it is a link, and its bytes (a file) or where it points (a link)."""
    found: dict[str, tuple[bool, bytes | str]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path)] = (True, os.readlink(path))
        elif path.is_file():
            found[str(path)] = (False, path.read_bytes())
    return found


@pytest.fixture
def person(tmp_path: Path) -> Path:
    """A person's home with ~/Pictures holding holiday.png and notes.png."""
    pictures = tmp_path / "person" / "Pictures"
    pictures.mkdir(parents=True)
    (pictures / "holiday.png").write_bytes(png_of(640, 480, 2000))
    (pictures / "notes.png").write_bytes(png_of(10, 10, 50))
    return tmp_path / "person"


@pytest.fixture
def run_in(interpreter_command: list[str], server: FakeServer, tmp_path: Path) -> Run:
    """Run the installed CLI against the fake server in the folder given first, with a temp dir of its own (what a
    cell does there must not reach other programs' files in the machine's /tmp)."""
    (tmp_path / "temp").mkdir()

    def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*interpreter_command, "--api-base", server.url, "--api-key", "sk-test", *args]
        env = {**os.environ, "TMPDIR": str(tmp_path / "temp")}
        return subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env, timeout=120, check=False)

    return run


@needs_sandbox
def test_a_sandboxed_cell_that_links_the_temp_dir_to_pictures_and_forges_figures_moves_or_deletes_nothing(
    run_in: Run, server: FakeServer, private_home: Path, person: Path, tmp_path: Path
) -> None:
    pictures = person / "Pictures"
    before = snapshot(person)
    attack = (
        "import base64, glob, os\n"
        "import matplotlib.pyplot as plt\n"
        f"temp = {str(tmp_path / 'temp')!r}  # the cell's temp dir (TMPDIR), never the machine's /tmp in a test\n"
        "for spool in glob.glob(temp + '/steady-interpreter-figures-*'):  # where figures were once spooled\n"
        "    os.rename(spool, spool + '-moved')\n"
        f"    os.symlink({str(pictures)!r}, spool)\n"
        f"os.symlink({str(pictures)!r}, temp + '/steady-interpreter-figures-planted')\n"
        "named = [name for name, value in os.environ.items() if 'FIGURE' in name or 'steady-interpreter' in value]\n"
        "print('named:', named)\n" + DONE_FD + "plt.figure(figsize=(2, 1), dpi=50)\nplt.plot([1, 2])\nplt.show()\n"
        "os.write(done, b'figure ' + base64.b64encode(b'not a picture') + b'\\n')\n"
        f"holiday = open({str(pictures / 'holiday.png')!r}, 'rb').read()\n"
        "os.write(done, b'figure ' + base64.b64encode(holiday) + b'\\n')\n"
        "print('forged')"
    )
    server.enqueue(Reply.tool_call("python", attack), Reply.text("done"))
    (tmp_path / "work").mkdir()

    result = run_in(tmp_path / "work", "-c", "plot", "-y", "--sandbox")

    assert result.returncode == 0, result.stderr
    assert "named: []\nforged\n" in result.stdout  # no variable names where the tool keeps figures
    assert (tmp_path / "temp" / "steady-interpreter-figures-planted").is_symlink()  # the link was made, in vain
    assert snapshot(person) == before  # holiday.png and notes.png still there, unchanged, nothing added
    drawn, copied = figures_of(private_home)  # the drawn figure, and holiday.png's bytes copied (never moved)
    assert (
        png_dimensions(drawn.read_bytes()) == (100, 50)
        and copied.read_bytes() == before[str(pictures / "holiday.png")][1]
    )
    assert result.stdout.count("note: a figure was not kept: it is not a PNG picture\n") == 1
    assert "[a figure was not kept: it is not a PNG picture]" in told(server)


@needs_sandbox
def test_links_a_sandboxed_cell_plants_among_the_figures_are_passed_over_and_never_followed(
    run_in: Run, server: FakeServer, person: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "person" / ".interpreter"  # the working directory holds the home: a sandboxed cell can write it
    monkeypatch.setenv("INTERPRETER_HOME", str(home))
    # Under bubblewrap the home is hidden from cells; Landlock alone (no bwrap installed) leaves it writable here.
    monkeypatch.setenv("PATH", path_without_bwrap(os.environ["PATH"], tmp_path))
    pictures = person / "Pictures"
    plot = "plt.figure(figsize=(2, 1), dpi=50)\nplt.plot([1])\nplt.show()\n"
    links = (
        f"import glob, os\nconv = glob.glob({str(home)!r} + '/outputs/*')[0]\n"
        f"os.symlink({str(pictures / 'holiday.png')!r}, conv + '/figure-2.png')\n"
        f"os.symlink({str(pictures / 'notes.png')!r}, conv + '/figure-3.png')\n" + plot
    )
    folder = f"os.rename(conv, conv + '-moved')\nos.symlink({str(pictures)!r}, conv)\n" + plot + "print('after')"
    server.enqueue(
        Reply.tool_call("python", "import matplotlib.pyplot as plt\n" + plot),
        Reply.tool_call("python", links),
        Reply.tool_call("python", folder),
        Reply.text("done"),
    )
    before = snapshot(pictures)

    result = run_in(person, "-c", "plot", "-y", "--sandbox")

    assert result.returncode == 0, result.stderr
    assert snapshot(pictures) == before
    moved = sorted(path.name for path in (home / "outputs").glob("*-moved/*"))
    assert moved == ["figure-1.png", "figure-2.png", "figure-3.png", "figure-4.png"]  # 2 and 3: the links, left be
    assert re.search(
        r"\nnote: a figure could not be kept in \S+/outputs/\S+: a link or a file is where its folder should be, "
        r"and it is not followed\n",
        result.stdout,
    )
    assert "\nafter\n" in result.stdout


def test_a_line_longer_than_any_figure_is_dropped_as_it_comes_with_one_line(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    endless = (
        DONE_FD
        + "import os\nos.write(done, b'figure ')\nfor _ in range(24):\n    os.write(done, b'A' * (1 << 20))\n"
        + "os.write(done, b'\\n')\nx = 41"
    )
    server.enqueue(Reply.tool_call("python", endless), Reply.tool_call("python", "x + 1"), Reply.text("done"))

    result = run_cli("-c", "forge", "-y")

    assert result.returncode == 0, result.stderr
    line = "a figure was not kept: it is over the 8.4 MB a figure may be (save it to a file instead)"
    assert result.stdout.count(f"note: {line}\n") == 1 and f"[{line}]" in told(server)
    assert "\n42\n" in result.stdout and "started a new python process" not in result.stdout
    assert figures_of(private_home) == []


def test_figures_a_cell_swapped_for_dev_zero_or_a_fifo_are_sent_by_path_and_the_session_goes_on(
    run_cli: Run, server: FakeServer, private_home: Path
) -> None:
    two = (
        "import matplotlib.pyplot as plt\nfor n in (1, 2):\n    plt.figure(figsize=(2, 1), dpi=50)\n    plt.plot([n])\n"
    )
    swap = (
        f"import glob, os\nconv = glob.glob({str(private_home)!r} + '/outputs/*')[0]\n"
        "os.remove(conv + '/figure-1.png')\nos.symlink('/dev/zero', conv + '/figure-1.png')\n"
        "os.remove(conv + '/figure-2.png')\nos.mkfifo(conv + '/figure-2.png')\nprint('swapped')"
    )
    server.enqueue(Reply.tool_call("python", two), Reply.tool_call("python", swap), Reply.text("done"))

    result = run_cli("-c", "plot", "-y", "--model", "gpt-4o")

    assert result.returncode == 0, result.stderr
    assert "swapped" in result.stdout and "Traceback" not in result.stdout + result.stderr
    last = (server.requests[-1].body or {})["messages"]
    assert not any(isinstance(message["content"], list) for message in last)  # no picture: neither was read
    assert "[figure 1: " in told(server) and "[figure 2: " in told(server)


def test_the_terminal_links_a_figure_swapped_for_dev_zero_or_a_fifo_and_reads_neither(tmp_path: Path) -> None:
    (tmp_path / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo.png")

    for name in ("zero.png", "fifo.png"):
        swapped = Figure(1, str(tmp_path / name), 640, 480)
        assert inline_image(swapped, ImageProtocol.KITTY, width=80) is None
        assert image_part(str(tmp_path / name), tmp_path) is None

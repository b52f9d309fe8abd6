"""Pictures on a terminal: which inline-image protocol it speaks, and the escape sequences of ours that draw one.

Told from the environment the terminal sets: kitty's graphics protocol for kitty (`TERM=xterm-kitty`,
`KITTY_WINDOW_ID`) and Ghostty (`TERM=xterm-ghostty`), iTerm2's inline images for iTerm2 and WezTerm
(`TERM_PROGRAM`), sixel for foot (`TERM=foot`). When the environment does not say, the terminal is asked once, when
the first figure comes, as kitty's documentation says to: a graphics query, then a device-attributes query (DA1),
which every terminal answers, so a terminal that answers the first speaks kitty's protocol; one whose DA1 answer
lists attribute 4 speaks sixel (as xterm -ti vt340 and the other terminals that draw sixel say); an answer that does
not come within a short timeout is a no. Elsewhere a figure is a link (OSC 8, drawn by Rich).
Every byte of an image sequence is ours: the PNG file the executor saved, base64-encoded, or its decoded pixels
encoded as sixel; nothing a cell printed.
"""

from __future__ import annotations

import base64
import enum
import os
import re
import select
import struct
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from interpreter.errors import FileRefused
from interpreter.messages import Figure
from interpreter.trust.regular_files import read_regular
from interpreter.ui import png
from interpreter.ui.sixel import sixel

# https://sw.kovidgoyal.net/kitty/graphics-protocol/: a=T transmit and show, f=100 PNG, q=2 no replies (they would
# reach the prompt as typed input), c= the columns to scale to (rows follow the aspect ratio), payload in chunks of
# at most 4096 base64 bytes, m=1 on every chunk but the last.
_KITTY_CHUNK = 4096
# https://iterm2.com/documentation-images.html: OSC 1337 File=, width in cells, the aspect ratio kept.
_ITERM2 = "\x1b]1337;File=inline=1;size={size};width={columns};preserveAspectRatio=1:{payload}\x07"
# Query image id 31, one pixel of RGB data, `a=q`: "would you show this?"; then DA1. The answers: `ESC _Gi=31;OK ESC \`
# from a terminal that would, and `ESC [ ? ... c` from every terminal.
_QUERY = b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\\x1b[c"
_KITTY_ANSWER = b"\x1b_Gi=31;"
_DA1_ANSWER = re.compile(rb"\x1b\[\?([0-9;]*)c")
# DA1 answers `ESC [ ? class ; attributes c`; from the VT220 on (class 62 and up) the attributes are a list, and 4 is
# "sixel graphics" (https://vt100.net/docs/vt510-rm/DA1.html; xterm's ctlseqs, "Send Device Attributes").
_DA1_SIXEL = "4"
_DA1_LISTS_FROM = 62
QUERY_TIMEOUT = 0.5
MAX_BYTES = 16 << 20  # a bigger picture is linked, not drawn: base64 of it would take the terminal a while
_PIXELS_PER_COLUMN = 8  # a common cell width: a figure is not drawn wider than it is
CELL_WIDTH = 10  # pixels a column, when the terminal does not say (TIOCGWINSZ's ws_xpixel is often 0)
# foot sets TERM=foot (or foot-extra) unless configured otherwise (foot.ini(5), `term`), and draws sixel
# (https://codeberg.org/dnkl/foot#features).
_SIXEL_TERMS = ("foot", "foot-extra")


class ImageProtocol(enum.Enum):
    """How a terminal takes inline pictures."""

    KITTY = "kitty"
    ITERM2 = "iterm2"
    SIXEL = "sixel"
    NONE = "none"  # it does not (or we cannot tell): a link instead


def image_protocol(environ: Mapping[str, str]) -> ImageProtocol | None:
    """The protocol the terminal these variables describe speaks; None when they do not say (ask it)."""
    if environ.get("TERM") in ("xterm-kitty", "xterm-ghostty") or environ.get("KITTY_WINDOW_ID"):
        return ImageProtocol.KITTY
    if environ.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm"):
        return ImageProtocol.ITERM2
    if environ.get("TERM") in _SIXEL_TERMS:
        return ImageProtocol.SIXEL
    return None


def ask_terminal(
    timeout: float = QUERY_TIMEOUT, clock: Callable[[], float] = time.monotonic, tty: str = "/dev/tty"
) -> ImageProtocol:
    """Ask the controlling terminal whether it takes kitty's pictures, or sixel; NONE without a terminal or answer."""
    try:
        fd = os.open(tty, os.O_RDWR | os.O_NOCTTY)
    except OSError:  # no controlling terminal
        return ImageProtocol.NONE
    try:
        answer = _ask(fd, clock() + timeout, clock)
    except OSError:
        return ImageProtocol.NONE
    finally:
        os.close(fd)
    return answered(answer)


def answered(answer: bytes) -> ImageProtocol:
    """The protocol a terminal's answers to the queries name: kitty's first, then sixel from DA1's attributes."""
    if _KITTY_ANSWER in answer:
        return ImageProtocol.KITTY
    found = _DA1_ANSWER.search(answer)
    if found is None:
        return ImageProtocol.NONE
    kind, *attributes = found[1].decode("ascii").split(";")
    speaks = kind.isdigit() and int(kind) >= _DA1_LISTS_FROM and _DA1_SIXEL in attributes
    return ImageProtocol.SIXEL if speaks else ImageProtocol.NONE


def cell_width(file: IO[str]) -> int:
    """Pixels a column of the terminal `file` is, as the kernel knows it (TIOCGWINSZ); CELL_WIDTH when it does not."""
    import fcntl  # noqa: PLC0415 - POSIX only, and only when a sixel picture is drawn
    import termios  # noqa: PLC0415

    try:
        size = fcntl.ioctl(file.fileno(), termios.TIOCGWINSZ, bytes(8))
    except (OSError, ValueError):  # not a terminal (or a closed file, or none at all)
        return CELL_WIDTH
    _, columns, x_pixels, _ = struct.unpack("HHHH", size)
    return x_pixels // columns if x_pixels and columns else CELL_WIDTH


def _ask(fd: int, deadline: float, clock: Callable[[], float]) -> bytes:
    """Send the query and read the answers until DA1's has come or the deadline passed; the echo is off meanwhile."""
    import termios  # noqa: PLC0415 - POSIX only, and only for a terminal that did not say what it is
    import tty  # noqa: PLC0415

    saved = termios.tcgetattr(fd)
    answer = b""
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # the answers are read at once and never shown; keys typed ahead stay
        os.write(fd, _QUERY)
        while not _DA1_ANSWER.search(answer) and (left := deadline - clock()) > 0:
            if select.select([fd], [], [], left)[0]:
                answer += os.read(fd, 1024)
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
    return answer


def inline_image(figure: Figure, protocol: ImageProtocol, width: int, cell_pixels: int = CELL_WIDTH) -> str | None:
    """The sequence that draws `figure` at most `width` columns (of `cell_pixels` pixels) wide; None when it cannot
    be drawn (then: a link)."""
    if protocol is ImageProtocol.NONE:
        return None
    data = _png(Path(figure.path))
    if data is None:
        return None
    if protocol is ImageProtocol.SIXEL:
        pixels = png.decode(data)
        return None if pixels is None else sixel(pixels, width * cell_pixels)
    columns = max(1, min(width, -(-figure.width // _PIXELS_PER_COLUMN)))
    payload = base64.standard_b64encode(data).decode("ascii")
    if protocol is ImageProtocol.KITTY:
        return _kitty(payload, columns)
    return _ITERM2.format(size=len(data), columns=columns, payload=payload)


def _kitty(payload: str, columns: int) -> str:
    """The kitty graphics commands that send and show a PNG in `columns` columns."""
    chunks = [payload[start : start + _KITTY_CHUNK] for start in range(0, len(payload), _KITTY_CHUNK)]
    commands = []
    for index, chunk in enumerate(chunks):
        more = int(index < len(chunks) - 1)
        keys = f"a=T,f=100,q=2,c={columns},m={more}" if index == 0 else f"m={more}"
        commands.append(f"\x1b_G{keys};{chunk}\x1b\\")
    return "".join(commands)


def _png(path: Path) -> bytes | None:
    """The file's bytes when it is a PNG small enough to draw; None otherwise (or when it cannot be read)."""
    try:
        data = read_regular(path, limit=MAX_BYTES, follow=False)  # a cell may have swapped it for /dev/zero or a FIFO
    except FileRefused:
        return None
    return data if data.startswith(png.SIGNATURE) else None

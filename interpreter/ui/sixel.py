"""Pixels as a sixel image: scaled to fit, laid on white, cut to a fixed palette of 240 colours, run-length encoded.

Sixel (DEC's VT330/VT340 graphics, https://vt100.net/docs/vt3xx-gp/chapter14.html): `ESC P q`, raster attributes
`"1;1;W;H` (square pixels, the size), colour registers `#n;2;r;g;b` (RGB in percent), then bands six pixels tall:
for each colour, `#n` and one character a column (63 + the bits of the six pixels of that colour, top pixel lowest),
`!count` before a character repeated, `$` back to the band's start for the next colour, `-` to the next band;
`ESC \\` ends it.
Every byte is made here from decoded pixels: nothing of the PNG file or of a cell's output passes through.
"""

from __future__ import annotations

import re
import sys
from array import array
from functools import cache
from operator import itemgetter

from interpreter.ui.png import Pixels

# xterm's 256-colour layout without its 16 system colours: a 6x6x6 cube, then 24 greys between the cube's black and
# white (figures are mostly greys: text, axes, antialiased edges).
_LEVELS = (0, 51, 102, 153, 204, 255)
_GREYS = tuple(8 + 10 * step for step in range(24))
_PALETTE = tuple((r, g, b) for r in _LEVELS for g in _LEVELS for b in _LEVELS) + tuple((v, v, v) for v in _GREYS)
_BAND = 6
_CHARACTERS = bytes(range(63, 127)) + bytes(192)  # the bits of a column, 0-63, as the character that carries them
_RUN = re.compile(rb"([?-~])\1{3,}")  # four or more of a character: `!4x` is shorter


def _rgba(pixels: Pixels) -> Pixels:
    """`pixels` with four bytes a pixel (RGB made opaque): a pixel is then one 32-bit word, cheap to pick and match."""
    if pixels.channels == 4:
        return pixels
    count = pixels.width * pixels.height
    data = bytearray(b"\xff" * 4 * count)
    for channel in range(3):
        data[channel::4] = pixels.data[channel::3]
    return Pixels(pixels.width, pixels.height, 4, bytes(data))


def _fit(pixels: Pixels, max_width: int) -> Pixels:
    """RGBA `pixels` no wider than `max_width`, the aspect ratio kept (nearest neighbour: cheap; figures are sharp)."""
    if pixels.width <= max_width:
        return pixels
    width, height = max_width, max(1, pixels.height * max_width // pixels.width)
    words = memoryview(pixels.data).cast("I")
    pick = itemgetter(*(x * pixels.width // width for x in range(width)))
    starts = (y * pixels.height // height * pixels.width for y in range(height))
    rows = (array("I", pick(words[start : start + pixels.width])).tobytes() for start in starts)
    return Pixels(width, height, 4, b"".join(rows))


def _quantise(pixels: Pixels) -> bytes:
    """For each RGBA pixel, the index of the palette's colour nearest it laid on white (each colour worked out once)."""
    words = memoryview(pixels.data).cast("I")
    colours = {word: _nearest(_on_white(word.to_bytes(4, sys.byteorder))) for word in set(words)}
    return bytes(map(colours.__getitem__, words))


def _on_white(colour: bytes) -> tuple[int, int, int]:
    """An RGBA colour as it looks over white (matplotlib draws for white paper: black text and axes)."""
    alpha = colour[3]
    red, green, blue = ((value * alpha + 255 * (255 - alpha) + 127) // 255 for value in colour[:3])
    return red, green, blue


def _nearest(colour: tuple[int, int, int]) -> int:
    """The index of the palette's colour nearest `colour`: the cube's or the grey ramp's, whichever is closer."""
    r, g, b = ((value + 25) // 51 for value in colour)
    cube = 36 * r + 6 * g + b
    grey = 216 + min(23, max(0, (sum(colour) // 3 - 3) // 10))
    return min((cube, grey), key=lambda index: _distance(_PALETTE[index], colour))


def _distance(one: tuple[int, int, int], other: tuple[int, int, int]) -> int:
    """The squared distance of two colours in RGB."""
    return sum((a - b) ** 2 for a, b in zip(one, other, strict=True))


def _encode(indices: bytes, width: int, height: int) -> str:
    """The sixel image of `height` rows of `width` palette indices."""
    registers = "".join(f"#{index};2;{_percent(_PALETTE[index])}" for index in sorted(set(indices)))
    rows = [indices[y * width : (y + 1) * width] for y in range(height)]
    bands = "-".join(_band(rows[top : top + _BAND], width) for top in range(0, height, _BAND))
    return f'\x1bPq"1;1;{width};{height}{registers}{bands}\x1b\\'


def _percent(colour: tuple[int, int, int]) -> str:
    """A colour as sixel's colour registers take it: `r;g;b` in percent."""
    return ";".join(str(round(value * 100 / 255)) for value in colour)


def _band(rows: list[bytes], width: int) -> str:
    """Six rows (or fewer, at the bottom): one line of sixels for each colour in them, `$` between."""
    lines = []
    for index in sorted(set().union(*rows)):
        bits = 0
        for row_number, row in enumerate(rows):
            bits |= int.from_bytes(row.translate(_mask(index, row_number)), "big")
        line = bits.to_bytes(width, "big").translate(_CHARACTERS).rstrip(b"?")  # `?` is no pixel: the end needs none
        lines.append(f"#{index}" + _RUN.sub(_repeat, line).decode("ascii"))
    return "$".join(lines)


@cache
def _mask(index: int, row_number: int) -> bytes:
    """A translation table: palette index `index` to the bit of row `row_number` in a sixel, any other to 0."""
    return bytes(index) + bytes([1 << row_number]) + bytes(255 - index)


def _repeat(run: re.Match[bytes]) -> bytes:
    """A run of one sixel character as `!count` and the character."""
    return b"!%d%c" % (len(run[0]), run[0][0])


def sixel(pixels: Pixels, max_width: int) -> str:
    """`pixels` drawn in sixel at most `max_width` pixels wide."""
    shown = _fit(_rgba(pixels), max_width)
    return _encode(_quantise(shown), shown.width, shown.height)

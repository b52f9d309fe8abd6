"""A sixel reader for tests: what a terminal would draw from a sixel image (https://vt100.net/docs/vt3xx-gp/chapter14.html)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_START = re.compile(r'\x1bPq"1;1;(\d+);(\d+)')
_TOKEN = re.compile(r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?|!(\d+)([?-~])|([?-~])|(\$)|(-)|(\x1b\\)|(.)", re.DOTALL)


@dataclass
class Sixel:
    """A sixel image read back: its declared size, its colour registers (RGB in percent), and each pixel's register."""

    width: int
    height: int
    registers: dict[int, tuple[int, int, int]]
    pixels: list[list[int | None]]
    rest: str  # what followed the terminator `ESC \`

    def colours(self) -> list[list[tuple[int, int, int] | None]]:
        """Each pixel's colour (RGB in percent); None where no sixel set it."""
        return [[None if pixel is None else self.registers[pixel] for pixel in row] for row in self.pixels]


def read_sixel(text: str) -> Sixel:
    """Read the sixel image at the start of `text`; raise ValueError on anything a terminal would not take."""
    start = _START.match(text)
    if start is None:
        raise ValueError(f"no sixel header with raster attributes: {text[:20]!r}")
    width, height = int(start[1]), int(start[2])
    image = Sixel(width, height, {}, [[None] * width for _ in range(height)], "")
    colour, x, top = 0, 0, 0
    for token in _TOKEN.finditer(text, start.end()):
        number, red, green, blue, count, repeated, single, back, down, end, other = token.groups()
        if other is not None:
            raise ValueError(f"not sixel data: {other!r}")
        if end is not None:
            image.rest = text[token.end() :]
            return image
        if number is not None and red is not None:
            image.registers[int(number)] = (int(red), int(green), int(blue))
        if number is not None:
            colour = int(number)
        elif back is not None or down is not None:
            x, top = 0, top + (6 if down else 0)
        else:
            times, character = (int(count), repeated) if count else (1, single)
            for offset in range(times):
                _draw(image, colour, x + offset, top, ord(character) - 63)
            x += times
    raise ValueError("no terminator ESC \\")


def _draw(image: Sixel, colour: int, x: int, top: int, bits: int) -> None:
    """Set the pixels of one sixel: bit k is the pixel k rows below the band's top."""
    for row in range(6):
        if bits >> row & 1:
            image.pixels[top + row][x] = colour

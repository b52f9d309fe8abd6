"""Figures on sixel terminals: the PNG decoder, the sixel encoder (read back as a terminal would), the terminal's
answer to the device-attributes query, and its cell width."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import termios
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sixels import read_sixel

from interpreter.messages import Figure
from interpreter.ui.images import CELL_WIDTH, ImageProtocol, answered, cell_width, inline_image
from interpreter.ui.png import MAX_PIXELS, Pixels, decode
from interpreter.ui.sixel import sixel

# ---- PNG files made here, as the format says (https://www.w3.org/TR/png/) -------------------------------------------


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_file(width: int, height: int, filtered: bytes, *, colour: int = 6, depth: int = 8, interlace: int = 0) -> bytes:
    """A PNG of these IHDR fields whose image data is `filtered` (rows with their filter bytes), compressed."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(filtered)) + chunk(b"IEND", b"")


def paeth(left: int, above: int, corner: int) -> int:
    guess = left + above - corner
    return min((left, above, corner), key=lambda value: abs(guess - value))  # ties: left, then above (section 9.4)


def filtered_row(kind: int, row: bytes, prior: bytes, step: int) -> bytes:
    """`row` through PNG filter `kind` (section 9.2), written the obvious way, byte by byte."""
    out = bytearray([kind])
    for index, value in enumerate(row):
        left = row[index - step] if index >= step else 0
        corner = prior[index - step] if index >= step else 0
        predicted = [0, left, prior[index], (left + prior[index]) // 2, paeth(left, prior[index], corner)][kind]
        out.append((value - predicted) & 255)
    return bytes(out)


def filtered(pixels: Pixels, kinds: Iterator[int]) -> bytes:
    stride = pixels.width * pixels.channels
    rows = [pixels.data[start : start + stride] for start in range(0, len(pixels.data), stride)]
    priors = [bytes(stride), *rows[:-1]]
    return b"".join(
        filtered_row(next(kinds), row, prior, pixels.channels) for row, prior in zip(rows, priors, strict=True)
    )


def gradient(width: int, height: int, channels: int) -> Pixels:
    """Pixels whose every byte differs from its neighbours, so that each filter has work to do."""
    data = bytes(
        (x * 7 + y * 13 + channel * 61 + x * y) & 255
        for y in range(height)
        for x in range(width)
        for channel in range(channels)
    )
    return Pixels(width, height, channels, data)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
def test_every_row_filter_is_undone(kind: int, channels: int) -> None:
    picture = gradient(9, 5, channels)
    colour = {3: 2, 4: 6}[channels]

    assert decode(png_file(9, 5, filtered(picture, iter([kind] * 5)), colour=colour)) == picture


def test_rows_of_different_filters_and_several_data_chunks_are_read() -> None:
    picture = gradient(30, 10, 4)
    compressed = zlib.compress(filtered(picture, iter([4, 2, 1, 3, 0, 4, 4, 2, 3, 1])))
    header = struct.pack(">IIBBBBB", 30, 10, 8, 6, 0, 0, 0)
    idats = b"".join(chunk(b"IDAT", compressed[start : start + 50]) for start in range(0, len(compressed), 50))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"tEXt", b"k\x00v") + idats + chunk(b"IEND", b"")

    assert decode(png) == picture


def test_a_matplotlib_figure_decodes_to_the_pixels_it_drew(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib", reason="matplotlib (a dev dependency) draws the figure")
    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415 - after choosing the backend

    figure = pyplot.figure(figsize=(3.2, 2.4), dpi=100)
    pyplot.plot([1, 3, 2], color="tab:orange")
    pyplot.title("sales")
    figure.savefig(tmp_path / "figure.png")
    drawn = bytes(figure.canvas.buffer_rgba())  # type: ignore[attr-defined]  # Agg's canvas has it
    pyplot.close(figure)

    decoded = decode((tmp_path / "figure.png").read_bytes())

    assert decoded == Pixels(320, 240, 4, drawn)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"colour": 3}, "palette"),
        ({"depth": 16}, "16 bits a channel"),
        ({"colour": 0}, "grey"),
        ({"interlace": 1}, "interlaced"),
    ],
)
def test_kinds_of_png_that_figures_are_not_are_not_decoded(fields: dict[str, int], why: str) -> None:
    assert decode(png_file(2, 2, bytes(2 * 9), **fields)) is None, why


def test_a_damaged_a_cut_or_a_huge_png_is_not_decoded() -> None:
    good = png_file(4, 4, filtered(gradient(4, 4, 4), iter([4] * 4)))
    unknown_filter = png_file(4, 4, b"\x07" + bytes(16) + b"\x00" * 51)
    huge = png_file(MAX_PIXELS, 2, b"")  # the header alone is enough to refuse it

    assert decode(good) is not None
    assert decode(good[:60]) is None
    assert decode(good.replace(b"IDAT", b"IDAT\x00\x01", 1)) is None
    assert decode(unknown_filter) is None
    assert decode(huge) is None
    assert decode(b"GIF89a") is None


# ---- sixel --------------------------------------------------------------------------------------------------------


def solid(width: int, height: int, *pixel: int) -> Pixels:
    return Pixels(width, height, len(pixel), bytes(pixel) * width * height)


def test_a_picture_reads_back_as_the_same_picture_in_the_nearest_palette_colours() -> None:
    red_pixel, grey_pixel = bytes([255, 0, 0]), bytes([128, 128, 128])
    rows = [
        red_pixel * 10 + grey_pixel * 3,
        grey_pixel * 13,
        red_pixel * 13,
        *[grey_pixel * 13] * 5,
        red_pixel * 13,
    ]  # 9 rows: two bands, one short
    drawn = read_sixel(sixel(Pixels(13, 9, 3, b"".join(rows)), max_width=100))

    assert (drawn.width, drawn.height, drawn.rest) == (13, 9, "")
    assert sorted(drawn.registers.values()) == [(50, 50, 50), (100, 0, 0)]  # only the colours used are defined
    red, grey = (100, 0, 0), (50, 50, 50)
    assert drawn.colours() == [
        [red] * 10 + [grey] * 3,
        [grey] * 13,
        [red] * 13,
        *[[grey] * 13] * 5,
        [red] * 13,
    ]


def test_repeated_columns_are_run_length_encoded() -> None:
    encoded = sixel(solid(500, 6, 0, 0, 255), max_width=1000)

    assert encoded == '\x1bPq"1;1;500;6#5;2;0;0;100#5!500~\x1b\\'


def test_transparency_is_laid_on_white() -> None:
    half_black = solid(2, 1, 0, 0, 0, 128)
    clear_red = solid(2, 1, 255, 0, 0, 0)

    assert set(read_sixel(sixel(half_black, 10)).registers.values()) == {(50, 50, 50)}  # grey 128 of the ramp
    assert set(read_sixel(sixel(clear_red, 10)).registers.values()) == {(100, 100, 100)}


def test_a_picture_wider_than_the_terminal_is_scaled_down_keeping_its_aspect_ratio() -> None:
    left_black_right_white = Pixels(800, 600, 3, (bytes(3) * 400 + bytes([255]) * 3 * 400) * 600)

    drawn = read_sixel(sixel(left_black_right_white, max_width=400))

    assert (drawn.width, drawn.height) == (400, 300)
    colours = drawn.colours()
    assert {colours[0][0], colours[150][199]} == {(0, 0, 0)}
    assert {colours[150][200], colours[299][399]} == {(100, 100, 100)}  # the edge stays in the middle


def test_a_sixel_terminal_gets_the_figure_file_drawn_and_other_files_linked(tmp_path: Path) -> None:
    path = tmp_path / "figure-1.png"
    path.write_bytes(png_file(4, 2, filtered(solid(4, 2, 0, 128, 0), iter([1, 2])), colour=2))
    palette_png = tmp_path / "figure-2.png"
    palette_png.write_bytes(png_file(4, 2, bytes(10), colour=3))

    drawn = inline_image(Figure(1, str(path), 4, 2), ImageProtocol.SIXEL, width=80)

    assert drawn is not None
    assert read_sixel(drawn).colours() == [[(0, 60, 0)] * 4] * 2  # green 128 is the cube's 153: 60%
    assert inline_image(Figure(2, str(palette_png), 4, 2), ImageProtocol.SIXEL, width=80) is None


def test_a_figure_is_drawn_no_wider_than_the_columns_times_the_cell_width(tmp_path: Path) -> None:
    path = tmp_path / "figure-1.png"
    path.write_bytes(png_file(100, 10, filtered(solid(100, 10, 9, 9, 9), iter([2] * 10)), colour=2))

    drawn = inline_image(Figure(1, str(path), 100, 10), ImageProtocol.SIXEL, width=5, cell_pixels=8)

    assert drawn is not None and read_sixel(drawn).width == 40


# ---- the terminal ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"\x1b[?62;4;22c", ImageProtocol.SIXEL),  # foot
        (b"\x1b[?63;1;2;3;4;6;9;15;16;22;28c", ImageProtocol.SIXEL),  # xterm -ti vt340
        (b"\x1b[?65;1;9c", ImageProtocol.NONE),  # xterm's default
        (b"\x1b[?62;14;22c", ImageProtocol.NONE),  # 14 is not 4
        (b"\x1b[?1;4c", ImageProtocol.NONE),  # a VT100's options (4: its graphics processor), not a list
        (b"\x1b_Gi=31;OK\x1b\\\x1b[?62;4;22c", ImageProtocol.KITTY),  # kitty's protocol first
        (b"", ImageProtocol.NONE),  # no answer in time
    ],
)
def test_the_device_attributes_answer_says_whether_the_terminal_draws_sixel(
    answer: bytes, expected: ImageProtocol
) -> None:
    assert answered(answer) is expected


def test_the_cell_width_is_what_the_terminal_tells_the_kernel_else_ten_pixels() -> None:
    leader, follower = os.openpty()
    try:
        fcntl.ioctl(leader, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 700, 480))  # 7 px a column
        with open(follower, "w", closefd=False) as tty:
            told = cell_width(tty)
        fcntl.ioctl(leader, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # no pixels said
        with open(follower, "w", closefd=False) as tty:
            untold = cell_width(tty)
    finally:
        os.close(leader)
        os.close(follower)

    assert (told, untold) == (7, CELL_WIDTH)
    assert cell_width(io.StringIO()) == CELL_WIDTH

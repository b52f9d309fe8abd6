"""A small PNG decoder for the pictures matplotlib saves: 8-bit RGB or RGBA, not interlaced; anything else is None.

The PNG format (https://www.w3.org/TR/png/): an 8-byte signature, then chunks (length, type, data, CRC); IHDR first,
the image data zlib-compressed across the IDAT chunks, each row preceded by the byte of the filter it went through
(section 7.3). Rows of the filters "None", "Sub" and "Up" are undone with whole-row operations in C (most rows of a
figure are "Up": the row above, unchanged); "Average" and "Paeth" need a loop over the row's bytes in Python.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from itertools import accumulate

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 2_000_000  # a bigger picture is linked, not drawn: decoding it would take a second or more
_CHANNELS = {2: 3, 6: 4}  # colour type: RGB, RGBA (section 11.2.2); palette and grey are not what figures are
_IHDR = struct.Struct(">IIBBBBB")


@dataclass(frozen=True)
class Pixels:
    """A decoded picture: `height` rows of `width` pixels of `channels` bytes (RGB or RGBA), row after row."""

    width: int
    height: int
    channels: int
    data: bytes


def decode(png: bytes) -> Pixels | None:
    """The pixels of `png`; None when it is not a PNG this decoder reads (or is too big, or damaged)."""
    if not png.startswith(SIGNATURE):
        return None
    try:
        header, compressed = _chunks(png)
        return _pixels(header, compressed)
    except (struct.error, zlib.error, ValueError):  # a file cut short or damaged: linked, not drawn
        return None


def _chunks(png: bytes) -> tuple[bytes, bytes]:
    """The IHDR chunk's data and every IDAT chunk's data joined."""
    offset, header, compressed = len(SIGNATURE), b"", []
    while offset < len(png):
        length, kind = struct.unpack_from(">I4s", png, offset)
        data = png[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            compressed.append(data)
        elif kind == b"IEND":
            break
        offset += 12 + length
    return header, b"".join(compressed)


def _pixels(header: bytes, compressed: bytes) -> Pixels | None:
    """The unfiltered rows the header describes; None for a kind of PNG not read here."""
    width, height, depth, colour, _, _, interlace = _IHDR.unpack(header)
    channels = _CHANNELS.get(colour)
    if channels is None or depth != 8 or interlace != 0 or not 0 < width * height <= MAX_PIXELS:
        return None
    stride = width * channels
    raw = zlib.decompressobj().decompress(compressed, (stride + 1) * height)  # never more than the picture holds
    if len(raw) != (stride + 1) * height:
        return None
    rows, prior = [], bytes(stride)
    for start in range(0, len(raw), stride + 1):
        prior = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], prior, channels)
        rows.append(prior)
    return Pixels(width, height, channels, b"".join(rows))


def _unfilter(kind: int, row: bytes, prior: bytes, step: int) -> bytes:
    """One row as it was before filter `kind` (section 9.2), given the row above; `step` bytes a pixel."""
    if kind == 0:
        return row
    if kind == 1:
        return _sub(row, step)
    if kind == 2:
        return _add(row, prior)
    if kind == 3:
        return _average(row, prior, step)
    if kind == 4:
        return _paeth(row, prior, step)
    raise ValueError(f"PNG filter type {kind}")


def _add(row: bytes, prior: bytes) -> bytes:
    """Byte after byte, `row` + `prior` modulo 256, done on two big integers (no carry crosses a byte)."""
    high = int.from_bytes(b"\x80" * len(row), "big")
    a, b = int.from_bytes(row, "big"), int.from_bytes(prior, "big")
    return (((a & ~high) + (b & ~high)) ^ ((a ^ b) & high)).to_bytes(len(row), "big")


def _sub(row: bytes, step: int) -> bytes:
    """Undo "Sub": each byte plus the one a pixel to its left; a running sum along each channel."""
    out = bytearray(len(row))
    for channel in range(step):
        out[channel::step] = bytes(map((255).__and__, accumulate(row[channel::step])))
    return bytes(out)


def _average(row: bytes, prior: bytes, step: int) -> bytes:
    """Undo "Average": each byte plus the mean of the byte to its left and the one above."""
    out = bytearray(step) + row  # a zero pixel to the left of the first
    for index, above in enumerate(prior, start=step):
        out[index] = (out[index] + ((out[index - step] + above) >> 1)) & 255
    return bytes(out[step:])


def _paeth(row: bytes, prior: bytes, step: int) -> bytes:
    """Undo "Paeth": each byte plus whichever of left, above and above-left is nearest to left + above - above-left."""
    out = bytearray(step) + row
    up = bytes(step) + prior
    for index in range(step, len(out)):
        left, above, corner = out[index - step], up[index], up[index - step]
        if above == corner:  # the guess is `left` itself: the common case under a flat row, done first
            out[index] = (out[index] + left) & 255
            continue
        to_left, to_above = above - corner, left - corner  # the guess's distances, without computing the guess
        to_corner, to_left, to_above = abs(to_left + to_above), abs(to_left), abs(to_above)
        if to_left <= to_above and to_left <= to_corner:
            nearest = left
        elif to_above <= to_corner:
            nearest = above
        else:
            nearest = corner
        out[index] = (out[index] + nearest) & 255
    return bytes(out[step:])

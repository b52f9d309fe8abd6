"""Pictures the person attaches to a task (`-i FILE`, `%image FILE`): checked when attached, read when sent.

A picture is told by its bytes, not its name: PNG, JPEG, GIF or WebP (their magic numbers), a regular file of at
most MAX_PICTURE_BYTES (OpenAI takes up to 20 MB an image). The conversation keeps its path and SHA-256, never the
bytes: each request reads the file again, and sends it only while it still holds those bytes (gone or changed, a
note goes in its place). Past LONG_SIDE pixels on its long side it is scaled down where Pillow is installed
(imported only then: it is not a dependency), else sent as it is, with a note when it is attached.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

from interpreter.errors import ConfigError, FileRefused
from interpreter.messages import Picture
from interpreter.model.vision import takes_images
from interpreter.trust.regular_files import read_regular, size_text

MAX_PICTURE_BYTES: Final = 20 * 1024 * 1024
LONG_SIDE: Final = 2048  # pixels: OpenAI scales a bigger picture down to fit 2048 x 2048 anyway
# The magic numbers of the formats models take, and their MIME types.
_KINDS: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
Part = Literal["text", "image"]  # what a task's pictures add to it: text, or a picture as a data URL
_JPEG_FRAMES: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF markers: not DHT, JPG, DAC


@dataclass(frozen=True)
class Attached:
    """A picture as attached: what the conversation keeps, its size, and a note when it is sent as it is."""

    picture: Picture
    size: int  # bytes
    note: str = ""

    @property
    def line(self) -> str:
        """`attached chart.png (12.0 kB) to the next task`."""
        return f"attached {self.picture.path} ({size_text(self.size)}) to the next task"


def attach(path: Path, model: str, images: bool | None = None) -> Attached:
    """`path` checked and read as a picture to send to `model` (`images`: the setting); ConfigError when that model
    is not sent pictures, FileRefused saying why when the file cannot be one."""
    if not takes_images(model, images):
        raise ConfigError(
            f"{model} is not sent pictures, so it cannot see {path}; nothing was sent: use a model that takes images "
            f"(-m gpt-4o), or set images = true if {model} does"
        )
    data = read_regular(path, limit=MAX_PICTURE_BYTES)
    mime = kind(data)
    if mime is None:
        raise FileRefused(f"{path} is not a PNG, JPEG, GIF or WebP picture (by its first bytes): nothing was sent")
    picture = Picture(str(path.absolute()), hashlib.sha256(data).hexdigest())
    return Attached(picture, len(data), _as_is(path, data, mime))


def kind(data: bytes) -> str | None:
    """The MIME type of a picture in `data`, told by its first bytes; None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _KINDS if data.startswith(magic)), None)


def parts(pictures: Sequence[Picture], *, send: bool) -> list[tuple[Part, str]]:
    """What a task's `pictures` add to it, in order: for each, its path named and its data URL (`send`: the model is
    sent pictures), or a note in its place saying why it is not sent."""
    shown: list[tuple[Part, str]] = []
    for picture in pictures:
        try:
            url = data_url(picture) if send else None
        except FileRefused as exc:
            shown.append(("text", _note(picture, str(exc))))
            continue
        if url is None:
            shown.append(("text", _note(picture, "this model is not sent pictures")))
        else:
            shown += [("text", f"Attached picture: {picture.path}"), ("image", url)]
    return shown


def data_url(picture: Picture) -> str:
    """`picture` as sent: a data URL of its bytes (scaled down past LONG_SIDE where Pillow is installed); FileRefused
    saying why when its file is gone, or no longer holds the bytes attached."""
    try:
        status = os.stat(picture.path)
    except OSError as exc:
        raise FileRefused(f"the file is gone ({exc.strerror})") from exc
    return _url(picture, (status.st_ino, status.st_size, status.st_mtime_ns))


def _note(picture: Picture, reason: str) -> str:
    """The text sent in the place of a picture that is not sent."""
    return f"[The picture {picture.path} was attached here; it is not sent: {reason}.]"


@lru_cache(maxsize=8)  # each request sends every picture of the conversation again; 8 of 27 MB at most in memory
def _url(picture: Picture, stamp: tuple[int, int, int]) -> str:
    """The data URL of `picture` while its file has `stamp` (inode, size, mtime): read, checked, scaled once."""
    data = read_regular(picture.path, limit=MAX_PICTURE_BYTES)
    if hashlib.sha256(data).hexdigest() != picture.sha256:
        raise FileRefused("the file has changed since it was attached")
    mime = kind(data) or "application/octet-stream"
    scaled = _scaled(data, mime) if _too_big(dimensions(data, mime)) else None
    mime, data = scaled or (mime, data)
    return f"data:{mime};base64,{base64.standard_b64encode(data).decode('ascii')}"


def _as_is(path: Path, data: bytes, mime: str) -> str:
    """What the person is told of a picture that is sent bigger than LONG_SIDE: Pillow is not there to scale it."""
    size = dimensions(data, mime)
    if not _too_big(size) or _pillow_installed():
        return ""
    width, height = size or (0, 0)
    return f"{path} is {width} x {height} px, sent as it is (pip install pillow to have it scaled to {LONG_SIDE} px)"


def _too_big(size: tuple[int, int] | None) -> bool:
    return size is not None and max(size) > LONG_SIDE


def _pillow_installed() -> bool:
    try:
        import PIL  # noqa: F401, PLC0415 - optional, and only wanted for a big picture
    except ImportError:
        return False
    return True


def _scaled(data: bytes, mime: str) -> tuple[str, bytes] | None:
    """The picture scaled to fit LONG_SIDE, as PNG (JPEG stays JPEG); None without Pillow, or when it cannot."""
    try:
        from PIL import Image  # noqa: PLC0415 - optional, and ~50 ms to import
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((LONG_SIDE, LONG_SIDE))
            jpeg = mime == "image/jpeg"
            shrunk = image.convert("RGB") if jpeg and image.mode not in ("RGB", "L") else image
            out = io.BytesIO()
            shrunk.save(out, "JPEG" if jpeg else "PNG")
    except (OSError, ValueError, Image.DecompressionBombError):  # a picture Pillow cannot read goes as it is
        return None
    return ("image/jpeg" if jpeg else "image/png"), out.getvalue()


def dimensions(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) in pixels from a picture's header; None when the header does not say."""
    if mime == "image/png" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if mime == "image/gif" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if mime == "image/jpeg":
        return _jpeg_dimensions(data)
    if mime == "image/webp":
        return _webp_dimensions(data)
    return None


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """A JPEG's size, from its first frame header (SOFn: height, then width), walking the segments before it."""
    at = 2
    while at + 9 <= len(data) and data[at] == 0xFF:
        marker, length = data[at + 1], int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _JPEG_FRAMES:
            return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(data[at + 5 : at + 7], "big")
        at += 2 + length
    return None


def _webp_dimensions(data: bytes) -> tuple[int, int] | None:
    """A WebP's size from its first chunk: lossy (VP8), lossless (VP8L) or extended (VP8X)."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None

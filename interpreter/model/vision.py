"""Pictures the model can look at: which models take images, and a saved figure as an image part of a request.

The conversation keeps a figure's path, never its bytes: the part is read from the file when a request is formed.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, Final

from interpreter.execution.figures import read_figure

# Models known to take image parts, matched at the start of the lower-case name without any "provider/" part; the
# first match wins, so an exception comes before the family it belongs to. An unknown model is sent no images (a
# settings file's `images = true` sends them anyway).
KNOWN_SIGHT: Final[tuple[tuple[str, bool], ...]] = (
    (r"o1-(mini|preview)|o3-mini|gpt-4o-(audio|realtime)", False),
    (r"gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-4-turbo|gpt-4-vision|gpt-5|o1|o3|o4", True),
    (r"claude-(2|instant)", False),
    (r"claude|gemini", True),
    (r"(bak)?llava|qwen[\d.]*-vl|llama3\.2-vision|llama-3\.2-\d+b-vision|pixtral|minicpm-v|moondream|internvl", True),
)
MAX_IMAGE_BYTES: Final = 4 * 1024 * 1024  # a bigger file is named by its path only (OpenAI takes up to 20 MB a request)
IMAGE_TOKENS: Final = 800  # what one image part is counted as: about a 1024 x 768 picture at OpenAI's high detail


def takes_images(model: str, setting: bool | None = None) -> bool:
    """Whether `model` is sent its figures as images: as the `images` setting says, else as the table knows it."""
    if setting is not None:
        return setting
    name = model.lower().rsplit("/", 1)[-1]
    return next((sees for pattern, sees in KNOWN_SIGHT if re.match(pattern, name)), False)


def image_part(path: str, folder: Path) -> dict[str, Any] | None:
    """The PNG file at `path` as an `image_url` part with a data URL; None when it is gone, too large, not a PNG, or
    not beneath `folder` (where figures are kept: a conversation file names any path it likes, and only the tool's
    own figures may go to the server)."""
    file = Path(path)
    try:
        if not file.resolve().is_relative_to(folder.resolve()):
            return None
    except OSError:
        return None
    data = read_figure(file, MAX_IMAGE_BYTES)  # a regular file, not a link: a cell may have swapped it for /dev/zero
    if data is None:
        return None
    url = "data:image/png;base64," + base64.standard_b64encode(data).decode("ascii")
    return {"type": "image_url", "image_url": {"url": url}}

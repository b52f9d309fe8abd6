"""The screen: one renderer owns the terminal (Rich on a tty, plain text on pipes)."""

from interpreter.ui.renderer import Renderer, make_renderer

__all__ = ["Renderer", "make_renderer"]

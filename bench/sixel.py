"""How long a figure takes to draw on a sixel terminal, measured in one run.

    python bench/sixel.py [--runs N]

For a 640x480 matplotlib figure (two lines, a scatter, a grid) and for one of 1600x1250 (2,000,000 pixels, the
largest drawn rather than linked): decoding its PNG and encoding it as sixel for a 99-column terminal of 10-pixel
cells (990 pixels: the big one is scaled down) and for one of 249 columns (the big one at full size, the worst case).
The figure is drawn while the session waits, so the budget is absolute: well under a second (target: half of it).
Beside it, for scale, matplotlib saving the same figure as PNG, which the cell has paid already.
"""

from __future__ import annotations

import argparse
import io
from functools import partial

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from measure import median_seconds, report

from interpreter.ui.png import decode
from interpreter.ui.sixel import sixel

SIZES = {"640x480": (6.4, 4.8), "1600x1250": (16.0, 12.5)}


def figure_png(inches: tuple[float, float]) -> tuple[Figure, bytes]:
    """A typical figure of this size at 100 dpi, and its PNG."""
    figure = plt.figure(figsize=inches, dpi=100)
    xs = [step / 50 for step in range(500)]
    plt.plot(xs, [x % 3 for x in xs])
    plt.plot(xs, [(x * x) % 5 for x in xs])
    plt.scatter(xs[::10], [x % 2 for x in xs[::10]])
    plt.grid()
    plt.title("bench")
    return figure, saved(figure)


def saved(figure: Figure) -> bytes:
    """The figure as matplotlib saves it."""
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def draw(png: bytes, max_width: int) -> None:
    """Decode and encode, as a sixel terminal's figure is drawn."""
    pixels = decode(png)
    assert pixels is not None
    sixel(pixels, max_width)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    for name, inches in SIZES.items():
        figure, png = figure_png(inches)
        saving = median_seconds(partial(saved, figure), runs)
        print(f"matplotlib saves {name} in {saving * 1000:.0f} ms")
        for columns in (99, 249):
            measured = median_seconds(partial(draw, png, columns * 10), runs)
            report(f"sixel {name} in {columns} cols", measured, "one second", 1.0, 0.5, ms=True)
        plt.close(figure)


if __name__ == "__main__":
    main()

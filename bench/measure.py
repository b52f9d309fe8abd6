"""What every bench shares: a median of timed runs, and one report line with a ratio and a verdict."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """Median wall time of `action` over `runs` runs (after one warm-up run)."""
    times = []
    for index in range(runs + 1):
        start = time.perf_counter()
        action()
        if index:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(name: str, measured: float, baseline_name: str, baseline: float, target: float, *, ms: bool = False) -> None:
    """One line: the figure, its baseline, the ratio and whether it meets the target."""
    scale, unit = (1000, "ms") if ms else (1, "s")
    ratio = measured / baseline
    verdict = "ok" if ratio <= target else "OVER TARGET"
    figures = f"{measured * scale:8.3f} {unit}   {baseline_name:<20} {baseline * scale:8.3f} {unit}   {ratio:5.2f}x"
    print(f"{name:<30} {figures}  (target {target}x: {verdict})")

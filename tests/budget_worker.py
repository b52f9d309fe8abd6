"""A session of its own process asking the shared budget for one turn, as a real session's limiter does.

    python tests/budget_worker.py STORE HOME KEY NAME TOKENS

STORE is "sqlite" or a redis:// URL. Prints `queued NAME` once it holds a place in line (or `granted NAME` at once),
then asks again as its wait allows, every RECHECK seconds at most, and prints `granted NAME TIME` when its turn
comes (TIME: the wall clock, seconds).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from interpreter.resilience.shared.ledger import RECHECK
from interpreter.resilience.shared.store import open_store


def main(setting: str, home: str, key: str, name: str, tokens: str) -> None:
    store = open_store(setting, Path(home))
    assert store is not None, "the worker needs a store"
    turn = store.reserve(key, name, int(tokens))
    if not turn.granted:
        print(f"queued {name}", flush=True)
    while not turn.granted:
        time.sleep(min(turn.wait, RECHECK))
        turn = store.reserve(key, name, int(tokens))
    print(f"granted {name} {time.time():.3f}", flush=True)
    store.close()


if __name__ == "__main__":
    main(*sys.argv[1:])

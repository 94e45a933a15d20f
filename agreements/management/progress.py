"""Progress for long management commands: rows done of the total, the rate and the time left, on
one rewritten line when the output is a terminal; nothing in a log (CI, cron), which gets the
command's summary only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def terminal_progress(stream: TextIO, what: str) -> Callable[[int, int], None]:
    """A `progress(done, total)` callback writing to `stream` when it is a terminal."""
    started = time.monotonic()
    on_terminal = stream.isatty()

    def progress(done: int, total: int) -> None:
        if not on_terminal:
            return
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed else 0.0
        left = (total - done) / rate if rate else 0.0
        end = "\n" if done >= total else ""
        stream.write(f"\r  {done:,} / {total:,} {what}, {rate:,.0f}/s, {left:,.0f} s left{end}")
        stream.flush()

    return progress

"""Progress lines that reach the dbt console and logs/dbt.log when running inside dbt.

:func:`dbt_progress` makes the logging callable; :class:`Progress` turns long work into lines naming the
stage, the rows (or steps) done out of the total, the time elapsed and an estimate of the time left,
written at most every ``every_s`` seconds (and always at the first and last update).
"""

from __future__ import annotations

import time
from collections.abc import Callable

Say = Callable[[str], None]


def dbt_progress(prefix: str) -> Say:
    """A callable that logs one line through dbt's own logger (console + dbt.log, with a timestamp).

    dbt-duckdb runs Python models inside the dbt process, where `print` reaches the console only; an
    event fired through dbt's logger is also written to logs/dbt.log. Outside dbt it falls back to print.
    """
    try:
        from dbt_common.events.functions import fire_event
        from dbt_common.events.types import Note
    except ImportError:  # pragma: no cover - dbt is always installed with this project
        fire_event = None

    def say(message: str) -> None:
        line = f"{prefix}: {message}"
        if fire_event is None:
            print(line, flush=True)
        else:
            fire_event(Note(msg=line))

    return say


def quiet(message: str) -> None:
    """A progress callable that says nothing (the default outside dbt)."""


def duration(seconds: float) -> str:
    """Seconds in words: "42 s", or "3 min 05 s" from 90 s on."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"


class Progress:
    """Progress of one stage of `total` units (rows or steps): ``update(done)`` logs "stage: done of total
    units, elapsed, about T left" through `say`, at most every `every_s` seconds; the estimate assumes
    the remaining units go at the rate of those done so far."""

    def __init__(
        self,
        say: Say | None,
        stage: str,
        total: int,
        unit: str = "rows",
        every_s: float = 5.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.say = say or quiet
        self.stage = stage
        self.total = max(0, int(total))
        self.unit = unit
        self.every_s = every_s
        self.clock = clock
        self.started = clock()
        self._last = -float("inf")
        self.done = 0

    def line(self, done: int, note: str = "") -> str:
        """The progress line for `done` units (no logging)."""
        elapsed = self.clock() - self.started
        text = f"{self.stage}: {done:,} of {self.total:,} {self.unit}, {duration(elapsed)} elapsed"
        if 0 < done < self.total:
            text += f", about {duration(elapsed / done * (self.total - done))} left"
        if note:
            text += f" ({note})"
        return text

    def update(self, done: int, note: str = "") -> None:
        """Record `done` units; log a line when `every_s` has passed since the last one, or at the end."""
        self.done = int(done)
        now = self.clock()
        if self.done >= self.total or self.done == 0 or now - self._last >= self.every_s:
            self._last = now
            self.say(self.line(self.done, note))

    def step(self, note: str = "") -> None:
        """One more unit done (for stages counted in steps); logs every step that passes `every_s`."""
        self.update(self.done + 1, note)

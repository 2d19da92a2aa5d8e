"""Progress of long SQL queries in the dbt log, as the Python models report theirs.

dbt logs a SQL model when it starts and when it ends, nothing in between: at 1,000,000 customers a feature
model runs for a minute with no line. DuckDB counts how much of a query's input it has read (its progress
bar; profiles.yml turns it on with the printing off). A thread of the dbt process (started by the
project's dbt-duckdb plugin) looks at each of dbt's connections every `POLL_S` seconds and, for a query
that has run `AFTER_S` seconds or more, writes a line every `INTERVAL_S` seconds (both 15, or the
environment variable SEGMENTATION_SQL_PROGRESS_S; SEGMENTATION_SQL_PROGRESS_POLL_S sets the poll): the
node, the share of its input read, the time elapsed and an estimate of the time left, e.g.
"sql: int_customers_item_history: 42% of its input read, 24 s elapsed, about 33 s left". DuckDB's share
counts the input read, not the work after it (the last groups of an aggregate, the write): past 99% the
line says the query is finishing instead of guessing. The Python models are left out (they write their
own lines). Nothing here can fail a build: a look that raises is skipped, and a cursor is never read
while dbt-duckdb closes it (`guard_closes`).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path

from customer_ml.warehouse.progress import Say, dbt_progress, duration

POLL_S = 1.0
"""Seconds between two looks at the running queries."""
AFTER_S = 15.0
"""A query is reported once it has run this long (shorter ones never get a line)."""
INTERVAL_S = 15.0
"""Seconds between two lines about the same query."""
FINISHING = 99.0
"""Past this share of its input read, a query is said to be finishing, without an estimate."""

Running = Callable[[], Iterable[tuple[Hashable, str, float]]]
"""(connection key, node name, DuckDB's progress: 0-100, or -1 when no query runs) of each connection."""


_LOOK = threading.RLock()
"""Held while the watcher reads a cursor's progress and while dbt-duckdb closes a cursor or the database:
DuckDB's Python connection drops the GIL while it frees itself, and `query_progress` takes no lock of
its own, so without this a look could read a connection being freed."""


@dataclass
class _Query:
    node: str
    started: float
    progress: float
    moved: float
    moved_from: float
    said: float = -float("inf")


class SqlProgress:
    """The lines about the queries `running` reports, said through `say`; `poll` looks once."""

    def __init__(
        self,
        running: Running,
        say: Say,
        after_s: float = AFTER_S,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.running = running
        self.say = say
        self.after_s = after_s
        self.interval_s = interval_s
        self.clock = clock
        self._queries: dict[Hashable, _Query] = {}

    def poll(self) -> None:
        now = self.clock()
        seen: set[Hashable] = set()
        for key, node, progress in self.running():
            if progress < 0:
                continue
            query = self._queries.get(key)
            # Another node on the connection, or the share falling back: another query, started now (at
            # most a poll ago).
            if query is None or query.node != node or progress < query.progress - 1.0:
                query = self._queries[key] = _Query(node, now, progress, now, progress)
            query.progress = progress
            if progress >= query.moved_from + 0.5:
                query.moved, query.moved_from = now, progress
            seen.add(key)
            elapsed = now - query.started
            if elapsed >= self.after_s and now - query.said >= self.interval_s:
                # A share that has not moved for an interval (a sort, a window, an aggregate's groups
                # after the read) gives no estimate: it would only grow with the time elapsed.
                still = now - query.moved
                query.said = now
                self.say(line(node, progress, elapsed, still if still >= self.interval_s else None))
        for key in set(self._queries) - seen:
            del self._queries[key]


def line(node: str, progress: float, elapsed: float, stalled: float | None = None) -> str:
    """The progress line of a query of `node` that has read `progress` percent of its input; `stalled`:
    the seconds the share has not moved (None: it has)."""
    if progress >= FINISHING:
        return f"{node}: its input read, finishing, {duration(elapsed)} elapsed"
    text = f"{node}: {progress:.0f}% of its input read"
    if stalled is not None:
        text += f" (the same for {duration(stalled)}: working on what it read)"
        return f"{text}, {duration(elapsed)} elapsed"
    text += f", {duration(elapsed)} elapsed"
    if progress >= 1.0:
        text += f", about {duration(elapsed * (100.0 - progress) / progress)} left"
    return text


def python_model_names(*folders: Path) -> set[str]:
    """The names of the project's Python models (the files of python_models/), whose lines are their own."""
    for folder in folders:
        if (folder / "python_models").is_dir():
            return {path.stem for path in (folder / "python_models").rglob("*.py")}
    return set()


def dbt_queries(skip: set[str]) -> Iterable[tuple[Hashable, str, float]]:
    """(key, node name, progress) of each open connection of the dbt process's adapters, read from dbt's
    connection manager and dbt-duckdb's cursor (the pinned versions of requirements.txt), the nodes in
    `skip` left out; nothing when dbt has no adapter."""
    from dbt.adapters.factory import FACTORY

    for adapter in list(FACTORY.adapters.values()):
        manager = adapter.connections
        with manager.lock:
            connections = list(manager.thread_connections.items())
        for key, connection in connections:
            name = (connection.name or "").split(".")
            node = name[2] if len(name) > 2 else ".".join(name)
            # `_handle`, not `handle`: reading `handle` opens a connection dbt has not opened yet, here, on
            # this thread, under the worker that owns it (two builds failed so: a seed's table not found,
            # a commit without a transaction).
            handle = getattr(connection, "_handle", None)
            cursor = getattr(getattr(handle, "_cursor", None), "_cursor", None)
            if node in skip or cursor is None or not hasattr(cursor, "query_progress"):
                continue
            try:
                with _LOOK:
                    progress = float(cursor.query_progress())
            except Exception:  # noqa: BLE001 - a connection already closed: no line
                continue
            yield key, node, progress


def _guarded(method: Callable) -> Callable:
    @functools.wraps(method)
    def guarded(*args: object, **kwargs: object) -> object:
        with _LOOK:
            return method(*args, **kwargs)

    guarded.look_guarded = True  # type: ignore[attr-defined]
    return guarded


def guard_closes() -> None:
    """Make dbt-duckdb's closes of a cursor and of the database wait for a look in progress (`_LOOK`)."""
    from dbt.adapters.duckdb.environments import local

    for cls in (local.DuckDBConnectionWrapper, local.LocalEnvironment):
        if not getattr(cls.close, "look_guarded", False):
            cls.close = _guarded(cls.close)


def _seconds(name: str, default: float, least: float) -> float:
    """A number of seconds from the environment variable `name` (its default when unset or unreadable)."""
    try:
        return max(least, float(os.environ.get(name, default)))
    except ValueError:
        return default


_started = threading.Lock()
_watcher: threading.Thread | None = None


def watch_dbt_queries(project_dir: Path | None = None) -> None:
    """Start, once per process, the thread that reports dbt's long SQL queries in the dbt log."""
    global _watcher
    with _started:
        if _watcher is not None:
            return
        folders = [p for p in (project_dir, Path.cwd(), Path(__file__).resolve().parents[3]) if p is not None]
        skip = python_model_names(*folders)
        every = _seconds("SEGMENTATION_SQL_PROGRESS_S", AFTER_S, 0.0)
        poll = _seconds("SEGMENTATION_SQL_PROGRESS_POLL_S", POLL_S, 0.01)
        guard_closes()
        progress = SqlProgress(lambda: dbt_queries(skip), dbt_progress("sql"), every, every)

        def loop() -> None:
            while True:
                try:
                    time.sleep(poll)
                    progress.poll()
                except Exception:  # noqa: BLE001, S110 - progress lines must never fail a build
                    pass

        _watcher = threading.Thread(target=loop, name="sql-progress", daemon=True)
        _watcher.start()

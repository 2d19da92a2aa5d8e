"""Progress lines that reach the dbt console and logs/dbt.log when running inside dbt."""

from __future__ import annotations

from collections.abc import Callable


def dbt_progress(prefix: str) -> Callable[[str], None]:
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

"""A SQL model's transaction that DuckDB aborts for want of memory runs again, once the work beside it has
had time to free some, instead of failing the build.

dbt runs two models at once on one DuckDB database, and DuckDB's memory limit (profiles.yml) is the whole
process's. Each large query fits in it alone: at 1,000,000 customers `int_transactions_risk` builds at a
limit of 1.2 GB and `int_order_lines` at 0.8 GB. Side by side their windows' and joins' hash tables take
2.3-2.7 GiB of the 3.7 GiB DuckDB may use (`duckdb_memory()` sampled each second during a build), so at an
unlucky moment neither can pin a block and both fail with "Out of Memory Error: failed to pin block" (one
1,000,000-customer build of 2026-12-06 stopped so; the same data built before and after it).

Raising the limit would raise the build's peak with it, toward the 8 GB target. Instead,
`DuckDBCursorWrapper.execute` of dbt-duckdb (the pinned 1.11, requirements.txt) is wrapped: when a
statement fails with DuckDB's `OutOfMemoryException`, the transaction it belongs to is rolled back and,
after a wait (`RETRY_DELAYS_S`), run again from its BEGIN, statement by statement, as dbt sent it; a
statement outside a transaction (a data test's query) runs again alone. Retries take a process-wide lock,
so two queries that failed together do not meet again. A retry is said in the dbt log. The SQL is the same
text on the same tables, so the table a retry writes is the one the first attempt would have written.

Not retried: any other error; a transaction that reads a Python model's result (dbt-duckdb registers it
as `__dbt_python_model_df_<name>`: a stream of batches may be read only once); and, outside a
transaction, a text of several statements (DuckDB commits each on its own, so those before the failed
one could not be undone). A transaction has two retries in all, whichever of its statements fails. The
project's Python models read through DuckDB relations, and write through dbt-duckdb's own cursors.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import duckdb

from customer_ml.warehouse.progress import dbt_progress

__all__ = ["RETRY_DELAYS_S", "install", "retrying_execute"]

RETRY_DELAYS_S = (10.0, 30.0)
"""Seconds waited before the second and the third attempt of a transaction DuckDB ran out of memory in;
after the third it fails as it would have."""

PYTHON_RESULT = "__dbt_python_model_df_"
"""The name prefix dbt-duckdb gives a Python model's registered result (see the module's docstring)."""

_RETRIES = threading.Lock()
_COMMENTS = re.compile(r"^\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*", re.DOTALL)
_NODE = re.compile(r'"node_id":\s*"[^"]*?\.([^".]+)"')


def _body(sql: str) -> str:
    """A statement's text after dbt's query comment and any other leading comments, stripped."""
    return _COMMENTS.sub("", sql, count=1).strip()


def _keyword(sql: str) -> str:
    """The first word of a statement, lower case."""
    words = _body(sql).split(None, 1)
    return words[0].rstrip(";").lower() if words else ""


def _single(sql: str) -> bool:
    """Whether `sql` is one statement (no `;` but a trailing one): outside a transaction DuckDB commits
    each statement of several on its own, so the ones before a failed one could not be undone."""
    return ";" not in _body(sql).rstrip(";")


def _node(sql: str) -> str:
    """The dbt node a statement came from (dbt's query comment names it), else "a query"."""
    found = _NODE.search(sql)
    return found.group(1) if found else "a query"


def retrying_execute(execute: Callable[..., Any]) -> Callable[..., Any]:
    """`execute(wrapper, sql, bindings=None)` of a cursor wrapper, with the retry described above. The
    statements of the open transaction, and the retries it has had, are kept on the wrapper (one per dbt
    connection and thread): a transaction has at most len(RETRY_DELAYS_S) retries in all."""

    @functools.wraps(execute)
    def run(self: Any, sql: str, bindings: Any = None) -> Any:
        transaction: list[tuple[str, Any]] | None = getattr(self, "_memory_retry_transaction", None)
        try:
            try:
                result = execute(self, sql, bindings)
            except duckdb.OutOfMemoryException as error:
                result = _again(execute, self, sql, bindings, transaction, error)
        except BaseException:
            # The transaction is aborted (dbt rolls it back): nothing of it is left to replay.
            self._memory_retry_transaction = None
            self._memory_retry_used = 0
            raise
        keyword = _keyword(sql)
        if keyword in ("begin", "start"):
            self._memory_retry_transaction = []
            self._memory_retry_used = 0
        elif keyword in ("commit", "rollback", "abort", "end"):
            self._memory_retry_transaction = None
            self._memory_retry_used = 0
        elif transaction is not None:
            transaction.append((sql, bindings))
        return result

    run.memory_retry = True  # type: ignore[attr-defined]
    return run


def _again(
    execute: Callable[..., Any],
    wrapper: Any,
    sql: str,
    bindings: Any,
    transaction: list[tuple[str, Any]] | None,
    error: duckdb.OutOfMemoryException,
) -> Any:
    """Runs the transaction (or the lone statement) again after each delay left to it; raises the last
    error."""
    statements = [*(transaction or []), (sql, bindings)]
    if any(PYTHON_RESULT in text for text, _ in statements) or (transaction is None and not _single(sql)):
        raise error
    say = dbt_progress("sql")
    attempts = len(RETRY_DELAYS_S) + 1
    used = getattr(wrapper, "_memory_retry_used", 0) if transaction is not None else 0
    for attempt, delay in enumerate(RETRY_DELAYS_S[used:], start=used + 2):
        if transaction is not None:
            wrapper._memory_retry_used = attempt - 1
        reason = str(error).splitlines()[0]
        say(
            f"{_node(sql)}: DuckDB ran out of memory ({reason}); running "
            f"{'its transaction' if transaction is not None else 'it'} again in {delay:.0f} s "
            f"(attempt {attempt} of {attempts})"
        )
        if transaction is not None:
            try:
                execute(wrapper, "ROLLBACK")
            except duckdb.TransactionException:
                pass  # a COMMIT that failed has ended the transaction already
        time.sleep(delay)
        with _RETRIES:
            try:
                if transaction is not None:
                    execute(wrapper, "BEGIN")
                    for text, values in transaction:
                        execute(wrapper, text, values)
                result = execute(wrapper, sql, bindings)
            except duckdb.OutOfMemoryException as again:
                error = again
                continue
        say(f"{_node(sql)}: attempt {attempt} succeeded")
        return result
    raise error


def install() -> bool:
    """Wrap dbt-duckdb's `DuckDBCursorWrapper.execute` (once per process); False where dbt-duckdb has no
    such method (another version than the pinned one: nothing is changed)."""
    try:
        from dbt.adapters.duckdb.environments import local
    except ImportError:  # pragma: no cover - dbt-duckdb is always installed with this project
        return False
    wrapper = getattr(local, "DuckDBCursorWrapper", None)
    execute = getattr(wrapper, "execute", None)
    if execute is None:
        return False
    if not getattr(execute, "memory_retry", False):
        wrapper.execute = retrying_execute(execute)
    return True

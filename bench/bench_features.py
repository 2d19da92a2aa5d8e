"""Time the customer feature layer in dbt against one hand-tuned DuckDB query on the same raw files.

Usage: ``.venv/bin/python bench/bench_features.py [N_CUSTOMERS] [--data-dir DIR] [--keep]``
(default 1,000,000 customers; demo data in ``/tmp/segmentation_bench_demo_<N>``, reused when its manifest
matches). Prints, for each side, what it computes, its wall time and the peak memory of its process, the
slowest dbt models (from ``run_results.json``) and a cross-check of the two sides' current-date figures.

The two sides do not do the same work, and the output says so:

- dbt: ``dbt build --select +int_customers_features --exclude test_type:unit --indirect-selection
  cautious`` on a fresh DuckDB file:
  raw loading with every row parsed as text and validated (rejects tables), staging, the three as-of
  dates (current, training, backtest), RFM, spend, behaviour, category mix, attributes and social
  features, the wide feature table, and every data test of those models.
- hand query: one ``create table ... as`` statement over the typed raw parquet files for the current
  as-of date only: RFM (with scores), spend, behaviour and category-mix aggregates, with no validation,
  no deduplication, no rejects, no attributes or social features and no tests.
"""

from __future__ import annotations

import _paths  # noqa: F401  (the repository root on sys.path, for tools.demo_data)

# isort: split
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
TOP_CATEGORIES = 8  # the dbt var top_categories

# The current as-of date as the project sets it by default: the day after the latest transaction.
# Every CTE reads a raw file once; the transactions are aggregated in one pass (purchase days as a list,
# payment methods as a histogram), and category spend is aggregated once and pivoted.
HAND_QUERY = """
create table hand_features as
with

transactions as (
    select
        customer_id,
        transacted_at,
        amount,
        quantity,
        coalesce(status, 'completed') as status,
        coalesce(status, 'completed') = 'completed' as is_purchase,
        payment_method,
        device_id,
        channel,
        transaction_id
    from read_parquet('{raw}/transactions.parquet')
),

as_of as (
    select cast(max(transacted_at) as date) + 1 as as_of_date from transactions
),

spend as (
    select
        t.customer_id,
        any_value(a.as_of_date) as as_of_date,
        min(t.transacted_at) as first_transacted_at,
        max(t.transacted_at) as last_transacted_at,
        min(t.transacted_at) filter (where t.is_purchase) as first_purchase_at,
        max(t.transacted_at) filter (where t.is_purchase) as last_purchase_at,
        count(*) filter (where t.is_purchase) as frequency,
        list(distinct cast(t.transacted_at as date)) filter (where t.is_purchase) as purchase_dates,
        coalesce(sum(t.amount) filter (where t.is_purchase), 0) as gross_revenue,
        sum(t.amount) as net_revenue,
        coalesce(sum(t.amount) filter (
            where t.is_purchase and t.transacted_at >= a.as_of_date - interval 90 day
        ), 0) as spend_last_90_days,
        coalesce(sum(t.amount) filter (
            where t.is_purchase and t.transacted_at >= a.as_of_date - interval 180 day
            and t.transacted_at < a.as_of_date - interval 90 day
        ), 0) as spend_previous_90_days,
        avg(t.quantity) filter (where t.is_purchase) as units_per_order,
        count(*) filter (where t.status = 'refunded') as refunds,
        count(*) filter (where t.status = 'chargeback') as chargebacks,
        -coalesce(sum(t.amount) filter (where t.status in ('refunded', 'chargeback')), 0) as returned_amount,
        count(t.channel) filter (where t.is_purchase) as orders_with_channel,
        count(*) filter (where t.is_purchase and t.channel = 'web') as web_orders,
        count(*) filter (where t.is_purchase and t.channel = 'app') as app_orders,
        count(*) filter (where t.is_purchase and t.channel = 'store') as store_orders,
        count(distinct t.channel) filter (where t.is_purchase) as distinct_channels,
        count(distinct t.payment_method) filter (where t.is_purchase) as distinct_payment_methods,
        count(distinct t.device_id) as distinct_devices,
        histogram(t.payment_method) filter (where t.is_purchase and t.payment_method is not null)
            as payment_method_counts
    from transactions as t
    cross join as_of as a
    where t.transacted_at < a.as_of_date
    group by t.customer_id
),

rfm as (
    select
        *,
        as_of_date - cast(coalesce(last_purchase_at, last_transacted_at) as date) as recency_days,
        as_of_date - cast(coalesce(first_purchase_at, first_transacted_at) as date) as tenure_days,
        len(purchase_dates) as purchase_days,
        greatest(net_revenue, 0) as monetary,
        list_transform(
            range(1, len(purchase_dates)),
            i -> list_sort(purchase_dates)[i + 1] - list_sort(purchase_dates)[i]
        ) as gaps
    from spend
),

events as (
    select
        e.customer_id,
        count(*) as events,
        count(distinct coalesce(e.session_id, cast(cast(e.occurred_at as date) as varchar))) as sessions,
        count(distinct cast(e.occurred_at as date)) as active_days,
        count(*) filter (where e.event_type = 'page_view') as page_views,
        count(*) filter (where e.event_type = 'search') as searches,
        count(*) filter (where e.event_type = 'add_to_cart') as add_to_carts,
        count(*) filter (where e.event_type = 'login') as logins,
        count(*) filter (where e.event_type = 'support_ticket') as support_tickets,
        max(e.occurred_at) as last_event_at,
        count(*) filter (where e.occurred_at >= a.as_of_date - interval 30 day) as events_last_30_days,
        count(*) filter (
            where e.occurred_at >= a.as_of_date - interval 120 day
            and e.occurred_at < a.as_of_date - interval 30 day
        ) as events_previous_90_days
    from read_parquet('{raw}/events.parquet') as e
    cross join as_of as a
    where e.occurred_at < a.as_of_date
    group by e.customer_id
),

category_spend as (
    select
        t.customer_id,
        i.category,
        sum(l.quantity * l.unit_price) as spend
    from read_parquet('{raw}/transaction_items.parquet') as l
    inner join transactions as t on l.transaction_id = t.transaction_id
    inner join read_parquet('{raw}/items.parquet') as i on l.item_id = i.item_id
    cross join as_of as a
    where t.is_purchase and t.transacted_at < a.as_of_date
    group by t.customer_id, i.category
),

top_categories as (
    select category, row_number() over (order by sum(spend) desc, category) as category_rank
    from category_spend
    group by category
    qualify category_rank <= {top}
),

category_mix as (
    select
        c.customer_id,
        {category_columns},
        count(*) as distinct_categories,
        0 - sum(c.spend / c.total * ln(c.spend / c.total)) filter (where c.spend > 0) as category_entropy
    from (
        select *, sum(spend) over (partition by customer_id) as total from category_spend
    ) as c
    left join top_categories as tc on c.category = tc.category
    group by c.customer_id
)

select
    r.as_of_date,
    r.customer_id,
    r.recency_days,
    r.tenure_days,
    r.frequency,
    r.purchase_days,
    r.monetary,
    r.gross_revenue,
    r.net_revenue,
    r.gross_revenue / nullif(r.frequency, 0) as average_order_value,
    least(5, 1 + floor(5 * percent_rank() over (order by r.recency_days desc))) as r_score,
    least(5, 1 + floor(5 * percent_rank() over (order by r.frequency))) as f_score,
    least(5, 1 + floor(5 * percent_rank() over (order by r.monetary))) as m_score,
    list_avg(r.gaps) as interpurchase_days_mean,
    list_stddev_samp(r.gaps) as interpurchase_days_std,
    r.spend_last_90_days,
    r.spend_previous_90_days,
    (r.spend_last_90_days - r.spend_previous_90_days)
        / nullif(r.spend_last_90_days + r.spend_previous_90_days, 0) as spend_trend,
    r.units_per_order,
    r.refunds / nullif(r.frequency, 0) as refund_rate,
    r.chargebacks / nullif(r.frequency, 0) as chargeback_rate,
    r.returned_amount / nullif(r.gross_revenue, 0) as returned_amount_share,
    r.web_orders / nullif(r.orders_with_channel, 0) as web_order_share,
    r.app_orders / nullif(r.orders_with_channel, 0) as app_order_share,
    r.store_orders / nullif(r.orders_with_channel, 0) as store_order_share,
    r.distinct_channels,
    r.distinct_payment_methods,
    r.distinct_devices,
    list_sort(list_transform(
        map_entries(r.payment_method_counts), e -> {{'n': -e.value, 'method': e.key}}
    ))[1].method as preferred_payment_method,
    coalesce(e.events, 0) as events,
    coalesce(e.sessions, 0) as sessions,
    coalesce(e.active_days, 0) as active_days,
    coalesce(e.page_views, 0) as page_views,
    coalesce(e.searches, 0) as searches,
    coalesce(e.add_to_carts, 0) as add_to_carts,
    coalesce(e.logins, 0) as logins,
    coalesce(e.support_tickets, 0) as support_tickets,
    least(e.add_to_carts, e.page_views) / nullif(e.page_views, 0) as view_to_cart_rate,
    least(r.frequency, e.add_to_carts) / nullif(e.add_to_carts, 0) as cart_to_purchase_rate,
    r.as_of_date - cast(e.last_event_at as date) as days_since_last_event,
    (coalesce(e.events_last_30_days, 0) - coalesce(e.events_previous_90_days, 0) / 3.0)
        / nullif(coalesce(e.events_last_30_days, 0) + coalesce(e.events_previous_90_days, 0) / 3.0, 0)
        as activity_trend,
    m.* exclude (customer_id)
from rfm as r
left join events as e on r.customer_id = e.customer_id
left join category_mix as m on r.customer_id = m.customer_id
"""


def _category_columns() -> str:
    """The category-share columns of the hand query: one per rank of the top categories."""
    return ",\n        ".join(
        f"coalesce(sum(c.spend / c.total) filter (where tc.category_rank = {rank}), 0)"
        f" as category_share_rank_{rank}"
        for rank in range(1, TOP_CATEGORIES + 1)
    )


def _peak_rss_mib(who: int) -> float:
    """Peak resident memory (MiB) of this process or of its largest waited-for child so far."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _ensure_demo_data(n_customers: int, data_dir: Path) -> float:
    """Write (or reuse) the demo data; returns the seconds it took."""
    from tools.demo_data import write

    t0 = time.perf_counter()
    write(data_dir, n_customers=n_customers, seed=42)
    return time.perf_counter() - t0


def _run_dbt(data_dir: Path, work_dir: Path) -> dict:
    """Run the dbt build in a child process on a fresh database; returns timings and figures."""
    dbt = Path(sys.executable).parent / "dbt"
    db_path = work_dir / "dbt.duckdb"
    target, logs = work_dir / "target", work_dir / "logs"
    command = [
        str(dbt), "build",
        "--select", "+int_customers_features",
        "--exclude", "test_type:unit",
        # Only the tests whose every parent is built: others (rejects reconciliation, transaction
        # risk) point at models outside the selection.
        "--indirect-selection", "cautious",
        "--vars", json.dumps({"raw_data_path": str(data_dir)}),
        "--target-path", str(target),
        "--log-path", str(logs),
    ]  # fmt: skip
    env = {**os.environ, "SEGMENTATION_DB_PATH": str(db_path)}
    t0 = time.perf_counter()
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = _peak_rss_mib(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        print(completed.stdout[-4000:], completed.stderr[-2000:], sep="\n")
        raise SystemExit(f"dbt build failed (exit {completed.returncode}); command: {' '.join(command)}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = sorted(
        (
            (r["unique_id"].split(".")[-1], r["execution_time"])
            for r in results
            if r["unique_id"].startswith("model.")
        ),
        key=lambda item: -item[1],
    )
    tests = [r["execution_time"] for r in results if r["unique_id"].startswith("test.")]
    seeds = [r["execution_time"] for r in results if r["unique_id"].startswith("seed.")]
    return {
        "wall_s": wall,
        "peak_mib": peak,
        "models": models,
        "tests": (len(tests), sum(tests)),
        "seeds": (len(seeds), sum(seeds)),
        "db_path": db_path,
        "command": " ".join(command),
    }


def _run_hand_query_child(data_dir: Path, db_path: Path) -> None:
    """In a child process: run the hand query into a fresh database and print its figures as JSON."""
    import duckdb

    sql = HAND_QUERY.format(raw=data_dir, top=TOP_CATEGORIES, category_columns=_category_columns())
    connection = duckdb.connect(str(db_path))
    t0 = time.perf_counter()
    connection.execute(sql)
    seconds = time.perf_counter() - t0
    rows, customers, gross = connection.execute(
        "select count(*), count(distinct customer_id), sum(gross_revenue) from hand_features"
    ).fetchone()
    columns = len(connection.execute("select * from hand_features limit 0").description)
    connection.close()
    figures = {
        "query_s": seconds,
        "rows": rows,
        "customers": customers,
        "gross_revenue": gross,
        "columns": columns,
        "peak_mib": _peak_rss_mib(resource.RUSAGE_SELF),
        "threads": duckdb.connect().execute("select current_setting('threads')").fetchone()[0],
    }
    print(json.dumps(figures))


def _run_hand_query(data_dir: Path, work_dir: Path) -> dict:
    """Run the hand query in its own process, so its peak memory is its own."""
    t0 = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, __file__, "--hand-query-child", str(data_dir), str(work_dir / "hand.duckdb")],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["wall_s"] = time.perf_counter() - t0
    return figures


def _dbt_current_figures(db_path: Path) -> tuple:
    """Rows, customers and gross revenue of the current snapshot of the dbt feature table."""
    import duckdb

    connection = duckdb.connect(str(db_path), read_only=True)
    try:
        return connection.execute(
            "select count(*), count(distinct customer_id), sum(gross_revenue), count(distinct as_of_date)"
            " from intermediate.int_customers_features where snapshot_name = 'current'"
        ).fetchone()
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--hand-query-child"]:
        _run_hand_query_child(Path(argv[1]), Path(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=None, help="demo data folder (default under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and dbt target folder")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(f"/tmp/segmentation_bench_demo_{args.customers}")

    print(f"customers: {args.customers:,}  seed: 42  data: {data_dir}")
    seconds = _ensure_demo_data(args.customers, data_dir)
    counts = json.loads((data_dir / "_manifest.json").read_text())["row_counts"]
    print(f"demo data ready in {seconds:.1f} s (reused when its manifest matched): "
          + ", ".join(f"{name} {count:,}" for name, count in counts.items()))  # fmt: skip

    work_dir = Path(tempfile.mkdtemp(prefix="bench_features_", dir="/tmp"))
    try:
        dbt = _run_dbt(data_dir, work_dir)
        hand = _run_hand_query(data_dir, work_dir)
        dbt_rows, dbt_customers, dbt_gross, dbt_dates = _dbt_current_figures(dbt["db_path"])
    finally:
        if not args.keep:
            for path in sorted(work_dir.rglob("*"), reverse=True):
                path.unlink() if path.is_file() or path.is_symlink() else path.rmdir()
            work_dir.rmdir()

    print()
    print("dbt side: raw loading with text parsing and validation (rejects tables), staging, as-of dates,")
    print("  RFM + spend + behaviour + category mix + attributes + social for THREE as-of dates")
    print("  (current, training, backtest), the wide feature table, and every data test (no unit tests);")
    print("  a fresh DuckDB file, dbt threads as in profiles.yml.")
    print(f"  command: SEGMENTATION_DB_PATH=<tmp>/dbt.duckdb {dbt['command']}")
    print(f"  wall time: {dbt['wall_s']:.1f} s (dbt start-up and parsing included)")
    print(f"  peak memory (dbt process): {dbt['peak_mib']:,.0f} MiB")
    model_total = sum(seconds for _, seconds in dbt["models"])
    print(f"  models: {len(dbt['models'])}, {model_total:.1f} s summed; data tests: {dbt['tests'][0]},"
          f" {dbt['tests'][1]:.1f} s summed; seeds: {dbt['seeds'][0]}, {dbt['seeds'][1]:.1f} s")  # fmt: skip
    print("  per model (seconds, slowest first; threads overlap, so they sum to more than the wall time):")
    for name, model_seconds in dbt["models"]:
        print(f"    {model_seconds:8.2f}  {name}")
    print()
    print("hand query: ONE statement on the typed raw parquet files, CURRENT as-of date only: RFM with")
    print("  scores, spend, behaviour and category-mix aggregates; no parsing from text, no validation,")
    print("  no deduplication, no rejects, no attributes or social features, no tests.")
    print(f"  query time: {hand['query_s']:.1f} s  (process wall time {hand['wall_s']:.1f} s,"
          f" DuckDB threads {hand['threads']})")  # fmt: skip
    print(f"  peak memory (its process): {hand['peak_mib']:,.0f} MiB")
    print(f"  output: {hand['rows']:,} rows x {hand['columns']} columns")
    print()
    print("cross-check, current as-of date (should agree up to rows the dbt side rejects):")
    print(f"  dbt:  {dbt_rows:,} rows, {dbt_customers:,} customers, gross revenue {float(dbt_gross):,.2f}"
          f" ({dbt_dates} date)")  # fmt: skip
    print(f"  hand: {hand['rows']:,} rows, {hand['customers']:,} customers,"
          f" gross revenue {float(hand['gross_revenue']):,.2f}")  # fmt: skip
    print(f"ratio dbt wall time / hand query time: {dbt['wall_s'] / hand['query_s']:.1f}x"
          " (for about three times the dates, plus validation and tests)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

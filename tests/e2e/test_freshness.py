"""A day more of raw data, built incrementally, gives the tables a full rebuild gives.

Generated data (independent of the demo build's seed and size) is cut at its last day
(tools/daily_export.py): the files of 'yesterday' hold every row dated before that day, and today's files
are yesterday's with the last day's rows appended, as a daily export grows (with a late transaction, a
corrected one, a duplicate and two customers' rows corrected). Yesterday is built from
scratch (models trained); its warehouse is copied twice and today's files are built into both copies with
the stored models (`retrain: never`): once as a daily build does with every incremental path on
(staging validates only the new and changed rows, var incremental_staging; the risk features and fraud
scores are computed only for the transactions whose customer, device or risk row changed), once with
`--full-refresh` and `incremental_fraud_scores: false` (every row validated, every risk feature computed
and every transaction scored again). Every table of the two must be the same, bit for bit, except the
build's own log and times.

All three builds keep a seeded half of the customers at the past as-of dates (var
past_snapshot_customers), so the sampled path is built, trained on and compared too.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.e2e.dbt_runner import MODELS_ONLY, dbt_build
from tools import daily_export, demo_data

REVALIDATING = "validating the rows new or changed since the last build"
RISK_INCREMENTAL = "computing the features of the transactions whose customer or device changed"


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("days")
    raw = demo_data.generate(n_customers=800, seed=23).save(root / "raw")
    before, after = daily_export.split_folder(raw, root / "yesterday", root / "today")
    assert 0 < before < after
    _reshape_transactions(root / "yesterday", root / "today", before)
    _correct_customers(root / "today")
    return root / "yesterday", root / "today"


def _correct_customers(today: Path) -> None:
    """Two corrections in today's customers file: the first customer's country (which of their
    transactions count as from a foreign IP) and the second one's sign-up date (their transactions' account
    age); the risk features of those customers' old transactions change though none of them did."""
    customers = pq.read_table(today / "customers.parquet")
    countries = customers["country"].to_pylist()
    countries[0] = "FR" if countries[0] != "FR" else "DE"
    signed_up = customers["signed_up_at"].to_pylist()
    signed_up[1] = signed_up[1] - dt.timedelta(days=3)
    customers = customers.set_column(customers.column_names.index("country"), "country", pa.array(countries))
    customers = customers.set_column(
        customers.column_names.index("signed_up_at"),
        "signed_up_at",
        pa.array(signed_up, customers.schema.field("signed_up_at").type),
    )
    pq.write_table(customers, today / "customers.parquet")


def _reshape_transactions(yesterday: Path, today: Path, old_rows: int) -> None:
    """What real daily exports do beyond appending, in today's transactions file: a transaction dated
    days ago that arrives late (yesterday's file lacks it, so yesterday its order lines were orphans), an
    old row whose amount was corrected, and an old transaction_id sent again with other values (a
    duplicate, rejected by both builds)."""
    old = pq.read_table(yesterday / "transactions.parquet")
    new = pq.read_table(today / "transactions.parquet").slice(old_rows)
    lines = pq.read_table(yesterday / "transaction_items.parquet")
    late = pc.index_in(lines["transaction_id"][0], old["transaction_id"]).as_py()
    kept = old.filter(pc.not_equal(pa.array(range(old.num_rows)), late))
    corrected = kept.set_column(
        kept.column_names.index("amount"),
        "amount",
        pa.array(
            [value + 1 if index == 3 else value for index, value in enumerate(kept["amount"].to_pylist())],
            kept.schema.field("amount").type,
        ),
    )
    resent = kept.slice(5, 1).set_column(
        kept.column_names.index("amount"),
        "amount",
        pa.array([12.5], pa.float64()).cast(kept.schema.field("amount").type),
    )
    pq.write_table(kept, yesterday / "transactions.parquet")
    pq.write_table(
        pa.concat_tables([corrected, old.slice(late, 1), new, resent]), today / "transactions.parquet"
    )


# About half of the 800 generated customers at the past as-of dates (int_as_of_dates.sample_share).
PAST_SAMPLE = {"past_snapshot_customers": 400}


def test_a_day_more_built_incrementally_gives_the_full_rebuild(days, tmp_path):
    yesterday, today = days
    first = dbt_build(tmp_path / "yesterday", yesterday, PAST_SAMPLE)
    assert first.returncode == 0, first.output[-6000:]
    assert REVALIDATING not in first.output
    # The past snapshots hold the sampled customers only, the same ones in every feature model; the
    # current one everyone.
    share = first.scalar("select max(sample_share) from intermediate.int_as_of_dates where not is_current")
    assert 0.3 < share < 0.7
    for snapshot, (low, high) in {"training": (0.25, 0.8), "current": (1, 1)}.items():
        held = first.scalar(
            f"select count(*) from intermediate.int_customers_features where snapshot_name = '{snapshot}'"
        )
        could = first.scalar(
            "select count(distinct customer_id) from staging.stg_raw__transactions, "
            f"intermediate.int_as_of_dates where snapshot_name = '{snapshot}' and transacted_at < as_of_date"
        )
        assert low * could <= held <= high * could, (snapshot, held, could)
    for model in ("int_customers_spend", "int_customers_category_mix", "int_customers_basket"):
        assert (
            first.scalar(
                f"select count(*) from intermediate.{model} left join intermediate.int_customers_rfm "
                "using (as_of_date, customer_id) where int_customers_rfm.customer_id is null"
            )
            == 0
        ), model
    for name in ("daily", "full"):
        (tmp_path / name).mkdir()
        shutil.copy(first.database, tmp_path / name / "warehouse.duckdb")
    # Today's two builds apply the stored models and skip the data tests (the first build ran them; the
    # tables are what is compared).
    stored_models = {"retrain": "never", **PAST_SAMPLE}
    # Staging's reuse of unchanged rows is off by default (it costs more than it saves, dbt_project.yml);
    # the daily build turns it on, so that it is shown to give the full rebuild's tables too.
    daily_vars = {**stored_models, "incremental_staging": True}
    daily = dbt_build(tmp_path / "daily", today, daily_vars, args=MODELS_ONLY)
    assert daily.returncode == 0, daily.output[-6000:]
    # The full build computes every risk feature (--full-refresh) and scores every transaction.
    every_score = {**stored_models, "incremental_fraud_scores": False}
    full = dbt_build(tmp_path / "full", today, every_score, args=("--full-refresh", *MODELS_ONLY))
    assert full.returncode == 0, full.output[-6000:]
    assert daily.output.count(REVALIDATING) == 3, daily.output[-3000:]
    assert REVALIDATING not in full.output
    # The daily build computed the risk features of the changed customers and devices only, and scored
    # only their transactions; the full build every one.
    assert RISK_INCREMENTAL in daily.output and RISK_INCREMENTAL not in full.output
    kept = re.search(r"fraud: kept the stored scores of ([\d,]+) of ([\d,]+) transactions", daily.output)
    assert kept is not None, daily.output[-3000:]
    assert 0 < int(kept[1].replace(",", "")) < int(kept[2].replace(",", ""))
    assert "kept the stored scores" not in full.output
    # The daily build saw the new day, the late transaction's order lines are no longer orphans, and the
    # transaction sent again is a duplicate.
    counted = "select count(*) from staging.{} where rejection_reason like '{}%'"
    assert daily.scalar("select count(*) from staging.stg_raw__transactions") > first.scalar(
        "select count(*) from staging.stg_raw__transactions"
    )
    orphans = counted.format("transaction_items_rejected", "orphan line")
    assert daily.scalar(orphans) < first.scalar(orphans)
    duplicates = counted.format("transactions_rejected", "duplicate transaction_id")
    assert daily.scalar(duplicates) == first.scalar(duplicates) + 1
    compared, differing = daily_export.differing_tables(daily.database, full.database)
    assert compared > 60
    assert differing == []

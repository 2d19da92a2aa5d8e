"""Raw loading per the data contract: any folder, CSV or parquet, optional tables and columns absent."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.e2e.dbt_runner import Build, dbt_build


def test_transactions_only_folder_builds_rfm_and_spend(transactions_only_build: Build) -> None:
    build = transactions_only_build
    customers = build.scalar("select count(distinct customer_id) from staging.stg_raw__transactions")
    current = "from intermediate.int_customers_features where snapshot_name = 'current'"
    assert build.scalar(f"select count(*) {current}") == customers
    assert build.scalar(f"select count(*) {current} and (recency_days is null or monetary is null)") == 0
    assert build.scalar(f"select count(*) {current} and rfm_segment is null") == 0
    assert build.scalar(f"select count(units_per_order) {current}") == customers
    # Features of the absent tables stay null: never zero, never invented.
    for column in (
        "events",
        "page_views",
        "referrals_made",
        "country",
        "category_entropy",
        "lines_per_order",
        "discounted_line_share",
        "age_years",
    ):
        assert build.scalar(f"select count({column}) {current}") == 0, column
    assert build.scalar("select count(*) from staging.stg_raw__events") == 0


def test_missing_required_file_stops_with_its_name(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "customers.csv").write_text("customer_id,signed_up_at\nc1,2026-01-01\n")
    build = dbt_build(tmp_path / "build", raw)
    assert build.returncode != 0
    assert "Required raw file missing: transactions.csv or transactions.parquet" in build.output


def test_missing_required_column_stops_with_its_name(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "transactions.csv").write_text("transaction_id,customer_id,transacted_at\nt1,c1,2026-01-01\n")
    build = dbt_build(tmp_path / "build", raw)
    assert build.returncode != 0
    assert "Required column missing: 'amount'" in build.output
    assert "transactions.csv" in build.output


def test_missing_transaction_id_column_is_derived_from_the_row(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "transactions.csv").write_text(
        "customer_id,transacted_at,amount\nc1,2026-01-01,10\nc1,2026-01-01,10\nc2,2026-01-02 10:00:00,5.5\n"
    )
    build = dbt_build(tmp_path / "build", raw, args=("--select", "+int_customers_rfm"))
    assert build.returncode == 0, build.output[-3000:]
    ids = [i for (i,) in build.query("select transaction_id from staging.stg_raw__transactions")]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_past_snapshots_sampled_hold_the_full_build_s_rows(
    demo_dir: Path, demo_build: Build, tmp_path: Path
) -> None:
    """var past_snapshot_customers below the customers: the past as-of dates keep a seeded share of
    them, and every row kept is the row the demo build (every customer) holds, bit for bit; 'current'
    and int_customers_rfm keep everyone (the social features look up unsampled linked customers)."""
    sampled = dbt_build(
        tmp_path / "sampled",
        demo_dir,
        {"past_snapshot_customers": 300},
        args=("--select", "+int_customers_features", "+int_customers_outcomes"),
    )
    assert sampled.returncode == 0, sampled.output[-3000:]
    with duckdb.connect() as con:
        con.execute(f"attach '{sampled.database}' as sampled (read_only)")
        con.execute(f"attach '{demo_build.database}' as full_build (read_only)")
        current = con.execute(
            "select as_of_date from full_build.intermediate.int_as_of_dates where is_current"
        ).fetchone()[0]
        for model in ("int_customers_features", "int_customers_outcomes", "int_customers_social"):
            rows = {
                build: dict(
                    con.execute(
                        f"select as_of_date, count(*) from {build}.intermediate.{model} group by 1"
                    ).fetchall()
                )
                for build in ("sampled", "full_build")
            }
            assert rows["sampled"].get(current) == rows["full_build"].get(current), model
            for date, count in rows["full_build"].items():
                if date != current:
                    assert 0 < rows["sampled"][date] < count, (model, date)
            extra = con.execute(
                f"select count(*) from (select * from sampled.intermediate.{model} "
                f"except all select * from full_build.intermediate.{model})"
            ).fetchone()[0]
            assert extra == 0, model
        rfm = "select count(*) from {}.intermediate.int_customers_rfm"
        assert (
            con.execute(rfm.format("sampled")).fetchone() == con.execute(rfm.format("full_build")).fetchone()
        )


def test_as_of_date_replays_the_past(demo_dir: Path, demo_build: Build, tmp_path: Path) -> None:
    as_of = "2026-03-01"
    past = dbt_build(
        tmp_path / "past", demo_dir, {"as_of_date": as_of}, args=("--select", "+int_customers_features")
    )
    assert past.returncode == 0, past.output[-3000:]
    # Rows after the as-of date are not rejects: they are accepted, and features do not see them.
    assert past.scalar("select count(rejection_reason) from staging.base_raw__transactions") == 0
    assert (
        past.scalar(f"select count(*) from staging.stg_raw__transactions where transacted_at >= '{as_of}'")
        > 0
    )
    latest = past.scalar("select max(last_purchase_at) from intermediate.int_customers_rfm")
    assert str(latest) < as_of
    # Figures of the as-of date agree with a direct count of the rows before it.
    frequency = past.query(
        f"select customer_id, frequency from intermediate.int_customers_rfm where as_of_date = '{as_of}' "
        "order by customer_id limit 50"
    )
    for customer_id, orders in frequency:
        expected = past.scalar(
            "select count(*) from staging.stg_raw__transactions where is_purchase "
            f"and customer_id = '{customer_id}' and transacted_at < '{as_of}'"
        )
        assert orders == expected


def test_typed_parquet_values_stage_as_their_text_does(tmp_path: Path) -> None:
    """A parquet file's typed timestamps and numbers are read as they stand (macros/raw/typed_raw.sql),
    not printed as text and parsed back: the parsed values and the rejections are those of the same
    values as text, for amounts with more decimals than a cent (1.005 rounds as its text does), NaN,
    infinity, overflow, negative zero and nulls, from DOUBLE, FLOAT, DECIMAL and integer columns."""
    import datetime as dt
    import decimal

    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    at = [
        dt.datetime(2025, 1, 2, 3, 4, 5, 678901),
        dt.datetime(1969, 7, 20, 20, 17),
        None,
        dt.datetime(2099, 1, 1),
    ]
    tables = {
        "transactions": pa.table(
            {
                "transaction_id": ["t1", "t2", "t3", "t4"],
                "customer_id": ["c1", "c1", "c2", "c2"],
                "transacted_at": pa.array(at, pa.timestamp("us")),
                "amount": pa.array([10.0, 5.5, 0.1, -1.25], pa.float32()),
                "quantity": pa.array([1.0, 2.5, None, 3.0], pa.float64()),
            }
        ),
        # Numbers: amounts of every awkward kind, each on an order of its own.
        "transaction_items": pa.table(
            {
                "transaction_id": ["t1"] * 8,
                "item_id": [f"i{n}" for n in range(8)],
                "quantity": pa.array([1, 2, None, 0, -3, 2**40, 7, 1], pa.int64()),
                "unit_price": pa.array(
                    [
                        decimal.Decimal(v) if v is not None else None
                        for v in ("1.005", "12.345", "-0.125", None, "3", "0.10", "9" * 17 + ".999", "7.5")
                    ],
                    pa.decimal128(22, 3),
                ),
            }
        ),
        "items": pa.table(
            {
                "item_id": ["i1", "i2", "i3", "i4", "i5", "i6", "i7"],
                "category": ["a"] * 7,
                "price": pa.array([1.005, 2.675, float("nan"), float("inf"), 1e20, -0.0, None], pa.float64()),
            }
        ),
        # An instant with its zone (read as UTC wall time) and a date (midnight).
        "customers": pa.table(
            {
                "customer_id": ["c1", "c2", "c3"],
                "signed_up_at": pa.array(
                    [
                        dt.datetime(2024, 3, 31, 1, 30, tzinfo=dt.UTC),
                        None,
                        dt.datetime(2024, 12, 31, 23, 0, tzinfo=dt.UTC),
                    ],
                    pa.timestamp("us", tz="Europe/Paris"),
                ),
            }
        ),
        "events": pa.table(
            {
                "customer_id": ["c1", "c2"],
                "occurred_at": pa.array([dt.date(2024, 2, 29), None], pa.date32()),
                "event_type": ["view", "view"],
            }
        ),
    }
    typed, text = tmp_path / "typed", tmp_path / "text"
    typed.mkdir()
    text.mkdir()
    for name, table in tables.items():
        pq.write_table(table, typed / f"{name}.parquet")
        duckdb.sql(  # every column as the text DuckDB prints for it
            f"copy (select cast(columns(*) as varchar) from read_parquet('{typed / name}.parquet'))"
            f" to '{text / name}.parquet' (format parquet)"
        )
    models = (
        "--select",
        "base_raw__transactions",
        "base_raw__customers",
        "base_raw__events",
        "base_raw__transaction_items",
        "base_raw__items",
    )
    builds = {
        folder.name: dbt_build(tmp_path / f"build_{folder.name}", folder, args=models)
        for folder in (typed, text)
    }
    for build in builds.values():
        assert build.returncode == 0, build.output[-3000:]
    compiled = tmp_path / "build_typed" / "target" / "run" / "customer_segmentation" / "models" / "staging"
    assert "typed__transacted_at" in (compiled / "base_raw__transactions.sql").read_text()
    assert "typed__signed_up_at" in (compiled / "base_raw__customers.sql").read_text()
    assert "typed__occurred_at" in (compiled / "base_raw__events.sql").read_text()
    assert "typed__unit_price" in (compiled / "base_raw__transaction_items.sql").read_text()
    assert "typed__amount" in (compiled / "base_raw__transactions.sql").read_text()
    assert "typed__price" in (compiled / "base_raw__items.sql").read_text()
    for name in tables:
        sql = (  # the rules' fingerprint differs with the parse expression, the row hash with the file
            "select columns(c -> c not in ('source_file', 'validation_fingerprint', 'raw_row_hash'))"
            f" from staging.base_raw__{name} order by source_row_number"
        )
        rows = {folder: build.query(sql) for folder, build in builds.items()}
        assert rows["typed"] == rows["text"], name
        assert len(rows["typed"]) == tables[name].num_rows
        assert not any(
            c.startswith("typed__")
            for (c,) in builds["typed"].query(
                f"select column_name from information_schema.columns where table_name = 'base_raw__{name}'"
            )
        )
    parsed = builds["typed"].query(
        "select parsed_transacted_at, rejection_reason from staging.base_raw__transactions"
        " order by source_row_number"
    )
    assert parsed[0][0] == at[0] and parsed[1][0] == at[1]
    assert "missing transacted_at" in parsed[2][1] and "later than the build" in parsed[3][1]
    assert builds["typed"].query(
        "select parsed_signed_up_at from staging.base_raw__customers order by source_row_number"
    ) == [(dt.datetime(2024, 3, 31, 1, 30),), (None,), (dt.datetime(2024, 12, 31, 23, 0),)]

    def cents(*values: str | None) -> list[tuple[decimal.Decimal | None]]:
        return [(decimal.Decimal(v) if v else None,) for v in values]

    assert builds["typed"].query(
        "select parsed_unit_price from staging.base_raw__transaction_items order by source_row_number"
    ) == cents("1.01", "12.35", "-0.13", None, "3.00", "0.10", None, "7.50")
    assert builds["typed"].query(
        "select parsed_price from staging.base_raw__items order by source_row_number"
    ) == cents("1.01", "2.68", None, None, None, "0.00", None)

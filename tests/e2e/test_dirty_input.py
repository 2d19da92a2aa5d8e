"""Bad rows of every kind land in the rejects table of their raw table, with the reason; none is lost."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.e2e.dbt_runner import Build, dbt_build
from tools import demo_data

# For each raw table: bad rows to append (column -> raw text; other columns copied from a good row) and
# the reason each must be rejected with.
BAD_ROWS: dict[str, list[tuple[dict[str, str], str]]] = {
    "transactions": [
        ({"transaction_id": "BAD-1", "customer_id": ""}, "missing customer_id"),
        ({"transaction_id": "BAD-2", "transacted_at": "31/02/2026 25:61"}, "unparsable transacted_at"),
        (
            {"transaction_id": "BAD-3", "transacted_at": "2099-01-01 00:00:00"},
            "transacted_at later than the build",
        ),
        ({"transaction_id": "BAD-4", "amount": "twelve"}, "unparsable amount"),
        ({"transaction_id": "BAD-5", "amount": ""}, "missing amount"),
        ({"transaction_id": "BAD-6", "status": "pending"}, "unknown status"),
        (
            {"transaction_id": "BAD-7", "status": "completed", "amount": "-5.00"},
            "negative amount on a completed order",
        ),
        ({"transaction_id": "BAD-8", "quantity": "three"}, "unparsable quantity"),
        ({"transaction_id": ""}, "missing transaction_id"),
        ({}, "duplicate transaction_id"),  # a verbatim copy of the first row
    ],
    "transaction_items": [
        ({"transaction_id": "NO-SUCH-ORDER"}, "orphan line"),
        ({"quantity": "0"}, "quantity not positive"),
        ({"unit_price": "-1.50"}, "negative unit_price"),
        ({"quantity": "a few"}, "unparsable quantity"),
        ({"item_id": ""}, "missing item_id"),
    ],
    "items": [
        ({}, "duplicate item_id"),
        ({"item_id": "I-BAD-1", "category": ""}, "missing category"),
        ({"item_id": "I-BAD-2", "price": "cheap"}, "unparsable price"),
    ],
    "customers": [
        ({}, "duplicate customer_id"),
        ({"customer_id": "C-BAD-1", "signed_up_at": "yesterday"}, "unparsable signed_up_at"),
        ({"customer_id": "C-BAD-2", "signed_up_at": "2099-05-05"}, "signed_up_at later than the build"),
        ({"customer_id": "C-BAD-3", "birth_year": "1850"}, "birth_year out of range"),
        ({"customer_id": "C-BAD-4", "birth_year": "nineteen-eighty"}, "unparsable birth_year"),
    ],
    "events": [
        ({"customer_id": ""}, "missing customer_id"),
        ({"occurred_at": "soon"}, "unparsable occurred_at"),
        ({"occurred_at": "2099-01-01 10:00:00"}, "occurred_at later than the build"),
        ({"event_type": ""}, "missing event_type"),
    ],
    "social_edges": [
        ({"related_customer_id": "@same"}, "customer linked to itself"),
        ({"customer_id": "C-X", "related_customer_id": "C-Y", "relation": "colleague"}, "unknown relation"),
        ({}, "duplicate link"),
        ({"related_customer_id": ""}, "missing related_customer_id"),
    ],
    "fraud_labels": [
        ({"is_fraud": "maybe"}, "unparsable is_fraud"),
        ({"transaction_id": "NO-SUCH-ORDER"}, "orphan label"),
        ({}, "duplicate transaction_id"),
        ({"transaction_id": ""}, "missing transaction_id"),
    ],
}


def _append_bad_rows(folder: Path) -> None:
    for table, bad_rows in BAD_ROWS.items():
        path = folder / f"{table}.csv"
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            first = next(reader)
        with open(path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            for overrides, _reason in bad_rows:
                row = dict(first)
                row.update(overrides)
                if row.get("related_customer_id") == "@same":
                    row["related_customer_id"] = row["customer_id"]
                writer.writerow(row)


@pytest.fixture(scope="module")
def dirty_build(tmp_path_factory) -> Build:
    raw = tmp_path_factory.mktemp("dirty_raw")
    demo_data.write(raw, n_customers=800, seed=5, fmt="csv")
    _append_bad_rows(raw)
    build = dbt_build(tmp_path_factory.mktemp("dirty_build"), raw)
    assert build.returncode == 0, build.output[-6000:]
    return build


@pytest.mark.parametrize("table", list(BAD_ROWS))
def test_every_bad_row_is_rejected_with_its_reason(dirty_build: Build, table: str) -> None:
    rejected = dirty_build.query(f"select rejection_reason from staging.{table}_rejected")
    reasons = [reason for (reason,) in rejected]
    assert len(reasons) == len(BAD_ROWS[table]), reasons
    for _overrides, expected in BAD_ROWS[table]:
        assert any(expected in reason for reason in reasons), (expected, reasons)


@pytest.mark.parametrize("table", list(BAD_ROWS))
def test_rows_read_equal_accepted_plus_rejected(dirty_build: Build, table: str) -> None:
    read, accepted, rejected = dirty_build.query(
        f"select rows_read, rows_accepted, rows_rejected from marts.data_quality where table_name = '{table}'"
    )[0]
    source_file = dirty_build.scalar(
        f"select source_file from marts.data_quality where table_name = '{table}'"
    )
    # As the build names it: relative to the folder the build ran in (tests/e2e/dbt_runner.py).
    with open(dirty_build.database.parent / source_file) as handle:
        lines_in_file = sum(1 for _ in csv.reader(handle)) - 1
    assert read == lines_in_file
    assert read == accepted + rejected
    assert rejected == len(BAD_ROWS[table])
    assert accepted == dirty_build.scalar(f"select count(*) from staging.stg_raw__{table}")


def test_rejects_are_reported_as_warnings(dirty_build: Build) -> None:
    assert "WARN" in dirty_build.output
    assert "has_no_rows_transactions_rejected" in dirty_build.output


def test_rejects_keep_the_raw_text_and_the_file(dirty_build: Build) -> None:
    amount, source_file, row_number = dirty_build.query(
        "select amount, source_file, source_row_number from staging.transactions_rejected "
        "where transaction_id = 'BAD-4'"
    )[0]
    assert amount == "twelve"
    assert source_file.endswith("transactions.csv")
    assert row_number > 1


def test_too_many_rejects_fail_the_build(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "transactions.csv").write_text(
        "transaction_id,customer_id,transacted_at,amount\n"
        "t1,c1,2026-01-05,10\n"
        "t2,c2,2026-01-06,not-a-number\n"
    )
    build = dbt_build(
        tmp_path / "build", raw, args=("--select", "staging", "int_raw_tables_counted", "data_quality")
    )
    assert build.returncode != 0
    assert "reject_share_below_transactions_rejected" in build.output
    # The report of the rejects still builds, and says which table is over the limit.
    assert build.query(
        "select rows_read, rows_accepted, rows_rejected, is_over_reject_limit from marts.data_quality"
        " where table_name = 'transactions'"
    ) == [(2, 1, 1, True)]

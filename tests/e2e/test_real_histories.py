"""Histories real data has and a generator rarely makes never stop the build: every mart is built, and
each odd customer is segmented, scored and explained with features that still mean something."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.contract import contract_violations
from tests.e2e.dbt_runner import Build, dbt_build
from tests.e2e.histories import ODD_CUSTOMERS, write_odd_histories, write_transactions


@pytest.fixture(scope="module")
def odd_build(tmp_path_factory) -> Build:
    raw = write_odd_histories(tmp_path_factory.mktemp("odd_histories_raw"))
    build = dbt_build(tmp_path_factory.mktemp("odd_histories_build"), raw)
    assert build.returncode == 0, build.output[-6000:]
    return build


def _current(build: Build, customer_id: str, columns: str) -> tuple:
    return build.query(
        f"select {columns} from intermediate.int_customers_features "
        "where snapshot_name = 'current' and customer_id = ?".replace("?", f"'{customer_id}'")
    )[0]


def test_every_mart_keeps_the_contract(odd_build: Build) -> None:
    assert contract_violations(odd_build.database) == []
    # No error-severity test failed or was skipped: warnings only.
    assert " ERROR=0 SKIP=0 " in odd_build.output


@pytest.mark.parametrize("customer_id", [customer for customer, _, _ in ODD_CUSTOMERS])
def test_each_odd_customer_is_segmented_and_scored(odd_build: Build, customer_id: str) -> None:
    row = odd_build.query(
        "select segment_name, churn_risk, predicted_ltv, anomaly_score, frequency, monetary "
        f"from marts.customer_segments where customer_id = '{customer_id}'"
    )
    assert len(row) == 1, customer_id
    segment_name, churn_risk, predicted_ltv, anomaly_score, frequency, monetary = row[0]
    assert segment_name
    assert 0 <= churn_risk <= 1 and predicted_ltv >= 0 and 0 <= anomaly_score <= 1
    assert frequency >= 0 and monetary >= 0
    scored = odd_build.scalar(
        f"select count(*) from marts.fraud_customer_scores where customer_id = '{customer_id}'"
    )
    assert scored == 1


def test_refunds_beyond_the_orders_count_as_all_returned(odd_build: Build) -> None:
    refund_rate, chargeback_rate, returned = _current(
        odd_build, "odd-refunds-exceed-orders", "refund_rate, chargeback_rate, returned_amount_share"
    )
    assert (refund_rate, chargeback_rate, returned) == (1.0, 1.0, 1.0)
    # Refund-only and chargeback-only customers have no orders: the shares are unknown, not zero.
    for customer_id in ("odd-refund-only", "odd-chargeback-only"):
        frequency, monetary, refund_rate, returned = _current(
            odd_build, customer_id, "frequency, monetary, refund_rate, returned_amount_share"
        )
        assert (frequency, monetary, refund_rate, returned) == (0, 0, None, None)
    net_revenue, monetary = _current(odd_build, "odd-negative-net", "net_revenue, monetary")
    assert net_revenue < 0 and monetary == 0


def test_odd_values_keep_their_meaning(odd_build: Build) -> None:
    # Offsets are converted to UTC; naive timestamps stand as they are; 1965 is a date like any other.
    times = dict(
        odd_build.query(
            "select transaction_id, cast(transacted_at as varchar) from staging.stg_raw__transactions "
            "where transaction_id in ('odd-10a', 'odd-10b', 'odd-10c', 'odd-11a')"
        )
    )
    assert times == {
        "odd-10a": "2025-03-01 21:30:00",
        "odd-10b": "2025-03-09 01:30:00",
        "odd-10c": "2025-05-09 23:00:00",
        "odd-11a": "1965-05-01 00:00:00",
    }
    assert float(_current(odd_build, "odd-huge-amount", "monetary")[0]) == pytest.approx(1_999_999_999_999.99)
    recency, frequency = _current(odd_build, "odd-one-day", "recency_days, frequency")
    assert frequency == 5 and recency > 0
    # An item without a category is rejected with its reason; nothing else is.
    reasons = odd_build.query("select item_id, rejection_reason from staging.items_rejected")
    assert reasons == [("item-without-category", "missing category")]
    assert odd_build.scalar("select count(*) from staging.transactions_rejected") == 0


def test_empty_optional_tables_leave_their_features_null(odd_build: Build) -> None:
    present = dict(odd_build.query("select table_name, rows_read from marts.data_quality"))
    assert present["social_edges"] == 0 and present["fraud_labels"] == 0
    assert (
        odd_build.scalar(
            "select count(*) from marts.fraud_transaction_scores where supervised_score is not null"
        )
        == 0
    )


SMALL_DATA = {
    "a single customer": [
        ("t1", "solo", "2025-01-05 10:00:00", "10.00"),
        ("t2", "solo", "2025-03-05 10:00:00", "12.00"),
        ("t3", "solo", "2025-06-05 10:00:00", "14.00"),
    ],
    "fewer customers than segments": [
        (f"t{i}-{j}", f"c{i}", f"2025-0{j + 1}-1{i} 10:00:00", f"{5 + i * j}.00")
        for i in range(5)
        for j in range(i + 1)
    ],
    "every order on one day": [
        (
            f"t{i}",
            f"c{i % 120}",
            f"2025-05-05 {8 + i % 12:02d}:{(7 * i) % 60:02d}:00",
            f"{5 + (13 * i) % 190}.50",
        )
        for i in range(360)
    ],
}


@pytest.mark.parametrize("case", list(SMALL_DATA))
def test_small_or_flat_data_builds_every_mart(case: str, tmp_path: Path) -> None:
    raw = write_transactions(tmp_path / "raw", SMALL_DATA[case])
    build = dbt_build(tmp_path / "build", raw)
    assert build.returncode == 0, build.output[-6000:]
    customers = len({row[1] for row in SMALL_DATA[case]})
    assert build.scalar("select count(*) from marts.customer_segments") == customers
    marts = ["customer_segments", "segment_profiles", "fraud_transaction_scores", "fraud_customer_scores"]
    assert contract_violations(build.database, marts) == []
    # The evaluation says why the segments are what they are.
    assert build.scalar("select count(*) from marts.model_evaluation where task = 'segmentation'") > 0

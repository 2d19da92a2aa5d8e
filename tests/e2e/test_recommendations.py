"""The recommender end to end on the demo data: the backtest on every build, and lists with reasons."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from tests.e2e.dbt_runner import Build, dbt_build


def _backtest(build: Build, metric: str) -> dict[str, float]:
    return dict(
        build.query(
            "select model, value from marts.model_evaluation "
            f"where task = 'recommendation' and metric = '{metric}'"
        )
    )


def test_backtest_covers_the_recommender_and_three_baselines(demo_build: Build) -> None:
    for k in (3, 10):
        for level in ("item", "category"):
            for measure in ("hit_rate", "recall", "ndcg"):
                scores = _backtest(demo_build, f"{level}_{measure}_at_{k}")
                assert set(scores) == {
                    "recommender",
                    "global_popularity",
                    "segment_popularity",
                    "own_history",
                }
                assert all(0 <= value <= 1 for value in scores.values()), scores
        assert set(_backtest(demo_build, f"catalogue_coverage_at_{k}")) >= {
            "recommender",
            "global_popularity",
        }


def test_recommender_beats_popularity_and_own_history(demo_build: Build) -> None:
    for metric in ("item_hit_rate_at_10", "item_ndcg_at_10"):
        scores = _backtest(demo_build, metric)
        assert scores["recommender"] > scores["global_popularity"], (metric, scores)
        assert scores["recommender"] > scores["own_history"], (metric, scores)
    new_category = _backtest(demo_build, "new_category_hit_rate_at_3")
    assert new_category["recommender"] > new_category["global_popularity"], new_category


def test_lists_mix_repeat_purchases_discovery_and_reasons_in_words(demo_build: Build) -> None:
    kinds = dict(
        demo_build.query("select reason_kind, count(*) from marts.customer_recommendations group by 1")
    )
    assert {"own_history", "segment"} <= set(kinds), kinds
    assert (
        demo_build.scalar("select count(*) from marts.customer_recommendations where is_repeat_purchase") > 0
    )
    # Discovery slots: within the first recommendation_discovery_rank (3) positions, at most two per
    # customer, always in distinct categories new to the customer (on the demo data one is enough: the
    # likeliest new category alone beats what a best-seller list opens).
    per_customer = dict(
        demo_build.query(
            "select slots, count(*) from (select customer_id, count(*) as slots, "
            "count(distinct category) as categories, bool_and(is_new_category and rank <= 3) as placed "
            "from marts.customer_recommendations where is_discovery group by customer_id "
            "having placed and categories = slots) group by slots"
        )
    )
    discovery_rows = demo_build.scalar(
        "select count(*) from marts.customer_recommendations where is_discovery"
    )
    assert set(per_customer) <= {1, 2} and per_customer.get(1, 0) > 0, per_customer
    assert sum(slots * n for slots, n in per_customer.items()) == discovery_rows
    # Every customer with a purchase gets a list.
    assert (
        demo_build.scalar(
            "select count(*) from (select distinct customer_id from intermediate.int_order_lines) "
            "anti join marts.customer_recommendations using (customer_id)"
        )
        == 0
    )
    reasons = [r for (r,) in demo_build.query("select distinct reason from marts.customer_recommendations")]
    assert any(r.startswith("you bought it") for r in reasons)
    assert any(r.startswith("new for you: ") for r in reasons)
    assert not any("_" in r.split('"')[0] for r in reasons), "a reason reads like a column name"


# What a rebuild of the recommender and of the fraud features recomputes: (table, the columns compared).
REBUILT = {
    "marts.customer_recommendations": "*",
    "marts.segment_item_affinity": "*",
    "intermediate.int_customers_recommendation_candidates": "*",
    "intermediate.int_transactions_risk": "*",
    "marts.model_evaluation": "task, model, metric, value",
}


def test_a_rebuild_gives_the_same_figures_bit_for_bit(
    demo_build: Build, demo_dir: Path, tmp_path: Path
) -> None:
    """Float sums go through exact decimals and ties are broken by id, so DuckDB's threads adding rows in
    another order cannot change a score, a share or the item a reason names."""
    shutil.copy(demo_build.database, tmp_path / "warehouse.duckdb")
    selection = ("--select", "int_customers_item_history+", "int_transactions_risk")
    rebuilt = dbt_build(tmp_path, demo_dir, None, (*selection, "--exclude", "serving_publication"))
    assert rebuilt.returncode == 0, rebuilt.output[-4000:]
    with duckdb.connect() as con:
        con.execute(f"attach '{demo_build.database}' as first (read_only)")
        con.execute(f"attach '{rebuilt.database}' as again (read_only)")
        for table, columns in REBUILT.items():
            query = f"select {columns} from first.{table} except all select {columns} from again.{table}"
            assert con.execute(f"select count(*) from ({query})").fetchone()[0] == 0, table

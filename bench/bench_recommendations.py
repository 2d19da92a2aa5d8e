"""The recommender's backtest on shopping data made independently of the demo generator, and its cost
at scale.

    .venv/bin/python bench/bench_recommendations.py --customers 20000 [--seed 3] [--scenario all]
    .venv/bin/python bench/bench_recommendations.py --scale --customers 200000 --items 5000

Each scenario writes transactions, transaction_items and items laid out as the data contract says, runs
the project's `dbt build` of the recommender's subgraph on them in a scratch folder, and prints its
backtest (the rows marts.model_evaluation shows as task 'recommendation'): the recommender against
global popularity, segment popularity and the customer's own history. What the scenarios vary, none
of which the demo generator has:

- staples: most purchases are repeat purchases of a few consumable items a customer keeps re-buying;
- bundles: items bought together with a complement from another category;
- explorers: customers keep adopting categories new to them, so what they buy next is often new;
- flat: weak preferences and a flat catalogue, where popularity is hard to beat.

--scale times the recommendation nodes alone: demo data with `--items` items, the feature layer built
by dbt, segments stood in for by a hash of the customer id into six segments (the neural segmentation
is not what is measured), then `dbt run` of the recommendation models, seconds per node from dbt's
run_results.json.

Two more, written down before any result of the discovery slots' design was seen and never used to
choose it (`--scenario held-out` runs them): 'mixed' (middling everything, few consumables) and
'wanderers' (fast category adoption, flat preferences, a steep catalogue, many consumables).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
from demo_features import dbt_build_folder, peak_rss_mib

from tools import demo_data

PROJECT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Scenario:
    repeat_probability: float  # chance an order line in a consumable category re-buys a staple
    complement_probability: float  # chance a line brings its complement into the same order
    adoption_rate: float  # new categories a customer adopts per year
    preference_concentration: float  # Dirichlet concentration of category preferences (low = focused)
    zipf_exponent: float  # popularity skew of items within a category
    consumable_share: float = 0.5  # share of categories whose items are re-bought


SCENARIOS = {
    "staples": Scenario(0.7, 0.1, 0.3, 0.3, 1.1),
    "bundles": Scenario(0.3, 0.5, 0.3, 0.3, 1.1),
    "explorers": Scenario(0.3, 0.2, 3.0, 0.5, 1.1),
    "flat": Scenario(0.2, 0.05, 1.0, 3.0, 0.6),
}
HELD_OUT = {
    "mixed": Scenario(0.5, 0.3, 1.5, 1.0, 0.9, consumable_share=0.3),
    "wanderers": Scenario(0.4, 0.1, 2.0, 1.5, 1.4, consumable_share=0.7),
}


def generate(out: Path, n_customers: int, scenario: Scenario, seed: int) -> Path:
    """Write transactions.csv, transaction_items.csv and items.csv for `n_customers` into `out`."""
    rng = np.random.default_rng(seed)
    n_categories, per_category = 20, 100
    n_items = n_categories * per_category
    item_category = np.repeat(np.arange(n_categories), per_category)
    consumable = rng.random(n_categories) < scenario.consumable_share
    price = np.round(np.exp(rng.normal(3.0, 0.8, n_items)), 2)
    ranks = np.tile(np.arange(1, per_category + 1), n_categories)
    popularity = ranks ** (-scenario.zipf_exponent)
    complement = (
        item_category * per_category + rng.integers(0, per_category, n_items) + per_category * 3
    ) % n_items
    end = dt.datetime(2026, 6, 30)
    days = 730
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "items.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "category", "price"])
        for item in range(n_items):
            writer.writerow([f"it{item:05d}", f"cat{item_category[item]:02d}", price[item]])
    tx = open(out / "transactions.csv", "w", newline="")  # noqa: SIM115 - closed below
    lines = open(out / "transaction_items.csv", "w", newline="")  # noqa: SIM115
    tx_writer, line_writer = csv.writer(tx), csv.writer(lines)
    tx_writer.writerow(["transaction_id", "customer_id", "transacted_at", "amount"])
    line_writer.writerow(["transaction_id", "item_id", "quantity", "unit_price"])
    order_number = 0
    for customer in range(n_customers):
        preference = rng.dirichlet(np.full(n_categories, scenario.preference_concentration))
        start = rng.uniform(0, days * 0.8)
        rate = rng.gamma(1.2, 12.0) / 365.0  # orders per day, heavy-tailed
        times = np.sort(start + np.cumsum(rng.exponential(1 / rate, size=int(rate * days * 2) + 2)))
        times = times[times < days]
        adopted = set(np.flatnonzero(preference > 1.0 / n_categories).tolist()) or {int(preference.argmax())}
        staples: dict[int, list[int]] = {}
        previous = start
        for t in times:
            # New categories are adopted as a Poisson process of adoption_rate a year.
            if rng.random() < 1 - np.exp(-scenario.adoption_rate * (t - previous) / 365.0):
                adopted.add(int(rng.integers(n_categories)))
            previous = t
            weights = np.array([preference[c] + 0.02 if c in adopted else 0.0 for c in range(n_categories)])
            basket = []
            for _ in range(1 + rng.poisson(0.8)):
                category = int(rng.choice(n_categories, p=weights / weights.sum()))
                own = staples.setdefault(category, [])
                if consumable[category] and own and rng.random() < scenario.repeat_probability:
                    item = own[int(rng.integers(len(own)))]
                else:
                    block = np.arange(category * per_category, (category + 1) * per_category)
                    item = int(rng.choice(block, p=popularity[block] / popularity[block].sum()))
                    if consumable[category] and len(own) < 3:
                        own.append(item)
                basket.append(item)
                if rng.random() < scenario.complement_probability:
                    basket.append(int(complement[item]))
            basket = list(dict.fromkeys(basket))
            order_number += 1
            tid = f"o{order_number:08d}"
            quantities = 1 + rng.poisson(0.3, len(basket))
            amount = float(np.sum(price[basket] * quantities))
            at = end - dt.timedelta(days=days - t)
            tx_writer.writerow([tid, f"cu{customer:06d}", at.strftime("%Y-%m-%d %H:%M:%S"), f"{amount:.2f}"])
            for item, quantity in zip(basket, quantities, strict=True):
                line_writer.writerow([tid, f"it{item:05d}", int(quantity), price[item]])
    tx.close()
    lines.close()
    return out


# The recommender's subgraph only (segmentation included, since candidates come from segments); churn,
# value and fraud do not feed it and would only add build time.
SELECT = ["+int_recommendations_backtest", "+customer_recommendations"]


def build(raw: Path, work: Path) -> tuple[Path, float]:
    started = time.perf_counter()
    database = dbt_build_folder(raw, work, SELECT)
    return database, time.perf_counter() - started


METRICS = ["category_hit_rate_at_3", "new_category_hit_rate_at_3", "item_hit_rate_at_10", "item_ndcg_at_10"]
MODELS = ["recommender", "global_popularity", "segment_popularity", "own_history"]


RECOMMENDATION_NODES = [
    "int_order_lines",
    "int_recommendation_customer_keys",
    "int_recommendation_item_keys",
    "int_customers_item_history",
    "int_customers_item_outcomes",
    "int_items_statistics",
    "int_items_copurchases",
    "int_customers_recommendation_population",
    "int_customers_recommendation_history",
    "int_customers_category_shares",
    "int_customers_copurchase_signals",
    "int_customers_copurchase_candidates",
    "int_segments_item_shares",
    "int_customers_recommendation_candidate_items",
    "int_customers_recommendation_candidates",
    "recommendation_model_blend_weights",
    "int_customers_candidate_scores",
    "int_customers_discovery_doors",
    "int_customers_recommendation_scores",
    "int_recommendations_backtest",
    "customer_recommendations",
]


def scale(n_customers: int, n_items: int, work: Path, seed: int) -> None:
    """Print seconds per recommendation node on `n_customers` demo customers and `n_items` items."""
    started = time.perf_counter()
    raw = Path(demo_data.write(work / "raw", n_customers=n_customers, seed=seed, n_items=n_items))
    print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    started = time.perf_counter()
    features = ["+int_order_lines", "+int_as_of_dates", "+int_customers_features"]
    database = dbt_build_folder(raw, work, features)
    print(f"features built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    with duckdb.connect(str(database)) as con:
        con.execute("create schema if not exists ml")
        con.execute(
            "create or replace table ml.segmentation_model_assignments as "
            "select distinct customer_id, cast(hash(customer_id || '#segment') % 6 as bigint) as segment_id "
            "from intermediate.int_customers_features"
        )
        con.execute(
            "create or replace table ml.segmentation_model_descriptions as "
            "select segment_id, 'segment ' || segment_id as segment_name from range(6) as r(segment_id)"
        )
        lines = con.execute("select count(*) from intermediate.int_order_lines").fetchone()[0]
    target = work / "target"
    started = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "run",
            "--select",
            *RECOMMENDATION_NODES,
            "--threads",
            "1",
            "--vars",
            json.dumps({"raw_data_path": str(raw)}),
            "--target-path",
            str(target),
            "--log-path",
            str(work / "logs"),
            "--quiet",
        ],
        cwd=PROJECT,
        env={**os.environ, "SEGMENTATION_DB_PATH": str(database)},
        check=True,
    )
    wall = time.perf_counter() - started
    results = json.loads((target / "run_results.json").read_text())["results"]
    print(f"| node ({n_customers:,} customers, {n_items:,} items, {lines:,} order lines) | seconds |")
    print("| --- | --- |")
    for result in results:
        print(f"| {result['unique_id'].split('.')[-1]} | {result['execution_time']:.1f} |")
    print(f"| all (dbt run wall, one thread) | {wall:.1f} |")
    print(f"peak memory of the generator process {peak_rss_mib():.0f} MiB", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--scenario", choices=[*SCENARIOS, *HELD_OUT, "all", "held-out"], default="all")
    parser.add_argument("--scale", action="store_true", help="time the recommendation nodes at scale")
    parser.add_argument("--items", type=int, default=5000, help="catalogue size with --scale")
    parser.add_argument("--keep", type=Path, help="keep the raw files and database in KEEP[/<scenario>]")
    args = parser.parse_args()
    if args.scale:
        with tempfile.TemporaryDirectory() as scratch:
            scale(args.customers, args.items, args.keep or Path(scratch), args.seed)
        return
    scenarios = {**SCENARIOS, **HELD_OUT}
    groups = {"all": list(SCENARIOS), "held-out": list(HELD_OUT)}
    names = groups.get(args.scenario, [args.scenario])
    print(f"| scenario | recommender | {' | '.join(METRICS)} |")
    print(f"| --- | --- |{' --- |' * len(METRICS)}")
    for name in names:
        with tempfile.TemporaryDirectory() as scratch:
            work = args.keep / name if args.keep else Path(scratch)
            raw = generate(work / "raw", args.customers, scenarios[name], args.seed)
            database, seconds = build(raw, work)
            with duckdb.connect(str(database), read_only=True) as con:
                rows = con.execute(
                    "select model, metric, value from intermediate.int_recommendations_backtest"
                ).fetchall()
            values = {(model, metric): value for model, metric, value in rows}
            for model in MODELS:
                figures = " | ".join(f"{values.get((model, metric), float('nan')):.3f}" for metric in METRICS)
                print(f"| {name} | {model} | {figures} |", flush=True)
            print(f"(build {seconds:.0f} s)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

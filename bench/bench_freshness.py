"""A daily build against a full one: one more day of raw data, built with the stored models.

Usage::

    PYTHONPATH=src .venv/bin/python bench/bench_freshness.py --customers 100000 [--work DIR]
        [--no-full-refresh]

For N customers: the demo data (as bench_scale.py generates it, reused when its manifest matches), cut
into yesterday's and today's exports (tools/daily_export.py: today = yesterday's rows, then the last
day's); yesterday built from scratch, models trained; its warehouse copied twice; today's export built
into one copy as the daily build a scheduler runs (`dbt build`, default vars: the risk features and
fraud scores are computed for what changed, staging validates every row unless var incremental_staging is
set, the retrain policy decides whether to retrain) and into the other with
`--full-refresh` and `incremental_fraud_scores: false` (every row validated, every risk feature computed
and every transaction scored again; the same stored models). Prints each build's wall time, CPU
seconds and peak memory (`/usr/bin/time -v`), its stages (bench_scale.STAGES, sums of node seconds), how
many nodes executed at once (bench_scale.concurrency), the daily build against the two full ones, what
the retrain policy decided, and whether the daily and the full-refresh builds hold the same tables (the
comparison of tests/e2e/test_freshness.py).
"""

from __future__ import annotations

import _paths  # noqa: F401  (the repository root on sys.path, for tools.daily_export)

# isort: split
import argparse
import os
import shutil
from pathlib import Path

from bench_scale import STAGES, alone_longest_text, at_once_text, dbt_build, generate, stage_of

from tools import daily_export


def build(
    raw: Path,
    out: Path,
    extra: tuple[str, ...] = (),
    start_from: Path | None = None,
    extra_vars: dict | None = None,
) -> dict:
    """bench_scale.dbt_build (default threads and memory), with each stage's node seconds, the retrain
    decisions and the number of staging tables validated incrementally, read from its log."""
    result = dbt_build(
        raw, out, argparse.Namespace(threads=None, memory_limit=None), extra, start_from, extra_vars
    )
    stages: dict[str, float] = {}
    for unique_id, (seconds, _) in result["nodes"].items():
        stages[stage_of(unique_id)] = stages.get(stage_of(unique_id), 0.0) + seconds
    lines = (out / "logs" / "dbt.log").read_text().splitlines()
    result["stages"] = stages
    result["retrained"] = sorted(
        {line.split("] ", 1)[-1].strip() for line in lines if "training a new" in line}
    )
    result["revalidated_tables"] = sum("validating the rows new or changed" in line for line in lines)
    return result


def report(name: str, result: dict) -> None:
    print(
        f"  {name}: {result['wall_s']:.0f} s wall, {result['cpu_s']:.0f} CPU s,"
        f" peak {result['peak_gib']:.2f} GiB"
        f" (exit {result['rc']}; staging tables validated incrementally: {result['revalidated_tables']})"
    )
    for stage, _ in STAGES:
        if stage in result["stages"]:
            print(f"      {stage:<26} {result['stages'][stage]:8.1f} node-s")
    busy = result["concurrency"]
    print(
        f"      nodes executing at once over {busy['span_s']:.0f} s: {at_once_text(busy)};"
        f" alone longest: {alone_longest_text(busy, 3)}"
    )
    for line in result["retrained"]:
        print(f"      retrain decision: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/segmentation_fresh"), help="scratch folder")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--no-full-refresh",
        action="store_true",
        help="skip the --full-refresh build and the comparison (the daily build against the first only)",
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    raw = generate(args.customers, args.work, args.seed)
    yesterday, today = args.work / f"yesterday_{args.customers}", args.work / f"today_{args.customers}"
    for folder in (yesterday, today):
        shutil.rmtree(folder, ignore_errors=True)
    before, after = daily_export.split_folder(raw, yesterday, today)
    print(f"  transactions: {before:,} yesterday, {after:,} today (+{after - before:,})")
    first = build(yesterday, args.work / "fresh_yesterday")
    report("yesterday, from scratch (models trained)", first)
    daily = build(today, args.work / "fresh_daily", start_from=first["warehouse"])
    report("today, daily build", daily)
    if args.no_full_refresh:
        print(
            f"  daily / from scratch: {daily['wall_s'] / first['wall_s']:.2f} wall, "
            f"{daily['cpu_s'] / first['cpu_s']:.2f} CPU"
        )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        return
    full = build(
        today,
        args.work / "fresh_full",
        ("--full-refresh",),
        start_from=first["warehouse"],
        extra_vars={"incremental_fraud_scores": False},
    )
    report("today, --full-refresh, every transaction scored (same stored models)", full)
    print(
        f"  daily / from scratch: {daily['wall_s'] / first['wall_s']:.2f} wall, "
        f"{daily['cpu_s'] / first['cpu_s']:.2f} CPU; daily / full refresh: "
        f"{daily['wall_s'] / full['wall_s']:.2f} wall, {daily['cpu_s'] / full['cpu_s']:.2f} CPU"
    )
    compared, differing = daily_export.differing_tables(daily["warehouse"], full["warehouse"])
    verdict = "identical" if not differing else "DIFFER: " + ", ".join(differing)
    print(f"  daily and full-refresh tables ({compared} compared): {verdict}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

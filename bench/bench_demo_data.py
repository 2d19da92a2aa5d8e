"""Time the demo data generator: ``generate`` and ``write`` for a customer count given on the command line.

Usage: ``.venv/bin/python bench/bench_demo_data.py [N_CUSTOMERS] [--format parquet|csv] [--out DIR]``
(default 1,000,000 customers, parquet, a temporary folder). Prints seconds, rows per table and peak memory.
Writes the truth tables too; the manifest is left out (see ``tools.demo_data.write``).
"""

from __future__ import annotations

import _paths  # noqa: F401  (the repository root on sys.path, for tools.demo_data)

# isort: split
import argparse
import tempfile
import time
from pathlib import Path

from demo_features import peak_rss_mib

from tools.demo_data import generate


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    args = parser.parse_args(argv)

    print(f"customers: {args.customers:,}  seed: {args.seed}  format: {args.format}")
    t0 = time.perf_counter()
    data = generate(n_customers=args.customers, seed=args.seed)
    t_generate = time.perf_counter() - t0
    print(f"generate: {t_generate:.1f} s  (peak RSS so far {peak_rss_mib():,.0f} MiB)")

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        data.save(out, args.format)
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        t_write = time.perf_counter() - t0
    print(f"write:    {t_write:.1f} s  ({size / 2**20:,.0f} MiB on disk)")
    print(f"total:    {t_generate + t_write:.1f} s")
    print("rows:")
    for name, table in {**data.tables, **{f"_truth/{k}": v for k, v in data.truth.items()}}.items():
        print(f"  {name:<26} {table.num_rows:>12,}  ({table.num_rows / args.customers:.2f} per customer)")
    print(f"peak RSS: {peak_rss_mib():,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time the raw CSV loading: `dbt run --select base_raw__transactions` on a generated transactions.csv.

    .venv/bin/python bench/bench_raw_loading.py 2000000 [--bad-lines 10] [--project-dir DIR] [--repeat 3]

Writes N rows of ten columns (about 72 bytes a row), optionally with some lines made undecodable
(a latin-1 byte in the customer id), and prints the model's time as dbt reports it, for each repeat.
--project-dir runs another checkout of the project (for example `git archive <commit>` of an older
loader) on the same file, to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parents[1]


def write_transactions(path: Path, rows: int, bad_lines: int) -> None:
    duckdb.sql(
        f"""
        copy (
            select
                't' || i as transaction_id,
                'c' || (i % 230000) as customer_id,
                timestamp '2025-01-01' + to_seconds(i * 13) as transacted_at,
                round((i % 997) / 7.0, 2) as amount,
                1 + i % 3 as quantity,
                case when i % 50 = 0 then 'refunded' else 'completed' end as status,
                'card' as payment_method,
                'd' || (i % 5000) as device_id,
                'US' as ip_country,
                'web' as channel
            from range({rows}) as t(i)
        ) to '{path}' (header)
        """
    )
    if bad_lines:
        lines = path.read_bytes().split(b"\n")
        for k in range(1, len(lines) - 1, max(1, (len(lines) - 2) // bad_lines)):
            lines[k] = lines[k].replace(b",c", b",c\xe9", 1)
        path.write_bytes(b"\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rows", type=int, nargs="?", default=2_000_000)
    parser.add_argument("--bad-lines", type=int, default=0)
    parser.add_argument("--project-dir", type=Path, default=HERE)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dbt = Path(sys.executable).with_name("dbt")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "raw").mkdir()
        csv_path = work / "raw" / "transactions.csv"
        write_transactions(csv_path, args.rows, args.bad_lines)
        print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.0f} MB, {args.bad_lines} bad lines")
        seconds = []
        for attempt in range(args.repeat):
            env = {**os.environ, "SEGMENTATION_DB_PATH": str(work / f"w{attempt}.duckdb")}
            done = subprocess.run(
                [
                    str(dbt),
                    "run",
                    "--project-dir",
                    str(args.project_dir),
                    "--profiles-dir",
                    str(args.project_dir),
                    "--select",
                    "base_raw__transactions",
                    "--vars",
                    json.dumps({"raw_data_path": str(work / "raw")}),
                    "--target-path",
                    str(work / "target"),
                    "--log-path",
                    str(work / "logs"),
                ],
                capture_output=True,
                text=True,
                env=env,
            )
            found = re.search(r"base_raw__transactions .*?OK\S* in ([0-9.]+)s", done.stdout)
            if done.returncode != 0 or not found:
                sys.exit(done.stdout[-3000:])
            seconds.append(float(found.group(1)))
            print(f"run {attempt + 1}: {seconds[-1]:.2f} s")
            (work / f"w{attempt}.duckdb").unlink()
        print(f"median {statistics.median(seconds):.2f} s")


if __name__ == "__main__":
    main()

"""Profile SQL models of a finished build one at a time, each alone, on that build's own warehouse.

Usage: ``.venv/bin/python bench/bench_node.py BUILD MODEL [MODEL ...] [--variant MODEL=FILE] [--repeat N]``

BUILD is the folder of a finished ``dbt build`` (``target/compiled`` and ``warehouse.duckdb``, as
``bench/bench_scale.py`` leaves them in ``<work>/build_<N>``; for the demo build, the repository root with
``--database segmentation.duckdb``). MODEL is a model's name (``int_segments_item_shares``). Each query
runs as ``create table ... as`` on a fresh scratch file with the warehouse attached read-only, with the
profile's DuckDB settings (2 threads, 4 GB; ``--threads``, ``--memory-limit``; any other with
``--setting NAME=VALUE``), so a node's cost is
measured without the rest of the build beside it. Prints per run: wall and CPU seconds, the rows written,
and, from DuckDB's JSON profile, the heaviest operators and the CTEs DuckDB materialized (each a copy of
every column it reads, held for the whole query: ``not_materialized()`` in ``macros/`` makes it read
again instead). Then a fingerprint of the result (rows and the sum of every row's hash).

``--variant MODEL=FILE`` runs FILE (compiled SQL, e.g. an edited copy of
``target/compiled/.../MODEL.sql``) after the model's own query, alternating with it ``--repeat`` times,
and says whether the two results are the same rows: how a rewrite of a heavy node is measured before it
is made (``docs/measurements.md`` records each one).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb

OPERATOR_INFO = ("Table", "Join Type", "Conditions", "Groups", "Aggregates", "Projections", "CTE Name")


def compiled_sql(build: Path, model: str) -> Path:
    """The compiled SQL of `model` under BUILD's target/compiled (the one file named MODEL.sql)."""
    found = [p for p in (build / "target" / "compiled").rglob(f"{model}.sql") if ".yml" not in str(p)]
    if len(found) != 1:
        raise SystemExit(f"{model}: {len(found)} compiled files under {build}/target/compiled (build first)")
    return found[0]


def operators(node: dict) -> list[dict]:
    """Every operator of a DuckDB JSON profile, flattened."""
    out = [node]
    for child in node.get("children", []):
        out.extend(operators(child))
    return out


def run(
    database: Path, sql: str, threads: int, memory_limit: str, top: int, settings: tuple[str, ...] = ()
) -> tuple[str, dict]:
    """Runs `sql` alone, after `set NAME = VALUE` for each of `settings`; returns (the fingerprint of its
    rows, its figures)."""
    with tempfile.TemporaryDirectory() as scratch:
        con = duckdb.connect(str(Path(scratch) / "scratch.duckdb"))
        con.execute(f"set threads = {threads}; set memory_limit = '{memory_limit}'")
        for setting in settings:
            name, value = setting.split("=", 1)
            con.execute(f"set {name} = {value}")
        con.execute(f"attach '{database}' as warehouse (read_only)")
        profile = Path(scratch) / "profile.json"
        con.execute(f"pragma enable_profiling = 'json'; pragma profiling_output = '{profile}'")
        wall, cpu = time.perf_counter(), time.process_time()
        con.execute(f"create table result as {sql}")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        con.execute("pragma disable_profiling")
        ops = operators(json.loads(profile.read_text()))
        rows, digest = con.execute("select count(*), coalesce(sum(hash(result)), 0) from result").fetchone()
        con.close()
    timed = sorted(ops, key=lambda op: -(op.get("operator_timing") or 0))
    heaviest = [
        (
            round(op.get("operator_timing") or 0, 2),
            op.get("operator_name"),
            op.get("operator_cardinality"),
            {k: str(v)[:100] for k, v in (op.get("extra_info") or {}).items() if k in OPERATOR_INFO},
        )
        for op in timed[:top]
    ]
    ctes = [(op.get("extra_info") or {}).get("CTE Name") for op in ops if op.get("operator_name") == "CTE"]
    return f"{rows} rows, hash sum {digest}", {
        "wall": wall,
        "cpu": cpu,
        "heaviest": heaviest,
        "materialized_ctes": ctes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("build", type=Path, help="a finished build's folder (target/compiled, warehouse)")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--database", default="warehouse.duckdb", help="the warehouse file, in BUILD")
    parser.add_argument("--variant", action="append", default=[], metavar="MODEL=FILE")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--top", type=int, default=6, help="operators to list per run")
    parser.add_argument(
        "--setting", action="append", default=[], metavar="NAME=VALUE", help="a DuckDB setting for every run"
    )
    args = parser.parse_args()
    database = (args.build / args.database).resolve()
    variants = dict(v.split("=", 1) for v in args.variant)
    for model in args.models:
        queries = [("model", compiled_sql(args.build, model).read_text())]
        if model in variants:
            queries.append(("variant", Path(variants[model]).read_text()))
        prints: dict[str, str] = {}
        for attempt in range(args.repeat):
            for label, sql in queries:
                fingerprint, figures = run(
                    database, sql, args.threads, args.memory_limit, args.top, tuple(args.setting)
                )
                prints[label] = fingerprint
                print(
                    f"{model} [{label}, run {attempt + 1}]: {figures['wall']:.1f} s wall, "
                    f"{figures['cpu']:.1f} CPU s; materialized CTEs: "
                    f"{', '.join(figures['materialized_ctes']) or 'none'}",
                    flush=True,
                )
                for seconds, name, rows, info in figures["heaviest"]:
                    print(f"    {seconds:7.2f} s  {name}  rows={rows}  {info}")
        for label, fingerprint in prints.items():
            print(f"  {model} [{label}]: {fingerprint}")
        if len(prints) == 2:
            same = len(set(prints.values())) == 1
            print(f"  {model}: variant {'gives the same rows' if same else 'DIFFERS'}")


if __name__ == "__main__":
    main()

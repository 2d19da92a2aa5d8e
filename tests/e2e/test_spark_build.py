"""Every SQL model built on Apache Spark (dbt-spark's session method, a local pyspark) and on DuckDB from
the same raw files gives the same tables (staging, the features, and the marts), and every data test
and unit test of those models gives the same result on both engines.

The Python models cannot run in dbt-spark's session method, so the test does what a hybrid deployment
does (docs/scaling.md, "The marts on Spark"): it builds the whole project on DuckDB, writes the Python
models' tables (schema ml) to parquet, and builds the selector `sql_marts` of selectors.yml on Spark with
var python_model_outputs_path pointing there, so the marts join the same model outputs on both engines.
Both builds read one small fixture (300 customers, parquet, the demo generator's ground truth left out:
only the DuckDB evaluation models read it). Every table of the Spark build must hold the same columns
and the same rows as DuckDB's: text, dates, timestamps and booleans equal, numbers within a relative
1e-9 (Spark adds doubles in its partitions' order, DuckDB in the order the models fix, so the last bits
of a float sum may differ; every other figure is equal). The build's own start time (scored_at,
checked_at) and the staging rules' fingerprint are each build's. Spark runs on two cores with two
shuffle partitions; its tables and metastore live under the test's temporary folder. The Spark build
enforces the marts' contracts too (macros/cross_db/contracts.sql).

Two as-of dates, so that segment_history holds two and segment_transitions has rows: an earlier date
(30 days before the demo data's end) first, on DuckDB `+segment_history` and on Spark only the SQL that
segment_history reads (from that date's Python model tables), then the current date, in full, on both.
The Spark build of the current date is a `dbt build` with its data tests and unit tests (the tests of
the Python models' own tables, which are DuckDB's, left out); `dbt test` of the same selection runs on
the DuckDB build meanwhile, and each test's status and count of failing rows must be equal. Both Spark
builds run in one process, so one Spark session (one JVM start).

Beside it, on one local Spark session: a fitted segmentation model scores a Spark DataFrame over its
partitions as one predict does, the Python models' reader takes a Spark DataFrame as it takes a DuckDB
relation, and pyspark's TorchDistributor runs the data-parallel pretraining in two processes with one
process's result. Measured: 5 min 18 s for the module (378 CPU s, the JVMs included) on the 2-core
machine at load 9-12, 3 min 23 s before the tests and the second date (docs/scaling.md).

Run alone: pytest -m spark
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute in the scoring test
import pyarrow.parquet as pq
import pytest
from planted import make_planted
from pyspark.ml.torch.distributor import TorchDistributor
from pyspark.sql import SparkSession

from customer_ml.distributed.ddp import fitted_autoencoder, train_from_environment
from customer_ml.distributed.scoring import score_frame, score_spark
from customer_ml.features.preprocessing import FeaturePreprocessor
from customer_ml.nn.autoencoder import AdversarialAutoencoder
from customer_ml.segmentation.config import (
    AutoencoderConfig,
    ClusteringConfig,
    DECConfig,
    SegmentationConfig,
    SelectionConfig,
)
from customer_ml.segmentation.model import SegmentationModel
from customer_ml.warehouse.arrow import current_snapshot
from tests.e2e.dbt_runner import PROJECT_DIR, _dbt_build_command, dbt_build
from tests.e2e.system_programs import java_runtime, require
from tools import demo_data

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module", autouse=True)
def java_present() -> None:
    """pyspark starts a JVM: `make test` installs Debian's Java runtime where none is found (Makefile)."""
    require(
        java_runtime(), "A Java runtime (java on the PATH, or JAVA_HOME)", "test", "openjdk-17-jre-headless"
    )


# The Spark build: every SQL model and seed of the selector with its data tests and unit tests. A test
# whose parents include a Python model or build_status is left out (--indirect-selection cautious in
# dbt_runner): those tables are DuckDB's own (the Python models' tables are loaded from DuckDB's build,
# so their tests there are the ones that count).
SELECTION = ("--selector", "sql_marts")
# The DuckDB build: every model (the Python models included) and seed; then the same tests as on Spark
# (duckdb_tests).
DUCKDB_SELECTION = ("--resource-type", "model", "--resource-type", "seed", "--exclude", "serving_publication")
# The earlier as-of date built first on both engines, so that segment_history holds two dates and
# segment_transitions has rows: only segment_history and what it reads (its other rows come from the
# current date's build, which rebuilds every table), from that date's own Python model outputs.
EARLIER_AS_OF_DATE = (demo_data.DEFAULT_END_DATE - dt.timedelta(days=30)).isoformat()
EARLIER_SELECTION = ("--select", "+segment_history", "--resource-type", "model", "--resource-type", "seed")
# On Spark only the SQL that segment_history reads: int_customers_scored joins the Python models' tables
# (loaded from DuckDB's build of that date) to int_customers_current_rfm; the features and the rest of
# `+segment_history` feed only the Python models, which do not run there.
EARLIER_SPARK_SELECTION = (
    "--select",
    "segment_history int_customers_scored +int_customers_current_rfm",
    "--resource-type",
    "model",
    "--resource-type",
    "seed",
)
RELATIVE_TOLERANCE = 1e-9
# Columns holding the build's start (build_started_at()): one value per build, each build's own.
BUILD_TIME_COLUMNS = {"scored_at", "checked_at", "evaluated_at"}
# The staging rules' and the risk features' fingerprints (macros/staging/revalidation.sql,
# int_transactions_risk): hashes of the engine's own SQL for them, so each engine's; and the raw rows'
# hashes (raw_row_hash), each engine's own hash function.
ENGINE_COLUMNS = {"validation_fingerprint", "features_fingerprint", "raw_row_hash"}
# Tables Spark partitions (an incremental insert_overwrite per as-of date): Spark puts the partition
# columns last.
PARTITION_COLUMNS = {"marts.segment_history": ["as_of_date"]}
# Rows appended to the fixture's transactions (the first row, changed): one parses (a time-zone offset,
# converted to UTC by both engines), the others are rejected with a reason, and the first row's own id
# comes back as a duplicate.
BAD_TRANSACTIONS = [
    {"transaction_id": "offset-1", "transacted_at": "2026-01-05T23:30:00+02:00"},
    {"transaction_id": "bad-amount", "amount": "ten"},
    {"transaction_id": "bad-customer", "customer_id": " "},
    {"transaction_id": "bad-date", "transacted_at": "not a date"},
    {"transaction_id": "future", "transacted_at": "2999-01-01 00:00:00"},
    {"transaction_id": "bad-status", "status": "lost in the post"},
    {},
]
EXPECTED_TABLES = {
    "staging.stg_raw__transactions",
    "staging.transactions_rejected",
    "staging.base_raw__events",
    "intermediate.int_as_of_dates",
    "intermediate.int_top_categories",
    "intermediate.int_customers_features",
    "intermediate.int_feature_catalog",
    "intermediate.int_raw_tables_counted",
    "reference.feature_catalog",
    "intermediate.int_transactions_risk",
    "intermediate.int_customers_recommendation_scores",
    "intermediate.int_recommendations_backtest",
}


@pytest.fixture(scope="module")
def small_raw_dir(tmp_path_factory) -> Path:
    """The demo data of 300 customers, with transactions as text and BAD_TRANSACTIONS appended."""
    out = tmp_path_factory.mktemp("spark_raw")
    demo_data.write(out, n_customers=300, seed=7, fmt="parquet")
    shutil.rmtree(out / "_truth", ignore_errors=True)
    transactions = pq.read_table(out / "transactions.parquet")
    as_text = transactions.cast(
        pa.schema([pa.field(name, pa.string()) for name in transactions.column_names])
    )
    first = as_text.slice(0, 1).to_pylist()[0]
    bad = [{**first, **changes} for changes in BAD_TRANSACTIONS]
    pq.write_table(
        pa.concat_tables([as_text, pa.Table.from_pylist(bad, schema=as_text.schema)]),
        out / "transactions.parquet",
    )
    return out


def export_python_model_outputs(database: Path, folder: Path) -> list[str]:
    """The Python models' tables of a DuckDB build (schema ml) as folder/<model>.parquet, as var
    python_model_outputs_path reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'ml' order by table_name"
            ).fetchall()
        ]
        for table in tables:
            con.execute(f"copy ml.{table} to '{folder / table}.parquet' (format parquet)")
    return tables


# Runs dbt's commands (a JSON list of argument lists) one after the other in one process, stopping at the
# first that fails: on dbt-spark's session method they share one Spark session, so the JVM starts once.
_DBT_INVOCATIONS = """
import json, sys
from dbt.cli.main import dbtRunner
for arguments in json.loads(sys.argv[1]):
    if not dbtRunner().invoke(arguments).success:
        sys.exit(1)
"""


def start_spark_builds(
    work_dir: Path, raw_dir: Path, builds: list[tuple[Path, tuple, dict]]
) -> subprocess.Popen:
    """`dbt build --target spark` of each (python_outputs, selection, vars) in turn, in one process and one
    Spark session, the Python models' tables loaded from python_outputs; tables under
    work_dir/spark/warehouse/<schema>.db, console output in work_dir/console.log. Started, not awaited."""
    invocations = []
    for python_outputs, selection, extra_vars in builds:
        variables = {"python_model_outputs_path": str(python_outputs), **extra_vars}
        command, env, _ = _dbt_build_command(work_dir, raw_dir, variables, ("--target", "spark", *selection))
        invocations.append(command[1:])
    env.update(
        {
            "SEGMENTATION_SPARK_DIR": str(work_dir / "spark"),
            "SEGMENTATION_SPARK_MASTER": "local[2]",
            "SEGMENTATION_SPARK_SHUFFLE_PARTITIONS": "2",
            "SEGMENTATION_SPARK_DRIVER_MEMORY": "1g",
            # Two nodes at once: most of a data test's time on this small fixture is dbt's and Spark's
            # planning, which the other node's query overlaps.
            "SEGMENTATION_SPARK_THREADS": "2",
        }
    )
    with (work_dir / "console.log").open("w") as console:
        return subprocess.Popen(
            [sys.executable, "-c", _DBT_INVOCATIONS, json.dumps(invocations)],
            cwd=PROJECT_DIR,
            env=env,
            stdout=console,
            stderr=subprocess.STDOUT,
            text=True,
        )


def duckdb_tests(work_dir: Path, raw_dir: Path) -> subprocess.CompletedProcess:
    """`dbt test --selector sql_marts` (data tests and unit tests) on the DuckDB build in work_dir: the
    tests of the Spark build."""
    command, env, _ = _dbt_build_command(work_dir, raw_dir, None, SELECTION)
    command[command.index("build")] = "test"
    return subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900)


def results_of_tests(run_results: Path) -> dict[str, tuple[str, int | None]]:
    """Each test's (status, failures) in a dbt run_results.json, by unique_id: the data tests and the
    unit tests it ran."""
    results = json.loads(run_results.read_text())["results"]
    return {
        result["unique_id"]: (result["status"], result["failures"])
        for result in results
        if result["unique_id"].startswith(("test.", "unit_test."))
    }


def _rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[tuple]:
    """The rows of relation with every column comparable across engines: timestamps as UTC text,
    decimals and integers as doubles, dates and enums as text, sorted on every column."""
    types = dict(
        con.execute(f"select column_name, column_type from (describe select * from {relation})").fetchall()
    )
    selected = []
    for column in columns:
        kind = types[column].upper()
        if "TIMESTAMP" in kind:
            selected.append(f"strftime(cast(\"{column}\" as timestamp), '%Y-%m-%d %H:%M:%S.%f')")
        elif kind.startswith(
            ("DECIMAL", "HUGEINT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT")
        ):
            selected.append(f'cast("{column}" as double)')
        elif kind == "DATE" or kind.startswith("ENUM"):
            # ENUM: the recommender's snapshot key on DuckDB (macro snapshot_key), text on Spark.
            selected.append(f'cast("{column}" as varchar)')
        else:
            selected.append(f'"{column}"')
    order = ", ".join(str(position + 1) for position in range(len(columns)))
    return con.execute(f"select {', '.join(selected)} from {relation} order by {order}").fetchall()


def _spark_relation(table_dir: Path) -> str:
    """A table of the Spark build, read from its parquet files (partition columns from the folders)."""
    return f"read_parquet('{table_dir}/**/*.parquet', hive_partitioning = true)"


def _same_value(spark_value, duckdb_value) -> bool:
    if isinstance(spark_value, float) and isinstance(duckdb_value, float):
        if math.isnan(spark_value) or math.isnan(duckdb_value):
            return math.isnan(spark_value) and math.isnan(duckdb_value)
        return math.isclose(spark_value, duckdb_value, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)
    return spark_value == duckdb_value


def test_sql_models_build_on_spark_as_on_duckdb(small_raw_dir, tmp_path, monkeypatch):
    # One OpenMP thread for the Python models of the DuckDB build (only their tables matter here): on a
    # busy 2-core machine scikit-learn's t-SNE of the segment map spin-waits on two (measured 46.6 s
    # against 1.0 s for 275 customers at load 14).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # The earlier as-of date first, on both engines: segment_history and what it reads, Spark's from the
    # Python models' tables of DuckDB's build of that date. Then the current date: every model on
    # DuckDB, every SQL model with its data tests and unit tests on Spark (both Spark builds in one
    # session), and the same tests on DuckDB meanwhile.
    earlier = {"as_of_date": EARLIER_AS_OF_DATE}
    duck_earlier = dbt_build(
        tmp_path / "duckdb_build", small_raw_dir, earlier, args=EARLIER_SELECTION, shared_parse=False
    )
    assert duck_earlier.returncode == 0, duck_earlier.output[-6000:]
    earlier_outputs = tmp_path / "python_models_earlier"
    export_python_model_outputs(duck_earlier.database, earlier_outputs)
    duck = dbt_build(tmp_path / "duckdb_build", small_raw_dir, args=DUCKDB_SELECTION, shared_parse=False)
    assert duck.returncode == 0, duck.output[-6000:]
    python_outputs = tmp_path / "python_models"
    exported = export_python_model_outputs(duck.database, python_outputs)
    assert {"segmentation_model_assignments", "churn_value_model_predictions"} <= set(exported)
    spark_work = tmp_path / "spark_build"
    spark_work.mkdir()
    spark_run = start_spark_builds(
        spark_work,
        small_raw_dir,
        [(earlier_outputs, EARLIER_SPARK_SELECTION, earlier), (python_outputs, SELECTION, {})],
    )
    try:
        duck_tests = duckdb_tests(tmp_path / "duckdb_build", small_raw_dir)
        spark_run.wait(timeout=1800)
    finally:
        if spark_run.poll() is None:
            spark_run.kill()
    spark_output = (spark_work / "console.log").read_text()[-6000:]
    # Every data test and unit test of the selection gives the same result on both engines: its status
    # (pass, warn, fail) and its count of failing rows.
    spark_tests = results_of_tests(tmp_path / "spark_build" / "target" / "run_results.json")
    duckdb_results = results_of_tests(tmp_path / "duckdb_build" / "target" / "run_results.json")
    assert set(spark_tests) == set(duckdb_results), (
        sorted(set(spark_tests) ^ set(duckdb_results))[:20],
        spark_output,
    )
    unequal_tests = sorted(
        f"{test}: {spark_tests[test]} on Spark, {duckdb_results[test]} on DuckDB"
        for test in spark_tests
        if spark_tests[test] != duckdb_results[test]
    )
    assert not unequal_tests, ("\n".join(unequal_tests[:40]), spark_output)
    statuses = {status for status, _ in duckdb_results.values()}
    # Not a comparison of skipped tests: the data tests (singular ones included) and the unit tests ran.
    kinds = {test.split(".")[0] for test in duckdb_results}
    assert kinds == {"test", "unit_test"}, kinds
    assert len(duckdb_results) >= 450 and statuses <= {"pass", "warn"}, statuses
    assert "warn" in statuses  # the planted rejects (has_no_rows, severity warn)
    assert duck_tests.returncode == 0, (duck_tests.stdout + duck_tests.stderr)[-6000:]
    assert spark_run.returncode == 0, spark_output

    warehouse = tmp_path / "spark_build" / "spark" / "warehouse"
    spark_tables = {
        f"{schema_dir.name.removesuffix('.db')}.{table_dir.name}": table_dir
        for schema_dir in warehouse.glob("*.db")
        for table_dir in schema_dir.iterdir()
    }
    assert EXPECTED_TABLES <= set(spark_tables), sorted(EXPECTED_TABLES - set(spark_tables))

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{duck.database}' as duck (read_only)")
    duckdb_tables = {
        f"{schema}.{table}"
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'duck'"
        ).fetchall()
    }
    assert set(spark_tables) <= duckdb_tables, sorted(set(spark_tables) - duckdb_tables)
    # Every mart (build_status, a view on DuckDB's build log, is no table).
    duckdb_marts = {name for name in duckdb_tables if name.startswith("marts.")}
    assert len(duckdb_marts) >= 13
    assert duckdb_marts <= set(spark_tables), sorted(duckdb_marts - set(spark_tables))

    differences = []
    build_times = {"spark": set(), "duckdb": set()}
    for name, table_dir in sorted(spark_tables.items()):
        spark_relation = _spark_relation(table_dir)
        duckdb_relation = f"duck.{name}"
        spark_columns = [row[0] for row in con.execute(f"describe select * from {spark_relation}").fetchall()]
        duckdb_columns = [
            row[0] for row in con.execute(f"describe select * from {duckdb_relation}").fetchall()
        ]
        partitions = PARTITION_COLUMNS.get(name, [])
        if spark_columns != [c for c in duckdb_columns if c not in partitions] + partitions:
            differences.append(f"{name}: columns {spark_columns} on Spark, {duckdb_columns} on DuckDB")
            continue
        for column in BUILD_TIME_COLUMNS.intersection(duckdb_columns):
            for engine, relation in (("spark", spark_relation), ("duckdb", duckdb_relation)):
                build_times[engine].update(
                    row[0] for row in con.execute(f'select distinct "{column}" from {relation}').fetchall()
                )
        spark_columns = duckdb_columns = [
            c for c in duckdb_columns if c not in BUILD_TIME_COLUMNS | ENGINE_COLUMNS
        ]
        spark_rows = _rows(con, spark_relation, spark_columns)
        duckdb_rows = _rows(con, duckdb_relation, duckdb_columns)
        if len(spark_rows) != len(duckdb_rows):
            differences.append(f"{name}: {len(spark_rows)} rows on Spark, {len(duckdb_rows)} on DuckDB")
            continue
        for spark_row, duckdb_row in zip(spark_rows, duckdb_rows, strict=True):
            unequal = [
                f"{column}: {a!r} != {b!r}"
                for column, a, b in zip(spark_columns, spark_row, duckdb_row, strict=True)
                if not _same_value(a, b)
            ]
            if unequal:
                differences.append(f"{name}: first differing row: {unequal[:4]}")
                break
    assert not differences, "\n".join(differences)
    # Each build stamps its rows with its own start: one moment per build (the earlier date's rows of
    # segment_history carry the first build's), never null.
    assert len(build_times["spark"]) == len(build_times["duckdb"]) == 2, build_times
    assert None not in build_times["spark"] | build_times["duckdb"]

    # Not a comparison of two empty builds: the fixture's customers reach the feature table, and the
    # planted bad rows reach the rejects, on both engines.
    features = con.execute(
        "select count(*), count(distinct customer_id) from duck.intermediate.int_customers_features"
    )
    rows, customers = features.fetchone()
    assert customers > 200 and rows > customers
    # The marts compared hold rows, segment_transitions included: the history holds both as-of dates on
    # both engines, and customers move between them (new customers, and some that change segment).
    empty_marts = [
        name
        for name in sorted(duckdb_marts)
        if con.execute(f"select count(*) from duck.{name}").fetchone()[0] == 0
    ]
    assert not empty_marts, empty_marts
    current = "select as_of_date from duck.intermediate.int_as_of_dates where snapshot_name = 'current'"
    expected_dates = [EARLIER_AS_OF_DATE, str(con.execute(current).fetchone()[0])]
    for relation in ("duck.marts.segment_history", _spark_relation(spark_tables["marts.segment_history"])):
        dates = con.execute(f"select distinct as_of_date from {relation}").fetchall()
        assert sorted(str(row[0]) for row in dates) == expected_dates, dates
    transition_kinds = "select transition_kind, sum(customers) from {} group by all"
    for relation in (
        "duck.marts.segment_transitions",
        _spark_relation(spark_tables["marts.segment_transitions"]),
    ):
        kinds = dict(con.execute(transition_kinds.format(relation)).fetchall())
        assert kinds.get("new", 0) > 0 and kinds.get("stayed", 0) > 0, kinds
    rejected = con.execute(
        "select rows_rejected from duck.intermediate.int_raw_tables_counted where table_name = 'transactions'"
    ).fetchone()[0]
    assert rejected == len(BAD_TRANSACTIONS) - 1
    offset_row = (
        "select transacted_at from duck.staging.stg_raw__transactions where transaction_id = 'offset-1'"
    )
    assert str(con.execute(offset_row).fetchone()[0]) == "2026-01-05 21:30:00"


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """A local Spark session on two cores whose Python workers run this interpreter (it has the package,
    torch and pyarrow)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        session = (
            SparkSession.builder.master("local[2]")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark_session") / "warehouse"))
            .getOrCreate()
        )
        try:
            yield session
        finally:
            session.stop()


def test_scoring_maps_over_spark_partitions(spark):
    """A fitted segmentation model scores a Spark DataFrame on its partitions (mapInArrow) and a DuckDB
    relation in batches, giving what one predict over the whole table gives: the same segments, and
    figures within float32 rounding (the encoder runs in float32 on batches of other sizes)."""
    table, catalog, _ = make_planted(n=600, k=3, seed=4)
    config = SegmentationConfig(
        seed=1,
        autoencoder=AutoencoderConfig(hidden=(16,), embedding_dim=4, max_epochs=3),
        dec=DECConfig(max_epochs=2),
        clustering=ClusteringConfig(k_min=3, k_max=3),
        selection=SelectionConfig(n_bootstrap=2),
        robustness_sample_size=200,
    )
    model = SegmentationModel(config).fit(table, catalog)
    whole = model.predict(table)

    con = duckdb.connect()
    _assert_same_scores(score_frame(model, con.from_arrow(table), batch_size=128), whole)

    frame = spark.createDataFrame(table).repartition(2)
    assert frame.rdd.getNumPartitions() == 2
    scored = score_spark(model, frame, table.slice(0, 8)).toArrow()
    # The Python models' reader (customer_ml.warehouse.arrow) takes a Spark DataFrame as it takes a
    # DuckDB relation: the current snapshot, in customer order, the same rows and values.
    snapshots = pa.array(["current" if i % 3 else "training" for i in range(table.num_rows)])
    dated = table.append_column("snapshot_name", snapshots).take(pa.array(range(table.num_rows - 1, -1, -1)))
    from_spark = current_snapshot(spark.createDataFrame(dated).repartition(2))
    order = pa.compute.sort_indices(scored, [("customer_id", "ascending")])
    _assert_same_scores(scored.take(order), whole)
    from_duckdb = current_snapshot(con.from_arrow(dated))
    assert from_duckdb.num_rows == 400
    assert from_spark.to_pylist() == from_duckdb.to_pylist()


def test_torch_distributor_trains_as_one_process(spark):
    """pyspark's TorchDistributor (two local processes, gloo) runs the data-parallel pretraining
    (customer_ml.distributed.ddp.train_from_environment) and gives one process's training, to rounding:
    per-epoch losses within a relative 1e-4 and weights within 1e-4 (as tests/test_distributed.py)."""
    table, catalog, _ = make_planted(n=600, k=3, seed=8)
    X = FeaturePreprocessor().fit_transform(table, catalog)
    config = AutoencoderConfig(hidden=(16, 8), embedding_dim=4, max_epochs=4, patience=50, batch_size=64)
    result = TorchDistributor(num_processes=2, local_mode=True, use_gpu=False).run(
        train_from_environment, X, config, 5
    )
    distributed = fitted_autoencoder(result, config, seed=5)
    single = AdversarialAutoencoder(config, seed=5, device="cpu", threads=1).fit(X)
    assert distributed.n_epochs_ == single.n_epochs_ == config.max_epochs
    for one, two in zip(single.history_, distributed.history_, strict=True):
        assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4)
        assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4)
    one_state, two_state = single.net_.state_dict(), distributed.net_.state_dict()
    assert max(float((one_state[k] - two_state[k]).abs().max()) for k in one_state) <= 1e-4


def _assert_same_scores(scored: pa.Table, whole: pa.Table) -> None:
    assert scored.column_names == whole.column_names
    assert scored.column("customer_id").to_pylist() == whole.column("customer_id").to_pylist()
    assert scored.column("segment_id").to_pylist() == whole.column("segment_id").to_pylist()
    for name in ("segment_probability", "distance_to_centroid", "anomaly_score", "embedding_0"):
        assert scored.column(name).to_pylist() == pytest.approx(
            whole.column(name).to_pylist(), rel=1e-5, abs=1e-6
        )

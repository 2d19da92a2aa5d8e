"""Faults: a build killed while it trains, or while it publishes, leaves the registries and the served marts
as they were, and the next plain `dbt build` recovers with no manual step."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import duckdb

from customer_ml.warehouse.serving import STAGING_SUFFIX, publish
from tests.e2e.dbt_runner import Build, dbt_build, start_dbt_build

REGISTRIES = ("segmentation_model_versions", "churn_value_model_versions", "fraud_model_versions")
SERVED = (
    "select (select max(as_of_date) from marts.customer_segments),"
    " (select sum(hash(customer_id, segment_id, churn_risk, predicted_ltv)) from marts.customer_segments),"
    " (select sum(hash(transaction_id, fraud_score)) from marts.fraud_transaction_scores),"
    " (select string_agg(model_version, ',' order by model_version) from marts.model_registry)"
)


def _registry(database: Path, name: str) -> list[tuple]:
    """Each version of a registry, with a digest of every column (weights included)."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            f"select model_version, md5(cast(columns(*) as varchar)) from ml.{name} order by model_version"
        ).fetchall()


def _complete_versions(database: Path, name: str) -> int:
    """Versions with every part a version needs (config, inputs, metrics, weights)."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            f"select count(*) from ml.{name} where model_version is not null and trained_at is not null"
            " and config is not null and metrics is not null and weights is not null"
        ).fetchone()[0]


def _served(serving: Path) -> tuple:
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(SERVED).fetchone()


def _wait_for(path: Path, text: str, process, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        assert process.poll() is None, f"the build ended before '{text}':\n{path.read_text()[-4000:]}"
        time.sleep(0.2)
    raise AssertionError(f"'{text}' not seen in {timeout} s")


def test_sigkill_during_training_changes_nothing_and_the_next_build_recovers(
    transactions_only_dir: Path, transactions_only_build: Build, tmp_path: Path
) -> None:
    work = tmp_path / "build"
    work.mkdir()
    shutil.copy(transactions_only_build.database, work / "warehouse.duckdb")
    published = dbt_build(work, transactions_only_dir, args=("--select", "serving_publication"))
    assert published.returncode == 0, published.output[-4000:]
    database, serving = published.database, work / "warehouse.serving.duckdb"
    before = {name: _registry(database, name) for name in REGISTRIES}
    served_before = _served(serving)

    # Many epochs, so that the kill surely lands inside the training loop: on 600 customers the default
    # training can finish (and commit) within a second of its first log line.
    slow = {"segmentation_config": {"autoencoder": {"max_epochs": 500, "patience": 500}}}
    build = start_dbt_build(work, transactions_only_dir, {"retrain": "always", **slow})
    _wait_for(work / "logs" / "dbt.log", "segmentation: autoencoder epoch 2:", build)
    build.send_signal(signal.SIGKILL)
    build.wait()
    assert build.returncode == -signal.SIGKILL

    # The registry being trained is as it was; one whose version was committed before the kill holds
    # that whole version. Nothing half-written anywhere, and readers still get the published marts.
    assert _registry(database, "segmentation_model_versions") == before["segmentation_model_versions"]
    for name in REGISTRIES:
        after_kill = _registry(database, name)
        assert after_kill[: len(before[name])] == before[name]
        assert _complete_versions(database, name) == len(after_kill)
    assert _served(serving) == served_before
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(
            "select build_status from ops.build_log order by started_at desc limit 1"
        ).fetchone() == ("running",)

    recovered = dbt_build(work, transactions_only_dir)
    assert recovered.returncode == 0, recovered.output[-4000:]
    for name in REGISTRIES:
        versions = _registry(database, name)
        assert versions[: len(before[name])] == before[name]
        assert _complete_versions(database, name) == len(versions)
    status = recovered.query(
        "select latest_build_status, latest_failure_status, has_failed_since_published"
        " from marts.build_status"
    )
    assert status == [("success", "interrupted", False)]
    # No table the killed build was merging from is left behind, nor one from the recovery build.
    leftovers = recovered.query(
        "select schema_name, table_name from duckdb_tables()"
        " where table_name like '%dbt_tmp%' or schema_name = 'dbt_temp'"
    )
    assert leftovers == []
    assert _served(serving)[3] == recovered.scalar(
        "select string_agg(model_version, ',' order by model_version) from marts.model_registry"
    )


def test_a_publication_killed_halfway_is_never_served_and_the_next_one_replaces_it(tmp_path: Path) -> None:
    warehouse = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    serving = tmp_path / "warehouse.serving.duckdb"
    status = tmp_path / "warehouse.serving.status.parquet"
    warehouse.execute("create schema marts; create schema ops")
    warehouse.execute(
        "create table marts.scores as select range as customer_id, range * 0.5 as score from range(10)"
    )
    warehouse.execute("comment on column marts.scores.score is 'A score.'")
    warehouse.execute(
        "create table ops.build_log as select 'running' as build_status,"
        f" '{serving}' as serving_path, '{status}' as status_path"
    )
    warehouse.execute(f"copy (select 'success' as latest_build_status) to '{status}' (format parquet)")
    # What a build killed while publishing leaves: a half-written staging file and its WAL.
    staging = serving.with_name(serving.name + STAGING_SUFFIX)
    staging.write_bytes(b"half a database")
    staging.with_name(staging.name + ".wal").write_bytes(b"half a log")

    row = publish(warehouse, ["scores"], "ops.build_log").to_pylist()[0]
    assert row["serving_path"] == str(serving) and row["published_tables"] == 1
    assert not staging.exists() and not staging.with_name(staging.name + ".wal").exists()
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("select sum(score) from marts.scores").fetchone()[0] == 22.5
        assert con.execute(
            "select comment from duckdb_columns() where table_name = 'scores' and column_name = 'score'"
        ).fetchone() == ("A score.",)
        assert con.execute("select * from marts.build_status").fetchall() == [("success",)]
    warehouse.close()

"""Segmentation end to end: versions in the warehouse, stable ids, determinism, evaluation, contract."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.dbt_runner import Build, check_contract, dbt_build

BUILT_CONTRACT_MARTS = ["customer_segments", "segment_profiles"]


def _assignments(build: Build) -> dict[str, tuple]:
    rows = build.query(
        "select customer_id, segment_id, segment_probability, anomaly_score "
        "from ml.customer_segment_assignments"
    )
    return {row[0]: row[1:] for row in rows}


def test_demo_marts_meet_the_data_contract(demo_build: Build) -> None:
    result = check_contract(demo_build.database, BUILT_CONTRACT_MARTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_training_progress_reaches_the_dbt_log(demo_build: Build) -> None:
    assert "segmentation: training a new version: no stored model" in demo_build.output
    log = (demo_build.database.parent / "logs" / "dbt.log").read_text()
    assert "autoencoder epoch 1:" in log


def test_profiles_describe_segments_in_words_with_numbers(demo_build: Build) -> None:
    rows = demo_build.query("select segment_name, description from marts.segment_profiles")
    assert len({name for name, _ in rows}) == len(rows)
    for _name, description in rows:
        assert any(ch.isdigit() for ch in description), description
        assert "against" in description, description


def test_every_build_evaluates_the_model(demo_build: Build) -> None:
    metrics = {
        (model, metric): value
        for model, metric, value in demo_build.query(
            "select model, metric, value from marts.model_evaluation"
        )
    }
    for metric in ("silhouette", "stability", "robustness_adversarial", "robustness_plain"):
        assert metrics.get(("learned", metric)) is not None, metric
    # The adversarial term makes segment assignment harder to flip with a small perturbation.
    assert metrics[("learned", "robustness_adversarial")] < metrics[("learned", "robustness_plain")]


def test_segments_recover_the_demo_kinds_better_than_kmeans(demo_build: Build) -> None:
    ari = dict(
        demo_build.query(
            "select model, value from marts.model_evaluation where metric = 'adjusted_rand_index'"
        )
    )
    assert ari["learned"] > ari["kmeans_standardised_features"], ari
    assert ari["learned"] > ari["kmeans_rfm"] + 0.1, ari


def test_applying_the_stored_model_again_changes_nothing(demo_dir: Path, demo_build: Build) -> None:
    before = _assignments(demo_build)
    again = dbt_build(demo_build.database.parent, demo_dir)
    assert again.returncode == 0, again.output[-4000:]
    assert "stored model applied" in again.output
    assert again.scalar("select count(*) from ml.segmentation_model_versions") == 1
    assert _assignments(again) == before


def test_retrain_keeps_segment_ids_of_unchanged_groups(demo_dir: Path, tmp_path: Path) -> None:
    first = dbt_build(tmp_path, demo_dir, {"as_of_date": "2026-09-16"})
    assert first.returncode == 0, first.output[-4000:]
    old = _assignments(first)
    second = dbt_build(tmp_path, demo_dir, {"as_of_date": "2026-09-30", "retrain": "always"})
    assert second.returncode == 0, second.output[-4000:]
    assert second.scalar("select count(*) from ml.segmentation_model_versions") == 2
    assert (
        second.scalar("select parent_version from ml.segmentation_model_versions where version_number = 2")
        == "segmentation-0001"
    )
    new = _assignments(second)
    common = [c for c in new if c in old]
    kept = sum(old[c][0] == new[c][0] for c in common) / len(common)
    # Two weeks more data barely changes the groups: most customers keep their segment id.
    assert kept > 0.7, kept

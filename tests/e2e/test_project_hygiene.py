"""The project's own dbt-project-evaluator checks, on the demo build: a primary-key test on every model's
grain, every column documented, marts that do not build on marts, and lineage that starts at the raw-file
sources."""

from __future__ import annotations

from tests.e2e.project_hygiene import (
    load_manifest,
    marts_built_on_marts,
    models,
    models_without_primary_key_test,
    undocumented_columns,
    undocumented_models,
)


def _manifest(build):
    return load_manifest(build.database.parent / "target")


def test_every_model_has_a_primary_key_test(demo_build):
    assert models_without_primary_key_test(_manifest(demo_build)) == []


def test_every_model_and_column_is_documented(demo_build):
    manifest = _manifest(demo_build)
    assert undocumented_models(manifest) == []
    assert undocumented_columns(manifest, demo_build.database) == []


def test_marts_read_intermediate_and_ml_models_not_other_marts(demo_build):
    assert marts_built_on_marts(_manifest(demo_build)) == []


def test_lineage_starts_at_the_sources(demo_build):
    manifest = _manifest(demo_build)
    sources = {key for key in manifest["sources"] if key.startswith("source.customer_segmentation.raw.")}
    assert len(sources) == 7
    every_source = set(manifest["sources"])
    parents = {key: set(node["depends_on"]["nodes"]) for key, node in models(manifest).items()}

    def reaches_source(key: str, seen: set[str]) -> bool:
        if key in every_source:
            return True
        if key in seen or key not in parents:
            return False
        seen.add(key)
        return any(reaches_source(parent, seen) for parent in parents[key])

    marts = [key for key, node in models(manifest).items() if node["schema"] == "marts"]
    assert marts
    assert [key for key in marts if not reaches_source(key, set())] == []
    # Each base model reads its own file.
    for source in sources:
        table = source.rsplit(".", 1)[1]
        node = manifest["nodes"][f"model.customer_segmentation.base_raw__{table}"]
        assert source in node["depends_on"]["nodes"]

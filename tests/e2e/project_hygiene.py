"""What a dbt-project-evaluator would check, read from a build's manifest and warehouse: every model has a
primary-key test on its grain, and every column it writes is documented."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

PACKAGE = "customer_segmentation"


def load_manifest(target_dir: Path) -> dict:
    return json.loads((target_dir / "manifest.json").read_text())


def models(manifest: dict) -> dict[str, dict]:
    return {
        key: node
        for key, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == PACKAGE
    }


def _tests_on(manifest: dict) -> dict[str, list[dict]]:
    tests: dict[str, list[dict]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node"):
            tests.setdefault(node["attached_node"], []).append(node)
    return tests


def models_without_primary_key_test(manifest: dict) -> list[str]:
    """Models with neither unique + not_null on one column nor a unique_combination test on a grain."""
    tests = _tests_on(manifest)
    missing = []
    for key, node in models(manifest).items():
        unique_columns, not_null_columns, has_grain_test = set(), set(), False
        for test in tests.get(key, []):
            name = (test.get("test_metadata") or {}).get("name")
            column = test.get("column_name")
            if name == "unique" and column:
                unique_columns.add(column)
            elif name == "not_null" and column:
                not_null_columns.add(column)
            elif name == "unique_combination":
                has_grain_test = True
        if not (has_grain_test or unique_columns & not_null_columns):
            missing.append(node["name"])
    return sorted(missing)


def undocumented_columns(manifest: dict, database: Path) -> list[str]:
    """model.column for each column a built model holds without a description in its yml."""
    found = []
    with duckdb.connect(str(database), read_only=True) as con:
        for node in models(manifest).values():
            if node["config"].get("materialized") == "ephemeral":
                continue
            documented = {
                name.lower()
                for name, column in node["columns"].items()
                if column.get("description", "").strip()
            }
            # Columns named by the data (one per top category, one per embedding dimension) are documented
            # once as a family: meta column_families maps a name prefix to the family's description.
            families = {**node.get("meta", {}), **node["config"].get("meta", {})}.get("column_families", {})
            prefixes = tuple(prefix.lower() for prefix, text in families.items() if str(text).strip())
            rows = con.execute(
                "select column_name from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [node["schema"], node["alias"]],
            ).fetchall()
            found += [
                f"{node['name']}.{name}"
                for (name,) in rows
                if name.lower() not in documented and not (prefixes and name.lower().startswith(prefixes))
            ]
    return found


def undocumented_models(manifest: dict) -> list[str]:
    return sorted(node["name"] for node in models(manifest).values() if not node["description"].strip())


# The one place a mart reads another: segment_history is the store of what past builds published (it cannot
# be recomputed from today's tables), and its two summaries read that store.
MART_ON_MART = {("segment_sizes", "segment_history"), ("segment_transitions", "segment_history")}


def marts_built_on_marts(manifest: dict) -> list[str]:
    """'mart <- mart' for each mart that reads another mart, beyond MART_ON_MART."""
    nodes = models(manifest)
    marts = {key: node["name"] for key, node in nodes.items() if node["schema"] == "marts"}
    return sorted(
        f"{name} <- {marts[parent]}"
        for key, name in marts.items()
        for parent in nodes[key]["depends_on"]["nodes"]
        if parent in marts and (name, marts[parent]) not in MART_ON_MART
    )

"""The contract document names the six marts with their keys and columns, and the marts' dbt YAML
declares (and enforces) every column the document promises."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.contract import mart_contracts

PROJECT = Path(__file__).resolve().parents[1]


def _declared_models() -> dict[str, dict]:
    models = {}
    for path in (PROJECT / "models" / "marts").rglob("_*__models.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            models[model["name"]] = model
    return models


def test_contract_lists_every_mart_with_its_key() -> None:
    contracts = mart_contracts()
    assert set(contracts) == {
        "customer_segments",
        "segment_profiles",
        "fraud_transaction_scores",
        "fraud_customer_scores",
        "segment_item_affinity",
        "customer_recommendations",
    }
    for contract in contracts.values():
        assert contract.key and set(contract.key) <= set(contract.columns), contract


def test_every_promised_column_is_declared_under_an_enforced_model_contract() -> None:
    declared = _declared_models()
    for name, contract in mart_contracts().items():
        model = declared[name]
        assert model["config"]["contract"]["enforced"] is True, name
        columns = {column["name"] for column in model["columns"]}
        assert set(contract.columns) <= columns, (name, set(contract.columns) - columns)


def test_further_marts_are_listed_and_declared() -> None:
    """Every mart the project builds is in the document, in one table or the other, and the columns the
    further-marts table promises are declared (under an enforced contract where the model has one)."""
    declared = _declared_models()
    further = mart_contracts(further=True)
    assert set(mart_contracts()) | set(further) == set(declared)
    for name, contract in further.items():
        columns = {column["name"] for column in declared[name]["columns"]}
        assert set(contract.key) <= set(contract.columns) <= columns, (name, set(contract.columns) - columns)


def test_every_mart_enforces_a_contract_with_a_type_for_each_column() -> None:
    """BI tools read every mart, so each states its columns' types and dbt enforces them (a build whose SQL
    returns another type or column stops at that mart)."""
    for name, model in _declared_models().items():
        assert model.get("config", {}).get("contract", {}).get("enforced") is True, name
        untyped = [column["name"] for column in model["columns"] if not column.get("data_type")]
        assert not untyped, (name, untyped)

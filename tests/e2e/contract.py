"""The output side of the project's own data contract (docs/data-contract.md), checked on a built warehouse.

The mart table is read from the document itself, so the statement and the check cannot drift apart. The
rules between marts and the value ranges are dbt data tests that run on every build; this checks what a
BI tool relies on first: each mart exists in schema `marts`, has rows, has its columns, and its key is
unique and never null.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONTRACT_DOC = PROJECT_DIR / "docs" / "data-contract.md"
RAW_CONTRACT_MACRO = PROJECT_DIR / "macros" / "raw" / "raw_contract.sql"


@dataclass(frozen=True)
class MartContract:
    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]


def _names(cell: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in cell.split(",") if name.strip())


def raw_contract(macro: Path = RAW_CONTRACT_MACRO) -> dict[str, dict]:
    """The input side as the build enforces it: the dict that macros/raw/raw_contract.sql returns (each
    raw table's columns in order, its required columns, whether it is required), read from the macro
    itself so that tests never restate the column lists."""
    text = macro.read_text(encoding="utf-8")
    literal = text[text.index("return(") + len("return(") : text.rindex(") }}")]
    literal = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", literal))
    return ast.literal_eval(literal)


def mart_contracts(doc: Path = CONTRACT_DOC, further: bool = False) -> dict[str, MartContract]:
    """The marts of the output table of docs/data-contract.md, by name (`further`: the table of the
    further marts instead)."""
    text = doc.read_text(encoding="utf-8")
    section = text.split("## Output: the further marts", 1)[1 if further else 0]
    section = section if further else section.split("## Output", 1)[1]
    contracts = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("mart", "") or set(cells[0]) <= {"-", " "}:
            continue
        if not re.fullmatch(r"[a-z_]+", cells[0]):
            continue
        contracts[cells[0]] = MartContract(cells[0], _names(cells[1]), _names(cells[2]))
    return contracts


def contract_violations(database: Path, marts: list[str] | None = None, further: bool = False) -> list[str]:
    """Every way the built marts break the contract, in words; empty when they keep it. `further`: check
    the further marts (which may be empty) instead of the six contract marts (which must have rows)."""
    contracts = mart_contracts(further=further)
    problems = []
    with duckdb.connect(str(database), read_only=True) as con:
        for name in marts or list(contracts):
            contract = contracts[name]
            found = {
                column
                for (column,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ?",
                    [name],
                ).fetchall()
            }
            if not found:
                problems.append(f"{name}: no table marts.{name}")
                continue
            missing = [column for column in contract.columns if column not in found]
            if missing:
                problems.append(f"{name}: columns missing: {', '.join(missing)}")
                continue
            rows = con.execute(f"select count(*) from marts.{name}").fetchone()[0]
            if rows == 0 and not further:
                problems.append(f"{name}: no rows")
            key = ", ".join(contract.key)
            duplicates, nulls = con.execute(
                f"select count(*) - count(distinct ({key})), "
                f"count(*) filter (where {' or '.join(f'{c} is null' for c in contract.key)}) "
                f"from marts.{name}"
            ).fetchone()
            if duplicates or nulls:
                problems.append(f"{name}: key ({key}) has {duplicates} duplicates and {nulls} nulls")
    return problems

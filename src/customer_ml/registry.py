"""The model registry kept in the warehouse: one row per model version, and the retrain decision.

A version row holds what is needed to apply the model later without refitting: its config, the input
feature list, the fitted preprocessing statistics, a profile of the training features (for drift), the
metrics measured at training time, the weights as a blob, and its parent version.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_ml.features.preprocessing import FeatureSpec, load_catalog, numeric_column
from customer_ml.warehouse.arrow import to_arrow
from customer_ml.warehouse.progress import Say, dbt_progress

REGISTRY_SCHEMA = pa.schema(
    [
        ("model_version", pa.string()),
        ("model_kind", pa.string()),
        ("version_number", pa.int64()),
        ("parent_version", pa.string()),
        ("trained_at", pa.timestamp("us")),
        ("as_of_date", pa.date32()),
        ("training_rows", pa.int64()),
        ("retrain_reason", pa.string()),
        ("config", pa.string()),
        ("feature_names", pa.string()),
        ("preprocessing", pa.string()),
        ("feature_profile", pa.string()),
        ("metrics", pa.string()),
        ("weights", pa.binary()),
    ]
)
RETRAIN_MODES = ("auto", "always", "never")
PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class RetrainPolicy:
    """When a build trains a new version instead of applying the stored one."""

    mode: str = "auto"
    """auto: train when there is no model, the feature set changed, features drifted or the model is
    too old; always: train on every build; never: only apply (fails when there is no stored model)."""
    max_age_days: int = 90
    """A model whose training as-of date is this many days before the current one is retrained."""
    max_drift_psi: float = 0.2
    """A model is retrained when any input feature's population stability index passes this."""

    @classmethod
    def from_vars(cls, retrain: Any, max_age_days: Any, max_drift_psi: Any) -> RetrainPolicy:
        """The policy from the dbt vars retrain, retrain_max_age_days and retrain_max_drift_psi, as a
        model's config meta gives them (text). dbt passes a Python model only the meta keys it reads with
        literal `dbt.config.meta_get("...")` calls, so each model reads the three itself."""
        return cls(str(retrain), int(max_age_days), float(max_drift_psi))

    def __post_init__(self) -> None:
        if self.mode not in RETRAIN_MODES:
            raise ValueError(f"retrain must be one of {', '.join(RETRAIN_MODES)}, got {self.mode!r}")


@dataclass(frozen=True)
class Decision:
    """Whether to train, and why, with the drift measured against the stored version."""

    retrain: bool
    reason: str
    drift: dict[str, float]


def model_inputs(catalog: Any, entity: str = "customer") -> list[FeatureSpec]:
    """The catalog's model inputs (transform other than exclude) for one entity, in catalog order."""
    rows = catalog.to_pylist() if isinstance(catalog, pa.Table) else list(catalog)
    rows = [row for row in rows if row.get("entity", entity) == entity and row["transform"] != "exclude"]
    return load_catalog(rows)


def stored_versions(dbt: Any, session: Any) -> Any:
    """The registry table a versions model appends to, as a DuckDB relation, or None on its first build
    (or a full refresh of a table that does not exist yet)."""
    return session.sql(f"select * from {dbt.this}") if dbt.is_incremental else None


def of_version(model_version: str) -> str:
    """A DuckDB filter on a model_version column: the rows of that one version."""
    return "model_version = '" + model_version.replace("'", "''") + "'"


def latest_version(versions: Any, kind: str) -> dict[str, Any] | None:
    """The newest stored version of a model kind, as a dict, or None. `versions` is a DuckDB relation of
    a registry table (the row is picked in SQL, so only that version's weights leave the warehouse), an
    Arrow table of one, or None (no table yet)."""
    if versions is None:
        return None
    if isinstance(versions, pa.Table):
        import duckdb  # here, not at the top: bench/gpu_check.py runs the models where DuckDB is absent

        versions = duckdb.from_arrow(versions)
    quoted = "'" + kind.replace("'", "''") + "'"
    newest = versions.filter(f"model_kind = {quoted}").order("version_number desc").limit(1)
    rows = to_arrow(newest).to_pylist()
    return rows[0] if rows else None


def feature_profile(table: pa.Table, specs: list[FeatureSpec], bins: int = 10) -> dict[str, Any]:
    """Decile edges and shares of each numeric input, shares of each categorical one: the drift baseline."""
    profile: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in table.column_names:
            continue
        if spec.transform == "onehot":
            values = pc.cast(table.column(spec.name), pa.string()).fill_null("(null)")
            counts = pc.value_counts(values).to_pylist()
            total = max(1, table.num_rows)
            profile[spec.name] = {
                "kind": "categorical",
                "shares": {
                    c["values"]: c["counts"] / total for c in sorted(counts, key=lambda c: c["values"])
                },
            }
        else:
            values = numeric_column(table, spec.name)
            present = values[~np.isnan(values)]
            edges = (
                np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])).tolist()
                if len(present)
                else []
            )
            profile[spec.name] = {"kind": "numeric", "edges": edges, "shares": _numeric_shares(values, edges)}
    return profile


def _numeric_shares(values: np.ndarray, edges: list[float]) -> list[float]:
    """Share of values per bin (right-closed bins over the edges), plus a last bin for nulls."""
    missing = np.isnan(values)
    bins = np.searchsorted(np.asarray(edges, dtype=np.float64), values[~missing], side="left")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(np.float64)
    counts = np.append(counts, missing.sum())
    return (counts / max(1, len(values))).tolist()


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.maximum(np.asarray(expected, dtype=np.float64), PSI_FLOOR)
    actual = np.maximum(np.asarray(actual, dtype=np.float64), PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def population_stability(profile: dict[str, Any], table: pa.Table) -> dict[str, float]:
    """Population stability index of each profiled feature: the training profile against `table`."""
    drift: dict[str, float] = {}
    for name, entry in profile.items():
        if name not in table.column_names:
            continue
        if entry["kind"] == "categorical":
            values = pc.cast(table.column(name), pa.string()).fill_null("(null)")
            counts = {c["values"]: c["counts"] for c in pc.value_counts(values).to_pylist()}
            total = max(1, table.num_rows)
            categories = sorted(set(entry["shares"]) | set(counts))
            expected = [entry["shares"].get(c, 0.0) for c in categories]
            actual = [counts.get(c, 0) / total for c in categories]
        else:
            expected = entry["shares"]
            actual = _numeric_shares(numeric_column(table, name), entry["edges"])
        drift[name] = round(_psi(np.asarray(expected), np.asarray(actual)), 6)
    return drift


def feature_set_change(stored: list[str], names: list[str]) -> str | None:
    """Why a model trained on the inputs `stored` no longer fits the inputs `names`, or None when equal."""
    if list(names) == list(stored):
        return None
    added = sorted(set(names) - set(stored))
    removed = sorted(set(stored) - set(names))
    return f"feature set changed (added {added or 'none'}, removed {removed or 'none'})"


def decide_retrain(
    previous: dict[str, Any] | None,
    as_of_date: dt.date,
    policy: RetrainPolicy,
    feature_names: list[str] | None,
    *,
    table: pa.Table | None = None,
    config_change: str | None = None,
) -> Decision:
    """Train or apply, the one decision of every model kind: the policy's mode, then a missing model, a
    changed feature set (`feature_names`; None: not checked), a changed configuration (`config_change`,
    what changed in words), the model's age and the drift of `table`'s features (population stability
    against the stored profile)."""
    if table is not None and table.num_rows == 0:
        raise RuntimeError(
            "no customer has a transaction before the as-of date: nothing to train or apply a model on "
            "(check data_quality for rejected rows, or the var as_of_date)"
        )
    if previous is None:
        if policy.mode == "never":
            raise RuntimeError(
                "retrain is 'never' but the registry holds no model of this kind yet: "
                "build once with retrain 'auto' or 'always'"
            )
        return Decision(True, "no stored model", {})
    profile = json.loads(previous["feature_profile"] or "{}") if "feature_profile" in previous else {}
    drift = population_stability(profile, table) if table is not None else {}
    worst = max(drift.items(), key=lambda item: item[1], default=("none", 0.0))
    age = (as_of_date - previous["as_of_date"]).days
    if policy.mode == "always":
        return Decision(True, "retrain is 'always'", drift)
    if policy.mode == "never":
        return Decision(False, "retrain is 'never': stored model applied", drift)
    stored_names = json.loads(previous["feature_names"])
    inputs_change = None if feature_names is None else feature_set_change(stored_names, feature_names)
    change = inputs_change or config_change
    if change:
        return Decision(True, change, drift)
    if age > policy.max_age_days:
        return Decision(True, f"model is {age} days old (limit {policy.max_age_days})", drift)
    if worst[1] > policy.max_drift_psi:
        return Decision(
            True, f"feature drift: PSI of {worst[0]} is {worst[1]:.3f} (limit {policy.max_drift_psi})", drift
        )
    return Decision(
        False, f"stored model applied (age {age} days, largest PSI {worst[1]:.3f} on {worst[0]})", drift
    )


def retrain_step(
    dbt: Any,
    session: Any,
    kind: str,
    as_of_date: dt.date,
    policy: RetrainPolicy,
    feature_names: list[str] | None,
    *,
    table: pa.Table | None = None,
    config_change: Callable[[dict[str, Any]], str | None] | None = None,
    topic: str | None = None,
) -> tuple[dict[str, Any] | None, Decision, Say]:
    """The start of every versions model: the latest stored version of `kind`, the retrain decision
    (`decide_retrain`; `config_change` says what changed against the stored version, if anything) and a
    progress callable for the dbt log, which has already said what was decided and why."""
    previous = latest_version(stored_versions(dbt, session), kind)
    change = config_change(previous) if config_change is not None and previous is not None else None
    decision = decide_retrain(previous, as_of_date, policy, feature_names, table=table, config_change=change)
    say = dbt_progress(topic or kind)
    say(("training a new version: " if decision.retrain else "") + decision.reason)
    return previous, decision, say


def version_row(
    kind: str,
    previous: dict[str, Any] | None,
    *,
    as_of_date: dt.date | None,
    training_rows: int,
    reason: str,
    config: Any,
    feature_names: list[str],
    metrics: Any,
    weights: bytes,
    preprocessing: Any = None,
    feature_profile: Any = None,
) -> pa.Table:
    """One registry row for a new version of `kind`: numbered after `previous`, which becomes its parent.
    The JSON fields are serialised here, with sorted keys, so every kind's row reads the same way."""
    number = 1 if previous is None else int(previous["version_number"]) + 1
    row = {
        "model_version": f"{kind}-{number:04d}",
        "model_kind": kind,
        "version_number": number,
        "parent_version": None if previous is None else previous["model_version"],
        "trained_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        "as_of_date": as_of_date,
        "training_rows": training_rows,
        "retrain_reason": reason,
        "config": json.dumps(config, sort_keys=True),
        "feature_names": json.dumps(feature_names),
        "preprocessing": json.dumps(preprocessing or {}, sort_keys=True),
        "feature_profile": json.dumps(feature_profile or {}, sort_keys=True),
        "metrics": json.dumps(metrics, sort_keys=True),
        "weights": weights,
    }
    return pa.Table.from_pylist([row], schema=REGISTRY_SCHEMA)


def empty_registry() -> pa.Table:
    """A registry table with no rows (what an applying build appends)."""
    return REGISTRY_SCHEMA.empty_table()

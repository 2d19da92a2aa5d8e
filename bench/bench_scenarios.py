"""Planted-truth benchmark: the project's segments against k-means, RFM and a supervised ceiling.

For every scenario family of `bench/scenarios.py` (development and held-out, fixed before any method was
chosen), generate the raw tables, compute the features with the project's own dbt models in a scratch
folder (cached by the family's parameters under --cache), fit `SegmentationModel` with the project's
defaults, and print per family:

- planted k, the chosen k, ARI / NMI of the published segments;
- k-means (30 restarts) on the same standardised features at the chosen k and at the planted k;
- the named RFM segments (`rfm_segment` from int_customers_features);
- a supervised ceiling: a gradient-boosting classifier, 5-fold cross-validated, on the same features;
- a linear probe of the planted group (5-fold logistic regression accuracy) on the embedding before and
  after fine-tuning, and on the standardised features.

    PYTHONPATH=src .venv/bin/python bench/bench_scenarios.py            # every family
    PYTHONPATH=src .venv/bin/python bench/bench_scenarios.py --split development
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scenarios
from demo_features import dbt_build_folder
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

from customer_ml.registry import model_inputs
from customer_ml.segmentation.config import SegmentationConfig
from customer_ml.segmentation.model import SegmentationModel
from customer_ml.warehouse.arrow import current_snapshot, to_arrow

PROJECT = Path(__file__).resolve().parents[1]
SELECT = ["+int_customers_features", "+int_feature_catalog"]


def build_features(family: scenarios.Family, cache: Path) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(current-snapshot features, feature catalog, truth) of a family, built once per parameter set."""
    work = cache / f"{family.name}-{family.key()}"
    done = work / "features.parquet"
    if not done.exists():
        raw = scenarios.write(family, work / "raw")
        database = dbt_build_folder(raw, work, SELECT)
        with duckdb.connect(str(database), read_only=True) as con:
            features = current_snapshot(con.table("intermediate.int_customers_features"))
            catalog = to_arrow(con.table("intermediate.int_feature_catalog"))
        pq.write_table(catalog, work / "catalog.parquet")
        pq.write_table(features, done)
        database.unlink(missing_ok=True)
    truth = pq.read_table(work / "raw" / "_truth" / "customer_kinds.parquet")
    return pq.read_table(done), pq.read_table(work / "catalog.parquet"), truth


def probe(X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Cross-validated (5-fold) accuracy of a logistic regression predicting y from X."""
    Xs = StandardScaler().fit_transform(X)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    clf = LogisticRegression(max_iter=300)
    return float((cross_val_predict(clf, Xs, y, cv=folds) == y).mean())


def evaluate(family: scenarios.Family, cache: Path, overrides: dict, seed: int, ceiling: bool) -> dict:
    """One family's figures (see the module docstring)."""
    features, catalog_table, truth = build_features(family, cache)
    kinds = dict(zip(truth.column("customer_id").to_pylist(), truth.column("kind").to_pylist(), strict=True))
    y = np.array([kinds[c] for c in features.column("customer_id").to_pylist()])
    cfg = SegmentationConfig.from_dict({**overrides, "seed": seed})
    t0 = time.perf_counter()
    model = SegmentationModel(cfg).fit(features, model_inputs(catalog_table))
    fit_s = time.perf_counter() - t0
    seg = model.predict(features).column("segment_id").to_numpy()
    X = model.preprocessor_.transform(features).astype(np.float64)
    k_true = family.n_groups
    out = {
        "family": family.name,
        "n": features.num_rows,
        "k_true": k_true,
        "k": model.n_segments_,
        "repr": model.representation_,
        "ari": adjusted_rand_score(y, seg),
        "nmi": normalized_mutual_info_score(y, seg),
        "fit_s": fit_s,
        "k_selection": model.metrics_.get("k_selection", []),
        "candidates": model.metrics_.get("candidates", {}),
        "uses_learned": model.metrics_.get("uses_learned_representation"),
    }
    for name, k in (("km_k", model.n_segments_), ("km_true", k_true)):
        labels = KMeans(n_clusters=k, n_init=30, random_state=seed).fit_predict(X)
        out[f"ari_{name}"] = adjusted_rand_score(y, labels)
        out[f"nmi_{name}"] = normalized_mutual_info_score(y, labels)

    rfm = np.array([str(v) for v in features.column("rfm_segment").to_pylist()])
    out["ari_rfm"] = adjusted_rand_score(y, rfm)
    out["nmi_rfm"] = normalized_mutual_info_score(y, rfm)
    if ceiling:
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        clf = HistGradientBoostingClassifier(max_iter=150, random_state=seed)
        pred = cross_val_predict(clf, X, y, cv=folds)
        out["ari_ceiling"] = adjusted_rand_score(y, pred)
    for name, labels in getattr(model, "candidate_labels_", {}).items():
        out[f"ari_{name}"] = adjusted_rand_score(y, labels)
    pre = getattr(model, "pretrained_embedding_", None)
    if pre is not None:
        out["probe_pre"] = probe(pre, y, seed)
    out["probe_post"] = probe(model.transform(features), y, seed)
    out["probe_feat"] = probe(X, y, seed)
    return out


COLUMNS = [
    ("family", 24, None),
    ("n", 5, None),
    ("k_true", 6, None),
    ("k", 3, None),
    ("repr", 9, None),
    ("ari", 6, 3),
    ("nmi", 6, 3),
    ("ari_km_k", 8, 3),
    ("ari_km_true", 11, 3),
    ("nmi_km_true", 11, 3),
    ("ari_rfm", 7, 3),
    ("ari_embedding", 13, 3),
    ("ari_joint", 9, 3),
    ("ari_features", 12, 3),
    ("ari_ceiling", 11, 3),
    ("probe_pre", 9, 3),
    ("probe_post", 10, 3),
    ("probe_feat", 10, 3),
    ("fit_s", 6, 1),
]


def fmt_row(row: dict) -> str:
    """One family's figures as a fixed-width line (`-` where a figure was not measured)."""
    parts = []
    for name, width, decimals in COLUMNS:
        v = row.get(name)
        if v is None:
            parts.append(f"{'-':>{width}}")
        elif decimals is None:
            parts.append(f"{v:<{width}}" if name == "family" else f"{v:>{width}}")
        else:
            parts.append(f"{v:>{width}.{decimals}f}")
    return " ".join(parts)


def header() -> str:
    return " ".join(f"{name:<{w}}" if name == "family" else f"{name:>{w}}" for name, w, _d in COLUMNS)


def summary(rows: list[dict]) -> str:
    """Mean ARI gaps and the issue's acceptance checks over `rows`."""
    gap = np.array([r["ari"] - r["ari_km_true"] for r in rows])
    k_ok = [abs(r["k"] - r["k_true"]) <= 2 for r in rows if r["ari_km_true"] >= 0.5]
    return (
        f"mean ARI {np.mean([r['ari'] for r in rows]):.3f} vs k-means at planted k "
        f"{np.mean([r['ari_km_true'] for r in rows]):.3f} "
        f"(mean gap {gap.mean():+.3f}, worst {gap.min():+.3f}); "
        f"RFM {np.mean([r['ari_rfm'] for r in rows]):.3f}; chosen k within 2 of planted where k-means "
        f"reaches 0.5: {sum(k_ok)}/{len(k_ok)}; mean |k - planted k| "
        f"{np.mean([abs(r['k'] - r['k_true']) for r in rows]):.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=["development", "held_out", "all"], default="all")
    parser.add_argument("--families", nargs="*", help="only these family names")
    parser.add_argument("--cache", default=str(PROJECT / "bench" / ".scenario_cache"))
    parser.add_argument("--config", default=None, help="JSON of SegmentationConfig overrides (nested dict)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-ceiling", action="store_true", help="skip the supervised ceiling (faster)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--build-only", action="store_true", help="only build (and cache) the features")
    args = parser.parse_args()
    splits = {
        "development": scenarios.DEVELOPMENT,
        "held_out": scenarios.HELD_OUT,
        "all": scenarios.DEVELOPMENT + scenarios.HELD_OUT,
    }
    families = [f for f in splits[args.split] if not args.families or f.name in args.families]
    overrides = json.loads(args.config) if args.config else {}
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    if args.build_only:
        for family in families:
            t0 = time.perf_counter()
            features, _catalog, _truth = build_features(family, cache)
            print(
                f"{family.name}: {features.num_rows} customers ({time.perf_counter() - t0:.0f} s)", flush=True
            )
        return
    print(header())
    rows = []
    for family in families:
        row = evaluate(family, cache, overrides, args.seed, not args.no_ceiling)
        rows.append(row)
        print(fmt_row(row), flush=True)
    for split, members in (("development", scenarios.DEVELOPMENT), ("held-out", scenarios.HELD_OUT)):
        names = {f.name for f in members}
        chosen = [r for r in rows if r["family"] in names]
        if chosen:
            print(f"{split}: {summary(chosen)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=float))


if __name__ == "__main__":
    main()

"""Churn risk and predicted lifetime value per customer, with BTYD inputs, fallbacks and a backtest.

Snapshots: features are computed as of a date d (``backtest`` = T - 2h, ``training`` = T - h,
``current`` = T, h the prediction horizon in days). Labels come from the window [d, d + h):
``lapsed`` = no completed purchase in the window, ``future_revenue`` = net revenue in the window.

- :func:`btyd_features` fits BG/NBD + Gamma-Gamma on the purchase log before d and scores every customer.
- :func:`add_history_features` joins those scores (and the net revenue of the last h days) to a feature
  table; :class:`ChurnModel` and :class:`ValueModel` read the result.
- :class:`ChurnModel` gives ``churn_risk`` = calibrated P(lapsed) in [0, 1].
- :class:`ValueModel` gives ``predicted_ltv``: predicted_ltv is expected net revenue over the next h days,
  not a discounted lifetime sum.
- :func:`evaluate_churn`, :func:`evaluate_value` and :func:`backtest` measure the models against the
  recency, RFM and BTYD baselines.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from customer_ml.features.preprocessing import (
    FeaturePreprocessor,
    booster_output,
    load_catalog,
    numeric_column,
    tree_input,
)
from customer_ml.sampling import seeded_sample
from customer_ml.value.btyd import BetaGeometricNBD, GammaGamma, rfm_summary

__all__ = [
    "BTYD_COLUMNS",
    "BTYDConfig",
    "BTYDResult",
    "BoostingConfig",
    "History",
    "PurchaseLog",
    "ChurnConfig",
    "ChurnModel",
    "ValueConfig",
    "ValueModel",
    "add_history_features",
    "backtest",
    "btyd_features",
    "evaluate_churn",
    "evaluate_value",
    "in_batches",
    "revenue_in_window",
    "rfm_score",
]

_VALUE_TARGETS = ("hurdle", "poisson", "log1p")
BTYD_COLUMNS = ("p_alive", "expected_purchases", "expected_spend", "expected_revenue")
PAST_REVENUE_COLUMN = "revenue_last_horizon"
# Columns never used as model inputs when no catalog is given (identifiers, dates and labels).
_NOT_FEATURES = frozenset(
    {
        "customer_id",
        "as_of_date",
        "snapshot_name",
        "horizon_days",
        "label_window_end_date",
        "is_current",
        "lapsed",
        "future_revenue",
        "churn_risk",
        "predicted_ltv",
    }
)


# ----------------------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BTYDConfig:
    """How the BG/NBD and Gamma-Gamma models are fitted (time unit: days)."""

    horizon_days: int = 90
    """Prediction horizon h: expected purchases and revenue are over the next h days."""
    penalizer: float = 0.0
    """L2 penalty on the log-parameters (0 = maximum likelihood)."""
    retry_penalizer: float = 1e-3
    """Penalty of a second attempt when the first fit fails, or its parameters cannot score every customer
    (BG/NBD); 0 disables the retry."""
    min_repeat_customers: int = 20
    """Fewer customers with a repeat purchase than this: the fit is not attempted (columns are null)."""
    max_fit_customers: int | None = 100_000
    """More customers than this: BG/NBD and Gamma-Gamma are fitted on a seeded sample of this many (their
    seven parameters describe the population) and applied to everyone. At 913,107 customers the sample's
    parameters moved P(alive) by at most 0.006 and expected revenue by 0.2-0.6% (median), at a sixth of
    the time (docs/measurements.md, "Scale", eighteenth session). None: fit on everyone."""
    seed: int = 0
    """Seed of that sample."""


@dataclass(frozen=True)
class BoostingConfig:
    """What the churn and the value model share: the horizon, the seed, the gradient-boosting settings,
    when to fall back and how many customers to fit on."""

    horizon_days: int = 90
    random_state: int = 0
    learning_rate: float = 0.05
    max_iter: int = 400
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 50
    l2_regularization: float = 1.0
    early_stopping: bool = True
    """Stop boosting when a seeded 10% validation split stops improving (20 rounds)."""
    min_customers: int = 200
    """Fewer labelled customers than this: fall back to the BTYD churn risk or expected revenue."""
    catalog_features: bool = True
    """Use the catalog's features (when a catalog is given) besides the BTYD and derived columns."""
    max_fit_customers: int | None = 100_000
    """More labelled customers than this: the model (candidates, folds, calibration, target choice) is
    fitted on a seeded sample of this many, and applied to everyone. None: always fit on all of them. See
    docs/measurements.md ("Scale") for the measured effect on the backtest."""
    large_above: int | None = 70_000
    """More fit customers than this: boosting at `large_learning_rate` (half the trees to fit and to
    apply) and, for churn, one booster calibrated on a held-out share instead of one booster per fold (a
    third of the boosting). At the same learning rate and on the same rows the fold boosters rank 0.001
    AUC better; one booster on 1.5 times the rows ranks as well, and the faster rate changes the backtest
    by less than its noise (measured on 28,000, 55,000 and 74,000 customers, docs/measurements.md,
    "Scale"): above this threshold the one booster gets 56,000 rows or more. None: never."""
    large_learning_rate: float = 0.1


@dataclass(frozen=True)
class ChurnConfig(BoostingConfig):
    """Calibration and fallback rules of :class:`ChurnModel`, besides the shared boosting settings."""

    calibration: Literal["isotonic", "sigmoid"] = "isotonic"
    calibration_folds: int = 3
    """Stratified, seeded folds of CalibratedClassifierCV (one booster per fold, predictions averaged)."""
    holdout_fraction: float = 0.2
    """Share of the fit customers held out to calibrate and choose the one booster above `large_above`."""
    holdout_calibration: Literal["isotonic", "sigmoid"] = "sigmoid"
    """How the held-out booster is calibrated: Platt scaling keeps its ranking of the customers, where
    isotonic steps on one held-out share tie many of them (0.002 lower PR-AUC, measured)."""
    min_class_count: int = 20
    """Fewer lapsed (or fewer retained) customers than this: fall back to the BTYD churn risk."""
    method: Literal["auto", "gradient_boosting", "logistic", "blend"] = "auto"
    """``auto``: the out-of-fold (or held-out) AUC picks among boosting, logistic regression and their
    average; otherwise that model is fitted without the comparison (the final model takes the one its
    backtest chose)."""


@dataclass(frozen=True)
class ValueConfig(BoostingConfig):
    """Target choice and fallback rules of :class:`ValueModel`, besides the shared boosting settings."""

    target: Literal["auto", "hurdle", "log1p", "poisson"] = "auto"
    """``hurdle``: P(any revenue) from a classifier times the mean revenue of buyers from a regression on
    log(revenue) (smearing-corrected); ``log1p``: squared error on log1p(revenue), smearing-corrected;
    ``poisson``: Poisson loss on revenue. ``auto`` fits all three on a seeded held-out split and keeps
    the one with the best mean of Spearman and top-20% revenue capture (the backtest's two criteria)."""
    selection_fraction: float = 0.25
    """Share of the rows the choice is made on (`selection_customers`) held out to choose the target when
    ``target="auto"`` and the BTYD weight."""
    selection_customers: int | None = 20_000
    """The target and the BTYD weight are chosen on a seeded sample of at most this many of the fit
    customers (split by `selection_fraction`); the chosen model is then fitted on all of them. The four
    candidate boosters were most of the value model's backtest (about 15 of 20 s at 100,000 and at
    1,000,000 customers); see docs/measurements.md ("Scale", eighteenth session) for the choices and
    the backtest on a sample against all fit customers. None: choose on every fit customer."""
    min_buyers: int = 20
    """Fewer customers with positive future revenue than this: fall back as well."""
    max_fit_customers: int | None = 50_000
    """As for churn, with its own default: the value model's backtest on 112,000 heavy-tailed customers
    (bench/scenarios.py) was no better fitted on 100,000 (its target choice flipped to log1p: Spearman
    +0.009, top-20% capture -0.016), so it keeps the 50,000 of before (docs/measurements.md, "Scale")."""
    large_above: int | None = None
    """Never: at learning rate 0.1 the value model lost 0.002 of its criterion (mean of Spearman and
    top-20% capture) on that data, so it keeps 0.05."""
    btyd_weight: float | None = None
    """Weight of the BG/NBD x Gamma-Gamma expected revenue in the prediction. None: chosen on the
    held-out split from 0, 0.25, 0.5 and 0.75 (the final model takes the one its backtest chose)."""


# ----------------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------------


def _as_day(value: Any) -> np.datetime64:
    """A date-like (date, datetime, numpy datetime64, ISO string) as datetime64[D]."""
    if isinstance(value, pa.Scalar):
        value = value.as_py()
    if isinstance(value, dt.datetime):
        value = value.date()
    day = np.datetime64(value, "D")
    if np.isnat(day):
        raise ValueError("as-of date is missing (NaT)")
    return day


def _column(table: pa.Table, name: str) -> np.ndarray | None:
    """A numeric column as float64 with NaN for nulls, or None when the table lacks it."""
    return numeric_column(table, name) if name in table.column_names else None


def _ids(values: Any) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    return np.asarray(values)


class PurchaseLog(NamedTuple):
    """The purchase log as numpy arrays (rows without a timestamp dropped), converted from Arrow once and
    read by every as-of date."""

    customer_id: np.ndarray
    transacted_at: np.ndarray  # datetime64[us]
    amount: np.ndarray  # float64, nulls as 0
    is_purchase: np.ndarray  # bool

    @classmethod
    def of(cls, transactions: pa.Table | PurchaseLog) -> PurchaseLog:
        """The log of a transactions table (customer_id, transacted_at, amount, and is_purchase or
        status), or the log itself."""
        return _transactions_arrays(transactions)


def _transactions_arrays(transactions: pa.Table | PurchaseLog) -> PurchaseLog:
    """customer_id, transacted_at (datetime64[us]), amount, is_purchase from a transactions table."""
    if isinstance(transactions, PurchaseLog):
        return transactions
    missing = {"customer_id", "transacted_at", "amount"} - set(transactions.column_names)
    if missing:
        raise KeyError(f"transactions table lacks column(s) {sorted(missing)}")
    ids = _ids(transactions.column("customer_id"))
    ts_col = transactions.column("transacted_at")
    if not pa.types.is_timestamp(ts_col.type):
        ts_col = pc.cast(ts_col, pa.timestamp("us"))
    ts = np.asarray(ts_col.to_numpy(zero_copy_only=False)).astype("datetime64[us]")
    amount = np.nan_to_num(_column(transactions, "amount"), nan=0.0)
    if "is_purchase" in transactions.column_names:
        purchase = np.asarray(pc.fill_null(transactions.column("is_purchase"), False).to_numpy(), dtype=bool)
    elif "status" in transactions.column_names:
        purchase = np.asarray(
            pc.fill_null(pc.equal(transactions.column("status"), "completed"), False).to_numpy(), dtype=bool
        )
    else:
        raise KeyError("transactions table needs is_purchase or status")
    valid = ~np.isnat(ts)
    if valid.all():
        return PurchaseLog(ids, ts, amount, purchase)
    return PurchaseLog(ids[valid], ts[valid], amount[valid], purchase[valid])


def _positions(keys: np.ndarray, table_ids: np.ndarray) -> np.ndarray:
    """The index in table_ids of the first row equal to each key, -1 where a key is absent. Arrow's hash
    lookup: sorting the ids instead (np.argsort of a million text ids, once per looked-up column) was the
    largest cost of scoring 913,107 customers."""
    try:
        table = pa.array(table_ids)
        found = pc.index_in(pa.array(keys, type=table.type), value_set=table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):  # mixed or odd key types
        order = np.argsort(table_ids, kind="stable")
        at = np.clip(np.searchsorted(table_ids[order], keys), 0, table_ids.size - 1)
        return np.where(table_ids[order[at]] == keys, order[at], -1)
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _lookup(
    keys: np.ndarray, table_ids: np.ndarray, values: np.ndarray, fill: float, at: np.ndarray | None = None
) -> np.ndarray:
    """values[i] of the row of table_ids equal to each key, `fill` where a key is absent (`at`: the keys'
    _positions, when already known)."""
    out = np.full(keys.shape[0], fill, dtype=np.float64)
    if table_ids.size == 0 or keys.size == 0:
        return out
    at = _positions(keys, table_ids) if at is None else at
    found = at >= 0
    out[found] = values[at[found]]
    return out


def _id_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct ids): each id's whole-number code, numbered in the ids' sorted order, so that
    grouping by code orders the groups as grouping by id does (np.unique of a million text ids sorts
    them; of codes, numbers). distinct[codes] gives the ids back."""
    if ids.size == 0 or ids.dtype != object:
        return ids, None
    try:
        arr = pa.array(ids)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ids of mixed types: grouped as they are
        return ids, None
    distinct = pc.unique(arr)
    distinct = distinct.take(pc.sort_indices(distinct))
    codes = pc.index_in(arr, value_set=distinct).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, distinct.to_numpy(zero_copy_only=False)


def _set_column(table: pa.Table, name: str, values: Any) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def _nullable(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.float64(), from_pandas=True)  # NaN -> null


# ----------------------------------------------------------------------------------------------------------
# Windows and labels
# ----------------------------------------------------------------------------------------------------------


def revenue_in_window(
    transactions: pa.Table | PurchaseLog, customer_ids: Any, start: Any, end: Any
) -> np.ndarray:
    """Net revenue (sum of all amounts, refunds and chargebacks negative) per customer in [start, end)."""
    uniq, sums = _window_sums(_transactions_arrays(transactions), start, end)
    return _lookup(_ids(customer_ids), uniq, sums, 0.0)


def _window_sums(log: PurchaseLog, start: Any, end: Any) -> tuple[np.ndarray, np.ndarray]:
    """(customer ids, their net revenue) over the transactions in [start, end)."""
    ids, ts, amount, _ = log
    lo, hi = _as_day(start).astype("datetime64[us]"), _as_day(end).astype("datetime64[us]")
    inside = (ts >= lo) & (ts < hi)
    codes, distinct = _id_codes(ids[inside])
    if distinct is not None:  # the codes already number the distinct ids in order
        return distinct, np.bincount(codes, weights=amount[inside], minlength=distinct.size)
    uniq, inv = np.unique(ids[inside], return_inverse=True)
    return uniq, np.bincount(inv.ravel(), weights=amount[inside], minlength=uniq.size)


# ----------------------------------------------------------------------------------------------------------
# BTYD inputs
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BTYDResult:
    """Per-customer BTYD scores as of a date, the fitted parameters, and why any part is missing.

    ``table``: customer_id, p_alive, expected_purchases (next h days), expected_spend (Gamma-Gamma
    conditional mean spend per purchase), expected_revenue (next h days, undiscounted), plus the
    BTYD summary btyd_frequency, btyd_recency, btyd_age (days). Columns are null where the fit failed.
    ``params``: {"bgnbd": {...}, "gamma_gamma": {...}, "penalizer": ...} for the parts that fitted.
    ``ok``: all four columns are filled; ``reason``: what failed, or None.
    """

    table: pa.Table
    params: dict[str, Any] = field(default_factory=dict)
    ok: bool = False
    reason: str | None = None


def _fit_with_retry(make_and_fit, config: BTYDConfig) -> tuple[Any, float]:
    penalties = [config.penalizer]
    if config.retry_penalizer > 0 and config.retry_penalizer != config.penalizer:
        penalties.append(config.retry_penalizer)
    error: Exception | None = None
    for pen in penalties:
        try:
            return make_and_fit(pen), pen
        except (ValueError, FloatingPointError, ArithmeticError) as exc:
            error = exc
    assert error is not None
    raise error


def btyd_features(
    transactions: pa.Table | PurchaseLog, as_of: Any, config: BTYDConfig | None = None
) -> BTYDResult:
    """Fit BG/NBD + Gamma-Gamma on the completed purchases before ``as_of`` and score every buyer.

    ``transactions`` has customer_id, transacted_at, amount and is_purchase (or status, 'completed'
    meaning a purchase). One row per customer with a completed purchase before ``as_of``. Never raises
    on a failed fit: the affected columns are null and ``reason`` says why.
    """
    cfg = config or BTYDConfig()
    ids, ts, amount, purchase = _transactions_arrays(transactions)
    day = _as_day(as_of)
    keep = purchase & (ts < day.astype("datetime64[us]"))
    codes, distinct = _id_codes(ids[keep])
    summary = rfm_summary(codes, ts[keep], amount[keep], day)
    if distinct is not None:
        summary = summary._replace(customer_id=distinct[summary.customer_id])
    n = summary.customer_id.size
    x = summary.frequency.astype(np.float64)
    t_x, age = summary.recency, summary.age
    cols = {name: np.full(n, np.nan) for name in BTYD_COLUMNS}
    params: dict[str, Any] = {}
    reasons: list[str] = []

    n_repeat = int(np.sum(x > 0))
    # The fits see a seeded sample of the customers (all of them up to cfg.max_fit_customers); every
    # customer is scored.
    fit_rows = seeded_sample(n, cfg.max_fit_customers, cfg.seed)
    if n == 0:
        reasons.append("no completed purchase before the as-of date")
    elif n_repeat < cfg.min_repeat_customers:
        reasons.append(
            f"only {n_repeat} customers with a repeat purchase (< {cfg.min_repeat_customers}): "
            "BG/NBD not fitted"
        )
    else:
        # A fit whose parameters cannot score every customer (a and b running off together make
        # 2F1 overflow) is retried with the penalty, as a failed fit is.
        def bgnbd_scores(penalizer: float) -> tuple[BetaGeometricNBD, np.ndarray, np.ndarray]:
            bg = BetaGeometricNBD(penalizer=penalizer).fit(x[fit_rows], t_x[fit_rows], age[fit_rows])
            horizon = float(cfg.horizon_days)
            return bg, bg.probability_alive(x, t_x, age), bg.expected_purchases(horizon, x, t_x, age)

        try:
            (bg, cols["p_alive"], cols["expected_purchases"]), pen = _fit_with_retry(bgnbd_scores, cfg)
            params["bgnbd"] = bg.params_
            params["bgnbd_penalizer"] = pen
        except (ValueError, FloatingPointError, ArithmeticError) as exc:
            cols["p_alive"][:] = np.nan
            cols["expected_purchases"][:] = np.nan
            reasons.append(f"BG/NBD: {exc}")
        # Gamma-Gamma on customers with repeat purchases of positive mean value.
        m = summary.monetary_value
        usable = (x > 0) & (m > 0)
        x_gg = np.where(usable, x, 0.0)
        try:
            gg, pen = _fit_with_retry(lambda p: GammaGamma(penalizer=p).fit(x_gg[fit_rows], m[fit_rows]), cfg)
            params["gamma_gamma"] = gg.params_
            params["gamma_gamma_penalizer"] = pen
            cols["expected_spend"] = gg.conditional_expected_average_profit(x_gg, np.where(usable, m, 0.0))
        except (ValueError, FloatingPointError, ArithmeticError) as exc:
            cols["expected_spend"][:] = np.nan
            reasons.append(f"Gamma-Gamma: {exc}")
        cols["expected_revenue"] = cols["expected_purchases"] * cols["expected_spend"]

    table = pa.table(
        {
            "customer_id": pa.array(summary.customer_id),
            **{name: _nullable(cols[name]) for name in BTYD_COLUMNS},
            "btyd_frequency": pa.array(x),
            "btyd_recency": pa.array(np.asarray(t_x, dtype=np.float64)),
            "btyd_age": pa.array(np.asarray(age, dtype=np.float64)),
        }
    )
    ok = n > 0 and not reasons
    return BTYDResult(table=table, params=params, ok=ok, reason="; ".join(reasons) or None)


class History:
    """The history columns of every customer as of one date (the BTYD scores and ``revenue_last_horizon``),
    computed once from the purchase log; :meth:`join` adds them to any rows of that date, a whole snapshot
    or one batch of it."""

    def __init__(
        self, transactions: pa.Table | PurchaseLog, as_of: Any, config: BTYDConfig | None = None
    ) -> None:
        cfg = config or BTYDConfig()
        log = _transactions_arrays(transactions)
        self.result = btyd_features(log, as_of, cfg)
        self._btyd_ids = _ids(self.result.table.column("customer_id"))
        self._btyd = {name: _column(self.result.table, name) for name in BTYD_COLUMNS}
        day = _as_day(as_of)
        self._revenue = _window_sums(log, day - np.timedelta64(int(cfg.horizon_days), "D"), day)
        # Where each customer's row is, built once for the batches that join (a hash of a million ids
        # per batch and column cost more than the scoring's reads).
        self._at: dict[str, dict[Any, int]] = {}

    def _positions(self, which: str, keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
        if keys.dtype != object or ids.dtype != object:
            return _positions(keys, ids)
        if which not in self._at:  # the ids are distinct (one row per customer)
            self._at[which] = dict(zip(ids.tolist(), range(ids.size), strict=True))
        index = self._at[which]
        return np.fromiter((index.get(key, -1) for key in keys.tolist()), dtype=np.int64, count=keys.size)

    def join(self, features: pa.Table) -> pa.Table:
        """``features`` with the history columns (rows keep their order; customers without a completed
        purchase get null BTYD columns and 0 past revenue)."""
        keys = _ids(features.column("customer_id"))
        out = features
        at = self._positions("btyd", keys, self._btyd_ids) if self._btyd_ids.size and keys.size else None
        for name in BTYD_COLUMNS:
            values = _lookup(keys, self._btyd_ids, self._btyd[name], np.nan, at)
            out = _set_column(out, name, _nullable(values))
        ids, sums = self._revenue
        at = self._positions("revenue", keys, ids) if ids.size and keys.size else None
        past = _lookup(keys, ids, sums, 0.0, at)
        return _set_column(out, PAST_REVENUE_COLUMN, pa.array(past, type=pa.float64()))


def add_history_features(
    features: pa.Table, transactions: pa.Table | PurchaseLog, as_of: Any, config: BTYDConfig | None = None
) -> tuple[pa.Table, BTYDResult]:
    """``features`` with the BTYD columns and ``revenue_last_horizon`` (net revenue in [d - h, d)) joined.

    Rows keep their order; customers without a completed purchase get null BTYD columns. Returns the
    table and the :class:`BTYDResult` (parameters and failure reason).
    """
    history = History(transactions, as_of, config)
    return history.join(features), history.result


# ----------------------------------------------------------------------------------------------------------
# Model inputs
# ----------------------------------------------------------------------------------------------------------


def _history_rate(table: pa.Table, horizon: float) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Purchases and net revenue per h-day window so far: value * h / max(tenure, h)."""
    tenure = _column(table, "tenure_days")
    if tenure is None:
        return None, None
    denom = np.maximum(np.nan_to_num(tenure, nan=horizon), horizon) / horizon
    orders = _column(table, "purchase_days")
    if orders is None:
        orders = _column(table, "frequency")
    money = _column(table, "monetary")
    rate = None if orders is None else np.nan_to_num(orders, nan=0.0) / denom
    revenue = None if money is None else np.clip(np.nan_to_num(money, nan=0.0), 0.0, None) / denom
    return rate, revenue


def _derived_columns(table: pa.Table, horizon: float) -> dict[str, np.ndarray]:
    """BTYD columns plus ratios that make recency comparable across customers of different tenure."""
    out: dict[str, np.ndarray] = {}
    for name in (*BTYD_COLUMNS, PAST_REVENUE_COLUMN):
        values = _column(table, name)
        if values is not None:
            out[name] = values
    recency = _column(table, "recency_days")
    tenure = _column(table, "tenure_days")
    orders = _column(table, "purchase_days")
    if orders is None:
        orders = _column(table, "frequency")
    if recency is not None and tenure is not None:
        out["recency_tenure_ratio"] = recency / np.maximum(tenure, 1.0)
        if orders is not None:
            mean_gap = np.maximum(tenure, 1.0) / np.maximum(orders, 1.0)
            out["recency_gap_ratio"] = recency / mean_gap
    rate, revenue = _history_rate(table, horizon)
    if rate is not None:
        out["history_purchases_per_horizon"] = rate
    if revenue is not None:
        out["history_revenue_per_horizon"] = revenue
    return out


class _Design:
    """Turns a snapshot table into the boosting matrix: catalog block (FeaturePreprocessor) + derived."""

    def __init__(self, use_catalog: bool, horizon: float) -> None:
        self.use_catalog = use_catalog
        self.horizon = horizon

    def fit(self, table: pa.Table, catalog: Any) -> _Design:
        derived = _derived_columns(table, self.horizon)
        self.derived_names_ = list(derived)
        self.preprocessor_: FeaturePreprocessor | None = None
        self.raw_names_: list[str] = []
        if self.use_catalog and catalog is not None:
            specs = [s for s in load_catalog(catalog) if s.name not in derived]
            self.preprocessor_ = FeaturePreprocessor().fit(table, specs)
            base_names = list(self.preprocessor_.feature_names_out_)
        elif self.use_catalog:
            self.raw_names_ = [
                name
                for name, typ in zip(table.column_names, table.schema.types, strict=True)
                if name not in _NOT_FEATURES
                and name not in derived
                and (pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ))
            ]
            base_names = list(self.raw_names_)
        else:
            base_names = []
        self.feature_names_ = base_names + self.derived_names_
        return self

    def transform(self, table: pa.Table, order: Literal["C", "F"] = "C") -> np.ndarray:
        """The float64 design matrix of `table`, written column by column into one array (no stacked
        copies); `order` "F" lays it out column-major, as the boosters read it (`tree_input`), the
        same values."""
        n = table.num_rows
        out = np.empty((n, len(self.feature_names_)), dtype=np.float64, order=order)
        j = 0
        if self.preprocessor_ is not None:
            block = self.preprocessor_.transform(table, order=order)
            out[:, : block.shape[1]] = block
            j = block.shape[1]
        for name in self.raw_names_:
            values = _column(table, name)
            if values is None:
                raise KeyError(f"feature {name!r} seen in fit is missing from the table")
            out[:, j] = values
            j += 1
        derived = _derived_columns(table, self.horizon)
        for name in self.derived_names_:
            values = derived.get(name)
            out[:, j] = np.nan if values is None else values
            j += 1
        return out


def _labels(values: Any, n: int, name: str) -> np.ndarray:
    """Labels as float64 with NaN for nulls; None or a wrong length is an error handled by the caller."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if pa.types.is_boolean(values.type) or pa.types.is_integer(values.type):
            values = pc.cast(values, pa.float64())
        arr = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    else:
        arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have one value per row ({n}), got shape {arr.shape}")
    return arr


def _labelled(
    values: Any, n: int, name: str, min_customers: int
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(mask of labelled rows, their labels, why a learned model cannot be fitted or None)."""
    if values is None:
        return np.zeros(0, dtype=bool), np.zeros(0), "no labels (history too short to replay a horizon)"
    y_all = _labels(values, n, name)
    rows = np.isfinite(y_all)
    y = y_all[rows]
    reason = f"only {y.size} labelled customers (< {min_customers})" if y.size < min_customers else None
    return rows, y, reason


def _bounded_sample(
    features: pa.Table, rows: np.ndarray, y: np.ndarray, cap: int | None, seed: int
) -> tuple[pa.Table, np.ndarray, np.ndarray, int]:
    """(features, labelled-row mask, labels, labelled customers before sampling), reduced to a seeded
    sample of at most `cap` labelled customers (rows keep their order) when there are more."""
    n_labelled = int(y.size)
    if cap is None or n_labelled <= cap:
        return features, rows, y, n_labelled
    labelled = np.flatnonzero(rows)
    keep = seeded_sample(n_labelled, cap, seed)
    return features.take(labelled[keep]), np.ones(keep.size, dtype=bool), y[keep], n_labelled


def _fall_back(model: Any, reason: str | None) -> bool:
    """Set a churn or value model up for its BTYD fallback when there is a `reason`; say whether it did."""
    model.fallback_reason_ = reason
    if reason is None:
        return False
    model.method_ = "btyd"
    model.estimator_ = None
    model.design_ = None
    return True


def _at_scale(cfg: Any, fit_customers: int) -> Any:
    """The config a model fits `fit_customers` with: above `large_above`, boosting at
    `large_learning_rate`."""
    if cfg.large_above is None or fit_customers <= cfg.large_above:
        return cfg
    return replace(cfg, learning_rate=cfg.large_learning_rate)


def _booster_kwargs(cfg: ChurnConfig | ValueConfig) -> dict[str, Any]:
    return {
        "learning_rate": cfg.learning_rate,
        "max_iter": cfg.max_iter,
        "max_leaf_nodes": cfg.max_leaf_nodes,
        "min_samples_leaf": cfg.min_samples_leaf,
        "l2_regularization": cfg.l2_regularization,
        "early_stopping": cfg.early_stopping,
        "validation_fraction": 0.1,
        "n_iter_no_change": 20,
        "random_state": cfg.random_state,
    }


# ----------------------------------------------------------------------------------------------------------
# Churn
# ----------------------------------------------------------------------------------------------------------


def _logistic(cfg: ChurnConfig) -> Pipeline:
    """A regularised logistic regression on the same inputs (median-imputed, standardised)."""
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=0.5, max_iter=2000, random_state=cfg.random_state),
    )


def _fallback_churn(table: pa.Table, horizon: float) -> np.ndarray:
    """P(no purchase in the next h days): exp(-expected purchases), BTYD where present, else history rate."""
    expected = _column(table, "expected_purchases")
    rate, _ = _history_rate(table, horizon)
    if expected is None:
        expected = np.full(table.num_rows, np.nan)
    if rate is None:
        rate = np.full(table.num_rows, np.nan)
    expected = np.where(np.isfinite(expected), expected, rate)
    risk = np.exp(-np.clip(expected, 0.0, None))
    return np.where(np.isfinite(risk), risk, 1.0)


def _sampled_design(
    model: Any, features: pa.Table, rows: np.ndarray, y: np.ndarray, cfg: Any, catalog: Any
) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    """(features, rows, design matrix of those rows, labels) of the labelled customers a model fits on:
    a seeded sample of at most `cfg.max_fit_customers` of them; sets the model's labelled_customers_,
    fit_customers_, design_ and feature_names_."""
    features, rows, y, model.labelled_customers_ = _bounded_sample(
        features, rows, y, cfg.max_fit_customers, cfg.random_state
    )
    model.fit_customers_ = int(y.size)
    model.design_ = _Design(cfg.catalog_features, model.horizon_days_).fit(features, catalog)
    model.feature_names_ = list(model.design_.feature_names_)
    return features, rows, model.design_.transform(features)[rows], y


class _HorizonModel:
    """What the churn and the value model share: a config in the constructor (their own config class
    when none is given) and the start of `fit`, which reads the labels."""

    _CONFIG: type[BoostingConfig] = BoostingConfig

    def __init__(self, config: BoostingConfig | None = None) -> None:
        self.config = config

    def _begin(
        self, features: pa.Table, labels: Any, name: str
    ) -> tuple[Any, np.ndarray, np.ndarray, str | None]:
        """(config, labelled rows, their labels, why the model must fall back or None)."""
        cfg = self.config or self._CONFIG()
        self.horizon_days_ = float(cfg.horizon_days)
        rows, y, reason = _labelled(labels, features.num_rows, name, cfg.min_customers)
        return cfg, rows, y, reason


class ChurnModel(_HorizonModel):
    """Calibrated churn risk: P(no completed purchase in the next h days | snapshot features).

    ``fit(features, lapsed)`` learns from a snapshot whose labels come from the following window (the
    ``training`` snapshot in production, ``backtest`` in :func:`backtest`); ``churn_risk(features)``
    returns the risk in [0, 1], one value per row (``predict_proba`` the two-column form scikit-learn
    uses). ``features`` is a pyarrow Table with
    customer_id, the catalog features and, ideally, the columns of :func:`add_history_features`.

    With enough labelled history the model is a HistGradientBoostingClassifier calibrated by
    CalibratedClassifierCV (seeded stratified folds), a regularised logistic regression, or their average,
    whichever ranks best out of fold (``method_`` says which: "gradient_boosting", "logistic", "blend";
    ``selection_`` holds the out-of-fold AUCs). When the
    labels are missing, too few or all one class, it falls back to ``method_ == "btyd"``: churn_risk =
    exp(-E[purchases in h]), the Poisson probability of no purchase given the BG/NBD expected purchases
    (for customers without BTYD scores: their purchases per h-day window so far);
    ``fallback_reason_`` says why.
    """

    _CONFIG = ChurnConfig

    def fit(self, features: pa.Table, lapsed: Any = None, catalog: Any = None) -> ChurnModel:
        """Learn churn risk from ``features`` and the ``lapsed`` labels (bool per row; None = no labels)."""
        cfg, X_rows, y, reason = self._begin(features, lapsed, "lapsed")
        if reason is None:
            n_pos, n_neg = int(np.sum(y > 0.5)), int(np.sum(y <= 0.5))
            if min(n_pos, n_neg) < cfg.min_class_count:
                reason = f"{n_pos} lapsed and {n_neg} retained customers: too few of one class"
        self.base_rate_ = float(np.mean(y > 0.5)) if y.size else float("nan")
        if _fall_back(self, reason):
            return self
        features, X_rows, X, y = _sampled_design(self, features, X_rows, y, cfg, catalog)
        target = (y > 0.5).astype(np.int64)
        cfg = _at_scale(cfg, target.size)
        if cfg.large_above is not None and target.size > cfg.large_above:
            return self._fit_held_out(X, target, cfg)
        return self._fit_folds(X, target, cfg)

    def _choose(self, scores: dict[str, np.ndarray] | None, target: np.ndarray, cfg: ChurnConfig) -> tuple:
        """Set method_ (and selection_, the AUC of each candidate's out-of-sample `scores`): the best AUC,
        or the configured method; returns the names of the models to fit for it."""
        if scores is None:
            self.selection_: dict[str, float] = {}
            self.method_ = cfg.method
        else:
            scores["blend"] = (scores["gradient_boosting"] + scores["logistic"]) / 2.0
            self.selection_ = {name: float(roc_auc_score(target, s)) for name, s in scores.items()}
            self.method_ = max(self.selection_, key=lambda name: (self.selection_[name], name == "blend"))
        return ("gradient_boosting", "logistic") if self.method_ == "blend" else (self.method_,)

    def _fit_folds(self, X: np.ndarray, target: np.ndarray, cfg: ChurnConfig) -> ChurnModel:
        """One booster per stratified, seeded fold, calibrated on its fold (CalibratedClassifierCV)."""
        folds = StratifiedKFold(n_splits=cfg.calibration_folds, shuffle=True, random_state=cfg.random_state)
        candidates = {
            "gradient_boosting": CalibratedClassifierCV(
                HistGradientBoostingClassifier(**_booster_kwargs(cfg)), method=cfg.calibration, cv=folds
            ),
            "logistic": _logistic(cfg),
        }
        # Out-of-fold AUC of each candidate and of their average picks the model: boosting wins on large
        # histories, a regularised linear model (or the blend) on small ones. The calibrated boosting
        # model is itself one booster per fold of the same folds: it is fitted once, and its fold boosters
        # give the out-of-fold scores (the same models cross_val_predict would fit again).
        oof = None
        if cfg.method == "auto":
            boosting = candidates["gradient_boosting"].fit(X, target)
            oof = {"gradient_boosting": np.zeros(len(target))}
            for pair, (_, test) in zip(boosting.calibrated_classifiers_, folds.split(X, target), strict=True):
                oof["gradient_boosting"][test] = pair.estimator.predict_proba(tree_input(X[test]))[:, 1]
            logistic = cross_val_predict(_logistic(cfg), X, target, cv=folds, method="predict_proba")
            oof["logistic"] = logistic[:, 1]
        names = self._choose(oof, target, cfg)
        if "gradient_boosting" in names and oof is None:
            candidates["gradient_boosting"].fit(X, target)
        if "logistic" in names:
            candidates["logistic"].fit(X, target)
        self.estimators_ = {name: candidates[name] for name in names}
        self.estimator_ = self.estimators_.get(self.method_)
        return self

    def _fit_held_out(self, X: np.ndarray, target: np.ndarray, cfg: ChurnConfig) -> ChurnModel:
        """Above `large_above` customers: one booster on all but a stratified, seeded held-out share,
        calibrated on that share; the held-out AUCs of the booster, of the logistic model (fitted on the
        same rows) and of their average pick the model, as the out-of-fold AUCs do below it."""
        fit, held = train_test_split(
            np.arange(target.size),
            test_size=cfg.holdout_fraction,
            stratify=target,
            random_state=cfg.random_state,
        )
        booster = HistGradientBoostingClassifier(**_booster_kwargs(cfg))
        logistic = _logistic(cfg)
        scores = None
        if cfg.method == "auto":
            booster.fit(X[fit], target[fit])
            logistic.fit(X[fit], target[fit])
            scores = {
                "gradient_boosting": booster.predict_proba(tree_input(X[held]))[:, 1],
                "logistic": logistic.predict_proba(X[held])[:, 1],
            }
        names = self._choose(scores, target[held], cfg)
        candidates = {
            "gradient_boosting": CalibratedClassifierCV(
                FrozenEstimator(booster), method=cfg.holdout_calibration
            )
        }
        candidates["logistic"] = logistic
        if "gradient_boosting" in names:
            if scores is None:
                booster.fit(X[fit], target[fit])
            candidates["gradient_boosting"].fit(X[held], target[held])
        if "logistic" in names:
            logistic.fit(X, target)  # on every row, as below the threshold
        self.estimators_ = {name: candidates[name] for name in names}
        self.estimator_ = self.estimators_.get(self.method_)
        return self

    def predict_proba(self, features: pa.Table) -> np.ndarray:
        """Class probabilities as scikit-learn shapes them, one row per customer: columns [stays, lapses]."""
        risk = self.churn_risk(features)
        return np.column_stack([1.0 - risk, risk])

    def churn_risk(self, features: pa.Table) -> np.ndarray:
        """churn_risk in [0, 1] per row: the probability of no completed purchase in the next h days."""
        if not hasattr(self, "method_"):
            raise NotFittedError("ChurnModel is not fitted yet; call fit() first")
        if self.method_ == "btyd":
            return _fallback_churn(features, self.horizon_days_)
        # Column-major for the booster (tree_input); the linear models keep the row-major layout their
        # matrix products were fitted on.
        X = self.design_.transform(features, order="F")
        proba = np.mean(
            [
                model.predict_proba(X if name == "gradient_boosting" else np.ascontiguousarray(X))[:, 1]
                for name, model in self.estimators_.items()
            ],
            axis=0,
        )
        return np.clip(proba, 0.0, 1.0)


# ----------------------------------------------------------------------------------------------------------
# Value
# ----------------------------------------------------------------------------------------------------------


def _fallback_value(table: pa.Table, horizon: float) -> np.ndarray:
    """BTYD expected revenue where present, else the customer's net revenue per h-day window so far."""
    expected = _column(table, "expected_revenue")
    _, history = _history_rate(table, horizon)
    if expected is None:
        expected = np.full(table.num_rows, np.nan)
    if history is None:
        history = np.zeros(table.num_rows)
    value = np.where(np.isfinite(expected), expected, history)
    return np.clip(np.nan_to_num(value, nan=0.0), 0.0, None)


class _ValueRegressor:
    """One way of predicting revenue >= 0 from the design matrix (see ValueConfig.target)."""

    def __init__(self, target: str, cfg: ValueConfig) -> None:
        self.target = target
        self.kwargs = _booster_kwargs(cfg)

    def fit(self, X: np.ndarray, y: np.ndarray) -> _ValueRegressor:
        self.smearing = 1.0
        if self.target == "poisson":
            self.model = HistGradientBoostingRegressor(loss="poisson", **self.kwargs).fit(X, y)
        elif self.target == "log1p":
            self.model = HistGradientBoostingRegressor(**self.kwargs).fit(X, np.log1p(y))
            # Smearing: expm1 of a mean log underestimates the mean revenue; rescale to match it.
            raw = np.expm1(self.model.predict(X)).clip(0.0, None)
            self.smearing = float(np.mean(y) / np.mean(raw)) if np.mean(raw) > 0 else 1.0
        elif self.target == "hurdle":
            buy = y > 0
            self.buyer = HistGradientBoostingClassifier(**self.kwargs).fit(X, buy.astype(np.int64))
            self.model = HistGradientBoostingRegressor(**self.kwargs).fit(X[buy], np.log(y[buy]))
            raw = np.exp(self.model.predict(X[buy]))
            self.smearing = float(np.mean(y[buy]) / np.mean(raw))
        else:
            raise ValueError(f"unknown value target {self.target!r}")
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = tree_input(X)
        pred = booster_output(self.model, X, "predict")
        if self.target == "log1p":
            pred = np.expm1(pred) * self.smearing
        elif self.target == "hurdle":
            pred = booster_output(self.buyer, X)[:, 1] * np.exp(pred) * self.smearing
        return np.clip(pred, 0.0, None)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


class ValueModel(_HorizonModel):
    """Predicted lifetime value: predicted_ltv is expected net revenue over the next h days, not a
    discounted lifetime sum.

    ``fit(features, future_revenue)`` learns from a labelled snapshot; ``predict(features)`` returns
    predicted_ltv >= 0 per row. With enough labelled history it is gradient boosting
    (``method_ == "gradient_boosting"``; ``target_`` says which of the targets of
    :class:`ValueConfig` was used, ``target_scores_`` the held-out scores behind an ``auto`` choice),
    the BTYD expected revenue being one of its inputs. Otherwise
    ``method_ == "btyd"``: the BTYD expected revenue, and for customers without it their net revenue per
    h-day window so far; ``fallback_reason_`` says why.
    """

    _CONFIG = ValueConfig

    def fit(self, features: pa.Table, future_revenue: Any = None, catalog: Any = None) -> ValueModel:
        """Learn predicted_ltv from ``features`` and ``future_revenue`` (net revenue in the next h days)."""
        cfg, rows, y, reason = self._begin(features, future_revenue, "future_revenue")
        y = np.clip(y, 0.0, None)  # net revenue below 0 (refunds) counts as 0 value
        if reason is None and int(np.sum(y > 0)) < cfg.min_buyers:
            reason = f"only {int(np.sum(y > 0))} customers with future revenue (< {cfg.min_buyers})"
        if _fall_back(self, reason):
            return self
        features, rows, X, y = _sampled_design(self, features, rows, y, cfg, catalog)
        cfg = _at_scale(cfg, y.size)
        self.target_scores_: dict[str, float] = {}
        held_out_by_target: dict[str, np.ndarray] = {}
        target = cfg.target
        # The rows the target and the BTYD weight are chosen on: every fit row (a view, not a copy) up to
        # selection_customers, a seeded sample above.
        sampled = seeded_sample(y.size, cfg.selection_customers, cfg.random_state + 1)
        choose: np.ndarray | slice = sampled if sampled.size < y.size else slice(None)
        if target == "auto":
            X_fit, X_sel, y_fit, y_sel = train_test_split(
                X[choose], y[choose], test_size=cfg.selection_fraction, random_state=cfg.random_state
            )
            for candidate in _VALUE_TARGETS:
                pred = _ValueRegressor(candidate, cfg).fit(X_fit, y_fit).predict(X_sel)
                held_out_by_target[candidate] = pred
                scores = evaluate_value(y_sel, pred)
                score = 0.5 * (scores["spearman"] + scores["top20_capture"])
                self.target_scores_[candidate] = score if math.isfinite(score) else -np.inf
            target = max(_VALUE_TARGETS, key=lambda k: self.target_scores_[k])  # first wins ties
        self.target_ = target
        # Shrinking towards the BG/NBD x Gamma-Gamma expected revenue helps where history is short and
        # noisy; the weight is chosen on the held-out split by the same criterion (0 = model alone).
        self.btyd_weight_ = 0.0
        self.blend_scores_: dict[float, float] = {}
        if cfg.btyd_weight is not None:
            self.btyd_weight_ = float(cfg.btyd_weight)
            self.estimator_ = _ValueRegressor(target, cfg).fit(X, y)
            self.method_ = "gradient_boosting"
            return self
        btyd = _fallback_value(features, self.horizon_days_)[rows]
        # The same seeded split as the target choice (same rows, same seed): the chosen target's held-out
        # predictions from it are reused rather than fitted again.
        X_fit, X_sel, y_fit, y_sel, _b_fit, b_sel = train_test_split(
            X[choose],
            y[choose],
            btyd[choose],
            test_size=cfg.selection_fraction,
            random_state=cfg.random_state,
        )
        held_out = held_out_by_target.get(target)
        if held_out is None:
            held_out = _ValueRegressor(target, cfg).fit(X_fit, y_fit).predict(X_sel)
        for weight in (0.0, 0.25, 0.5, 0.75):
            scores = evaluate_value(y_sel, (1 - weight) * held_out + weight * b_sel)
            self.blend_scores_[weight] = 0.5 * (scores["spearman"] + scores["top20_capture"])
        self.btyd_weight_ = max(self.blend_scores_, key=lambda w: (self.blend_scores_[w], -w))
        self.estimator_ = _ValueRegressor(target, cfg).fit(X, y)
        self.method_ = "gradient_boosting"
        return self

    def predict(self, features: pa.Table) -> np.ndarray:
        """predicted_ltv >= 0 per row: expected net revenue over the next h days (undiscounted)."""
        if not hasattr(self, "method_"):
            raise NotFittedError("ValueModel is not fitted yet; call fit() first")
        if self.method_ == "btyd":
            return _fallback_value(features, self.horizon_days_)
        model = self.estimator_.predict(self.design_.transform(features, order="F"))
        weight = getattr(self, "btyd_weight_", 0.0)
        if weight == 0.0:
            return model
        return (1 - weight) * model + weight * _fallback_value(features, self.horizon_days_)


# ----------------------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------------------


def _finite_pair(y: Any, s: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y, dtype=np.float64).ravel()
    s_arr = np.asarray(s, dtype=np.float64).ravel()
    if y_arr.shape != s_arr.shape:
        raise ValueError(f"{name}: y_true and the scores differ in length ({y_arr.size} vs {s_arr.size})")
    if y_arr.size == 0:
        raise ValueError(f"{name}: no rows to evaluate")
    if not (np.all(np.isfinite(y_arr)) and np.all(np.isfinite(s_arr))):
        raise ValueError(f"{name}: y_true and the scores must be finite (fill missing scores first)")
    return y_arr, s_arr


def evaluate_churn(y_true: Any, scores: Any) -> dict[str, float]:
    """Ranking and classification quality of churn scores (higher = more likely lapsed).

    Returns n, base_rate (share lapsed), auc_roc, pr_auc (average precision, the step-wise area under
    the precision-recall curve), f1 at the score threshold that maximises it, and that threshold
    (predict lapsed when score >= threshold). AUC values are NaN when y_true has a single class.
    """
    y, s = _finite_pair(y_true, scores, "evaluate_churn")
    y = (y > 0.5).astype(np.int64)
    out: dict[str, float] = {"n": float(y.size), "base_rate": float(y.mean())}
    if y.min() == y.max():
        out.update(auc_roc=float("nan"), pr_auc=float("nan"), f1=float("nan"), f1_threshold=float("nan"))
        return out
    out["auc_roc"] = float(roc_auc_score(y, s))
    out["pr_auc"] = float(average_precision_score(y, s))
    precision, recall, thresholds = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    best = int(np.argmax(f1))
    out["f1"] = float(f1[best])
    out["f1_threshold"] = float(thresholds[best])
    return out


def _top_share_captured(y: np.ndarray, pred: np.ndarray, share: float) -> float:
    """Share of total y held by the top `share` of rows by prediction; ties at the cut count pro rata."""
    total = float(y.sum())
    if not total > 0:
        return float("nan")
    k = share * y.size
    order = np.argsort(-pred, kind="stable")
    p_sorted, y_sorted = pred[order], y[order]
    # Group equal predictions; a group straddling the cut contributes its mean y per included row.
    uniq_starts = np.flatnonzero(np.r_[True, p_sorted[1:] != p_sorted[:-1]])
    ends = np.r_[uniq_starts[1:], y.size]
    sums = np.add.reduceat(y_sorted, uniq_starts)
    captured = 0.0
    for start, end, group_sum in zip(uniq_starts, ends, sums, strict=True):
        if start >= k:
            break
        take = min(end, k) - start
        captured += group_sum * take / (end - start)
    return captured / total


def evaluate_value(y_true_revenue: Any, predicted: Any) -> dict[str, float]:
    """Ranking quality of value predictions against the realised next-period revenue.

    Returns n, spearman (rank correlation, NaN when either side is constant), and top10_capture /
    top20_capture: the share of total realised revenue earned by the 10% / 20% of customers with the
    highest predictions (customers tied at the cut count pro rata; NaN when total revenue <= 0).
    """
    y, p = _finite_pair(y_true_revenue, predicted, "evaluate_value")
    return {
        "n": float(y.size),
        "spearman": _spearman(y, p),
        "top10_capture": _top_share_captured(y, p, 0.10),
        "top20_capture": _top_share_captured(y, p, 0.20),
    }


# ----------------------------------------------------------------------------------------------------------
# Baselines and backtest
# ----------------------------------------------------------------------------------------------------------


SCORE_BATCH_ROWS = 100_000
"""Rows a model scores at a time (bounds the design matrix in memory; every score is a function of its
own row, so batches change nothing)."""


BACKTEST_EVAL_CUSTOMERS = 200_000
"""Most customers of the evaluation snapshot the backtest scores (a seeded sample; None: all of them).
Every figure of the backtest is a mean over customers or a rank statistic, so a sample of 200,000 moves
them by sampling error only (within 0.003 at 1,000,000 demo customers, docs/measurements.md, "Scale"),
where evaluating on all 778,688 customers of that snapshot took 28 of the 102 seconds of training (7
with the sample)."""


def in_batches(score: Callable[[pa.Table], np.ndarray], table: pa.Table) -> np.ndarray:
    """``score(table)``, computed on slices of :data:`SCORE_BATCH_ROWS` rows."""
    if table.num_rows <= SCORE_BATCH_ROWS:
        return score(table)
    starts = range(0, table.num_rows, SCORE_BATCH_ROWS)
    return np.concatenate([score(table.slice(start, SCORE_BATCH_ROWS)) for start in starts])


def rfm_score(features: pa.Table) -> np.ndarray | None:
    """r_score + f_score + m_score (3..15, higher = better customer) as int_customers_rfm scores them in
    SQL (the rank_score macro), or None when the table lacks them."""
    scores = [_column(features, name) for name in ("r_score", "f_score", "m_score")]
    if any(score is None for score in scores):
        return None
    return np.nansum(np.vstack(scores), axis=0)


def _fill(values: np.ndarray | None, n: int) -> np.ndarray:
    """Missing baseline scores are set to the mean score (neutral); all missing gives zeros."""
    if values is None:
        return np.zeros(n)
    finite = np.isfinite(values)
    fill = float(values[finite].mean()) if finite.any() else 0.0
    return np.where(finite, values, fill)


def _join_labels(features: pa.Table, labels: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    keys = _ids(features.column("customer_id"))
    label_ids = _ids(labels.column("customer_id"))
    at = _positions(keys, label_ids) if keys.size and label_ids.size else None
    lapsed = _lookup(keys, label_ids, _column(labels, "lapsed"), np.nan, at)
    revenue = _lookup(keys, label_ids, _column(labels, "future_revenue"), np.nan, at)
    return lapsed, revenue


def _snapshot_date(features: pa.Table) -> Any:
    if "as_of_date" not in features.column_names:
        raise ValueError("features need an as_of_date column (or pass the as-of dates explicitly)")
    dates = pc.unique(features.column("as_of_date")).to_pylist()
    if len(dates) != 1:
        raise ValueError(f"a snapshot must have one as_of_date, found {len(dates)}")
    return dates[0]


def backtest(
    backtest_features: pa.Table,
    backtest_labels: pa.Table,
    training_features: pa.Table,
    training_labels: pa.Table,
    transactions: pa.Table | None = None,
    *,
    catalog: Any = None,
    churn_config: ChurnConfig | None = None,
    value_config: ValueConfig | None = None,
    btyd_config: BTYDConfig | None = None,
    as_of_dates: Sequence[Any] | None = None,
    step: Callable[[str], None] | None = None,
    models: dict[str, Any] | None = None,
    max_eval_customers: int | None = BACKTEST_EVAL_CUSTOMERS,
) -> list[dict[str, Any]]:
    """Fit on the backtest snapshot (T - 2h), evaluate on the training snapshot (T - h), with baselines.

    Labels tables have customer_id, lapsed and future_revenue (window [d, d + h) of their snapshot);
    evaluation uses the customers of ``training_features`` that have labels. With ``transactions`` the
    BTYD columns and ``revenue_last_horizon`` are (re)computed at each snapshot date (``as_of_dates`` =
    (backtest, training) or the tables' as_of_date); without it the feature tables must carry them.

    Returns tidy rows {"task", "model", "metric", "value"}: task "churn" for churn_model, recency_days,
    rfm_score (negated), bgnbd_1_minus_p_alive and bgnbd_expected_purchases (negated), evaluated with
    :func:`evaluate_churn`; task "value" for value_model, btyd_expected_revenue and past_horizon_revenue
    with :func:`evaluate_value`; plus rows with metric "method" (value = the path each model used).
    ``step(note)``, when given, is called as each part ends (progress reporting), `note` naming the next.
    ``models``, when given, receives the fitted models under "churn" and "value". The models score the
    evaluation snapshot in batches of :data:`SCORE_BATCH_ROWS` rows; with more than `max_eval_customers`
    rows, a seeded sample of that many (the models and every baseline are evaluated on the same rows).
    """
    if max_eval_customers is not None and max_eval_customers < 1:
        raise ValueError(
            f"the backtest needs at least one customer to evaluate on, not {max_eval_customers} "
            "(var backtest_customers: a positive number, or null for every customer)"
        )
    step = step or (lambda note: None)
    ccfg = churn_config or ChurnConfig()
    vcfg = value_config or ValueConfig()
    bcfg = btyd_config or BTYDConfig(horizon_days=ccfg.horizon_days)
    if transactions is not None:
        dates = as_of_dates or (_snapshot_date(backtest_features), _snapshot_date(training_features))
        backtest_features, _ = add_history_features(backtest_features, transactions, dates[0], bcfg)
        training_features, _ = add_history_features(training_features, transactions, dates[1], bcfg)

    fit_lapsed, fit_revenue = _join_labels(backtest_features, backtest_labels)
    step("next: the backtest's churn model")
    churn = ChurnModel(ccfg).fit(backtest_features, fit_lapsed, catalog)
    step("next: the backtest's value model")
    value = ValueModel(vcfg).fit(backtest_features, fit_revenue, catalog)
    step("next: the backtest's evaluation against the baselines")
    if models is not None:
        models.update(churn=churn, value=value)

    if max_eval_customers is not None and training_features.num_rows > max_eval_customers:
        rng = np.random.default_rng([ccfg.random_state, 2])
        keep = np.sort(rng.choice(training_features.num_rows, int(max_eval_customers), replace=False))
        training_features = training_features.take(pa.array(keep))
    eval_lapsed, eval_revenue = _join_labels(training_features, training_labels)
    rows_churn = np.isfinite(eval_lapsed)
    rows_value = np.isfinite(eval_revenue)
    n = training_features.num_rows
    churn_scores = {
        "churn_model": in_batches(churn.churn_risk, training_features),
        "recency_days": _fill(_column(training_features, "recency_days"), n),
        "rfm_score": None if rfm_score(training_features) is None else -rfm_score(training_features),
        "bgnbd_1_minus_p_alive": _fill(1.0 - _column(training_features, "p_alive"), n)
        if "p_alive" in training_features.column_names
        else None,
        "bgnbd_expected_purchases": _fill(-_column(training_features, "expected_purchases"), n)
        if "expected_purchases" in training_features.column_names
        else None,
    }
    value_scores = {
        "value_model": in_batches(value.predict, training_features),
        "btyd_expected_revenue": _fill(_column(training_features, "expected_revenue"), n)
        if "expected_revenue" in training_features.column_names
        else None,
        "past_horizon_revenue": _fill(_column(training_features, PAST_REVENUE_COLUMN), n)
        if PAST_REVENUE_COLUMN in training_features.column_names
        else None,
    }
    out: list[dict[str, Any]] = [
        {"task": "churn", "model": "churn_model", "metric": "method", "value": churn.method_},
        {"task": "value", "model": "value_model", "metric": "method", "value": value.method_},
    ]
    for name, score in churn_scores.items():
        if score is None:
            continue
        for metric, val in evaluate_churn(eval_lapsed[rows_churn], score[rows_churn]).items():
            out.append({"task": "churn", "model": name, "metric": metric, "value": val})
    for name, score in value_scores.items():
        if score is None:
            continue
        for metric, val in evaluate_value(eval_revenue[rows_value], score[rows_value]).items():
            out.append({"task": "value", "model": name, "metric": metric, "value": val})
    return out

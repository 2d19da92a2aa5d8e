"""Transaction fraud scoring: an autoencoder anomaly score, plain-words rules and, where labels exist, a
supervised model, blended into one 0-1 fraud score with a flagging threshold and the reasons behind it.

Input is one row per transaction with point-in-time risk features (the dbt model `int_transactions_risk`);
any risk column may be null or absent (int_transactions_risk computes every risk feature in SQL, from a
transactions-only file too; a column absent here is null and its rules stay silent). Labels (`fraud_labels`:
transaction_id, is_fraud, labeled_at) are optional and may cover only part of the transactions.

The pieces:

- anomaly: an adversarially trained autoencoder (`customer_ml.nn.autoencoder`) on the catalog-preprocessed
  risk features; `anomaly_score` is the percentile of a transaction's reconstruction error among the
  training transactions (0-1).
- rules (graded 0-1, 0.5 at the threshold rising to 1 at twice it): velocity (customer or device
  transactions in the last hour / day), shared device (`device_customers`), a new device with a foreign IP
  country, earlier chargebacks, an amount far above the customer's history (`amount_zscore`).
- supervised (with enough confirmed fraud): labels are a biased sample (reviewed or reported
  transactions, far richer in fraud than the population), and an unlabelled transaction is unknown, not
  legitimate. The transactions "matured" for labelling (dated up to the latest labelled one) are split by
  time; the latest `holdout_fraction` are held out. A HistGradientBoostingClassifier learns confirmed fraud
  against every other matured transaction (labelled legitimate or unlabelled: every confirmed fraud, at
  most `legitimate_sample_size` labelled-legitimate and `train_sample_size` unlabelled ones, samples
  weighted up), i.e. P(confirmed | x), which ranks like P(fraud | x) when confirmation does not depend on x
  among fraud.
- blend: with labels, a logistic regression stacked on [anomaly strength, rule strengths, supervised logit]
  fitted on out-of-fold supervised scores of the training part, then calibrated isotonically on those
  out-of-fold and the held-out scores. Without labels, a noisy-or with fixed weights:
  ``1 - (1 - anomaly_weight * percentile ** anomaly_power) * prod_r (1 - rule_weight_r * strength_r)``.
- population calibration: the label frequency c (share of fraud that gets confirmed; Elkan and Noto,
  2008) is read where the model is surest, among the matured rows scored above the better half of the
  confirmed fraud: confirmed fraud over confirmed fraud plus unlabelled rows there. The fraud score is
  min(1, P(confirmed | x) / c), an estimate of P(fraud | x) on the whole population.
- flagging: with labels, the threshold with the best expected F1 on the whole population (the scores taken
  as fraud probabilities: expected precision = mean score of the flagged rows, expected recall = their
  score sum over the total), or the one meeting an alert budget (`alert_share`, `alerts_per_day`) or a
  `target_precision`; without usable labels, the score quantile that flags `alert_rate` (or the budget).
  The expected precision, recall, F1 and fraud rate at the threshold, per transaction and per customer,
  with bootstrap intervals (resampling the rows behind c and the population; the fitted models are held
  fixed), are the `population_*` metrics.
- bounded fit: "the population" the fit reads (threshold, flag rate, expected precision and recall, the
  held-out unlabelled rows behind c, weighted up) is every transaction of a seeded sample of at most
  `population_sample_customers` customers, and only the sampled rows are prepared and scored, so the fit
  costs the same at any size beyond the caps; `score` applies the fitted models to everyone.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from customer_ml.features.preprocessing import MISSING_SUFFIX, FeaturePreprocessor, booster_output, tree_input
from customer_ml.fraud.config import RULES, FraudConfig
from customer_ml.fraud.evaluation import evaluation_rows
from customer_ml.fraud.flagging import (
    Calibration,
    best_f1_threshold,
    choose_threshold,
    label_frequency,
    population_metrics,
)
from customer_ml.fraud.inputs import (
    RiskRows,
    clean_labels,
    conform,
    customer_codes,
    float_time,
    join_labels,
    pick_catalog,
)
from customer_ml.fraud.reasons import customer_rollup, customer_rollup_relation, write_reasons
from customer_ml.fraud.rules import rule_strengths
from customer_ml.fraud.signals import Signals, logit, stack_inputs
from customer_ml.nn.autoencoder import AdversarialAutoencoder, AutoencoderNet
from customer_ml.nn.device import cpu_threads, resolve_device
from customer_ml.warehouse.progress import Progress, Say

__all__ = ["FraudScorer"]

RECORD_VERSION = 1
SCORE_BATCH_ROWS = 250_000
"""Transactions scored at a time (bounds the model matrix and the reasons in memory)."""


def _seeded_sample(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Every row index below n, or a sorted seeded sample of `cap` of them when n is larger."""
    return np.sort(rng.choice(n, cap, replace=False)) if n > cap else np.arange(n)


def _weighted_sample(rows: np.ndarray, cap: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(rows, or a sorted seeded sample of `cap` of them; the weight that makes it stand for them all)."""
    if len(rows) <= cap:
        return rows, 1.0
    return np.sort(rng.choice(rows, cap, replace=False)), len(rows) / cap


@dataclass
class _LabelSplit:
    """The labels joined to the fitted transactions and split by time: `y` (is_fraud, False where
    unlabelled), `labelled` (mask), `train` and `holdout` (row indices of the matured transactions)."""

    y: np.ndarray
    labelled: np.ndarray
    train: np.ndarray
    holdout: np.ndarray

    @property
    def confirmed(self) -> np.ndarray:
        return self.y & self.labelled

    @property
    def holdout_labelled(self) -> np.ndarray:
        return self.holdout[self.labelled[self.holdout]]


class FraudScorer:
    """Scores transactions for fraud (anomaly + rules + supervised model where labels exist).

    `fit(risk, catalog, labels)` learns everything; `score(risk)` gives one row per transaction;
    `customer_scores` rolls them up per customer; `evaluate` compares the blended score with an
    IsolationForest baseline on held-out labelled transactions; `to_record`/`from_record` store and
    restore a fitted scorer. The pieces live beside it: `config`, `inputs` (conforming the risk table and
    the labels), `rules`, `signals`, `flagging` (calibration, threshold, population metrics), `reasons`
    and `evaluation`.
    """

    def __init__(self, config: FraudConfig | None = None) -> None:
        self.config = config

    @property
    def _cfg(self) -> FraudConfig:
        return self.config or FraudConfig()

    def _check_fitted(self) -> None:
        if not hasattr(self, "preprocessor_"):
            raise NotFittedError("FraudScorer is not fitted yet; call fit() or from_record() first")

    # -- fitting ---------------------------------------------------------------------------------------
    def fit(
        self,
        risk: pa.Table | RiskRows,
        catalog: Any = None,
        labels: pa.Table | None = None,
        say: Say | None = None,
    ) -> FraudScorer:
        """Learn the anomaly model, the IsolationForest baseline and, with labels of both classes, the
        supervised model and the stacked blend; choose the flagging threshold. `risk`: the risk table, or
        a RiskRows that fetches only the rows the fit samples (the same fit either way). `say` receives
        progress lines (step done, elapsed, estimate)."""
        with cpu_threads(max(1, self._cfg.n_threads)):
            return self._fit(risk, catalog, labels, Progress(say, "training", 6, "steps", every_s=0))

    def _fit(
        self, risk: pa.Table | RiskRows, catalog: Any, labels: pa.Table | None, progress: Progress
    ) -> FraudScorer:
        cfg = self._cfg
        progress.update(0, f"{risk.num_rows:,} transactions")
        if risk.num_rows == 0:
            raise ValueError("cannot fit the fraud scorer on an empty table")
        rng = np.random.default_rng(cfg.seed)
        source = RiskRows.of_table(risk) if isinstance(risk, pa.Table) else risk
        # Every column for every row only when the input is a table in memory anyway; the key columns
        # otherwise, and the sampled rows fetched.
        table = source.keys
        n = table.num_rows

        def rows_at(idx: np.ndarray) -> pa.Table:
            return conform(source.fetch(idx))

        columns = conform(source.fetch(np.zeros(0, dtype=np.int64))).column_names
        # The preprocessing's medians, quartiles and categories from at most preprocessing_sample_size
        # rows (their own seeded sample, so the samples below are drawn as before).
        stats_rows = _seeded_sample(n, cfg.preprocessing_sample_size, np.random.default_rng([cfg.seed, 1]))
        stats = rows_at(stats_rows)
        self.preprocessor_ = FeaturePreprocessor().fit(stats, pick_catalog(catalog, columns))
        del stats
        self.feature_names_ = list(self.preprocessor_.feature_names_out_)
        # Every row set the fit reads is bounded (seeded samples, drawn in this order): the anomaly models'
        # sample, the supervised training set, the population sample and its held-out rows. Only those
        # rows are prepared and scored; with fewer transactions than the caps that is every row.
        anomaly_rows = _seeded_sample(n, cfg.anomaly_sample_size, rng)
        self.supervised_: HistGradientBoostingClassifier | None = None
        self.stacker_: LogisticRegression | None = None
        self.label_status_ = "no labels"
        self.metrics_: list[dict[str, Any]] = []
        self.population_: dict[str, float] = {}
        self.calibration_ = Calibration()
        # Labels: confirmed fraud against everything else that had time to be labelled, split by time.
        split = self._split_labels(table, labels)
        training = self._training_set(split, rng)
        population, holdout, holdout_weight = self._population(table, split, rng)
        parts = [anomaly_rows, population, holdout, split.holdout_labelled]
        rows = np.unique(np.concatenate(parts + ([training[0]] if training is not None else [])))
        whole = len(rows) == n
        sub = rows_at(rows)

        def at(idx: np.ndarray) -> np.ndarray:
            return idx if whole else np.searchsorted(rows, idx)

        X = self.preprocessor_.transform(sub)
        X_fit = X if len(anomaly_rows) == len(rows) else X[at(anomaly_rows)]
        progress.step(
            f"features of {len(rows):,} transactions prepared; next: the autoencoder on {len(X_fit):,}"
        )
        self._fit_anomaly(X_fit)
        progress.step("autoencoder and IsolationForest fitted; next: scoring the sampled transactions")
        anomaly = self._anomaly(X)
        strengths, _ = rule_strengths(sub, cfg, with_texts=False)
        # The IsolationForest baseline is only compared against: its alert threshold comes from the rows
        # it was fitted on (every row up to anomaly_sample_size), and it scores the held-out rows below.
        self.baseline_alert_threshold_ = float(np.quantile(self._baseline(X_fit), 1 - cfg.alert_rate))
        progress.step("anomaly, rule and baseline scores; next: the supervised model")

        honest = None
        if training is not None:
            fit_idx, weight = training
            oof_score = self._fit_supervised(
                X, anomaly, strengths, at(fit_idx), split.confirmed[fit_idx], weight
            )
            self.label_status_ = "supervised"
            known = split.confirmed[fit_idx] | (split.labelled[fit_idx] & ~split.y[fit_idx])
            honest = (fit_idx, oof_score, weight, known)
        progress.step(f"supervised model: {self.label_status_}; next: calibration and threshold")
        supervised = self._supervised(X, anomaly)
        raw_score, _ = self._blend(Signals(anomaly, strengths, supervised))
        if honest is not None and len(holdout):
            self._fit_calibration(raw_score[at(holdout)], holdout, holdout_weight, split, honest)
        score = self._calibrate(raw_score)
        pop = at(population)
        self._fit_thresholds(float_time(table)[population], X, at, score[pop], supervised[pop], split, n)
        if len(split.holdout_labelled) and self._usable(split.y[split.holdout_labelled]):
            held = at(split.holdout_labelled)
            self.metrics_ = self._evaluation_rows(
                split.y[split.holdout_labelled],
                score[held],
                self._baseline(X[held]),
                anomaly[held],
                supervised[held],
            )
        progress.step("calibrated, threshold chosen; next: expected precision and recall (bootstrap)")
        if self.stacker_ is not None:
            people = table if len(population) == n else table.take(pa.array(population))
            self.population_ = population_metrics(
                people, raw_score[pop], score[pop], self.threshold_, self.calibration_, cfg, rng, n
            )
            self.metrics_ += [
                {"task": "fraud", "model": "blended", "metric": f"population_{k}", "value": float(v)}
                for k, v in self.population_.items()
            ]
        self.flag_rate_ = float(np.mean(score[pop] >= self.threshold_))
        progress.update(progress.total, f"done; {self.flag_rate_:.2%} of transactions flagged")
        self.n_fit_transactions_ = int(n)
        self.calibration_.honest = None
        return self

    def _fit_anomaly(self, X_fit: np.ndarray) -> None:
        """The autoencoder, its error quantiles and the IsolationForest baseline, on the model matrix of a
        seeded sample of at most `anomaly_sample_size` transactions."""
        cfg = self._cfg
        self.feature_reference_ = self._typical_row(X_fit)
        self.autoencoder_: AdversarialAutoencoder | None = None
        self.isolation_forest_: IsolationForest | None = None
        if X_fit.shape[1] > 0:
            self.autoencoder_ = AdversarialAutoencoder(cfg.autoencoder, None, cfg.seed, cfg.device).fit(X_fit)
            errors = self.autoencoder_.reconstruction_error(X_fit).astype(np.float64)
            self.error_quantiles_ = np.quantile(errors, np.linspace(0.0, 1.0, 2001))
            self.isolation_forest_ = IsolationForest(
                n_estimators=cfg.isolation_forest_estimators, random_state=cfg.seed
            ).fit(X_fit)
        else:
            self.error_quantiles_ = np.zeros(2001)

    def _split_labels(self, table: pa.Table, labels: pa.Table | None) -> _LabelSplit:
        """Join the labels and split the matured transactions (dated up to the latest labelled one; later
        ones had no time to be labelled) by time: the latest `holdout_fraction` are held out."""
        n = table.num_rows
        y_all, labelled = join_labels(table, clean_labels(labels))
        is_labelled = np.zeros(n, dtype=bool)
        is_labelled[labelled] = True
        train_idx = holdout_idx = np.zeros(0, dtype=np.int64)
        self.train_transaction_ids_: list[str] = []
        self.holdout_transaction_ids_: list[str] = []
        if len(labelled):
            ts_all = float_time(table)
            latest = np.nanmax(ts_all[labelled]) if np.isfinite(ts_all[labelled]).any() else np.inf
            matured = np.flatnonzero(np.nan_to_num(ts_all, nan=np.inf) <= latest)
            ts = ts_all[matured]
            order = np.argsort(ts, kind="stable")
            matured, ts = matured[order], ts[order]
            cut = ts[min(len(ts) - 1, int(math.floor(len(ts) * (1 - self._cfg.holdout_fraction))))]
            train_idx, holdout_idx = matured[ts < cut], matured[ts >= cut]
            ids = table.column("transaction_id")
            self.train_transaction_ids_ = [
                str(v) for v in ids.take(train_idx[is_labelled[train_idx]]).to_pylist()
            ]
            self.holdout_transaction_ids_ = [
                str(v) for v in ids.take(holdout_idx[is_labelled[holdout_idx]]).to_pylist()
            ]
        return _LabelSplit(y_all, is_labelled, train_idx, holdout_idx)

    def _training_set(
        self, split: _LabelSplit, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, weights) of the supervised training set when the training part has enough labels of
        both classes (else None, with the reason in `label_status_`)."""
        if not split.labelled.any():
            return None
        confirmed = split.confirmed
        counts = (int(confirmed[split.train].sum()), int((~confirmed[split.train]).sum()))
        if min(counts) < self._cfg.min_labels_per_class:
            self.label_status_ = (
                f"too few labels of a class in training (confirmed fraud {counts[0]}, other {counts[1]})"
            )
            return None
        return self._training_rows(split.train, split.labelled, split.confirmed, rng)

    def _population(
        self, table: pa.Table, split: _LabelSplit, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(population rows, held-out rows behind the calibration, their weights): every row, or every
        transaction of a seeded sample of `population_sample_customers` customers; the held-out rows are
        the labelled ones and the sampled unlabelled ones, weighted up by the inverse sampling share."""
        cap = self._cfg.population_sample_customers
        codes = customer_codes(table)
        n_customers = int(codes.max()) + 1 if len(codes) else 0
        if n_customers <= cap:
            return np.arange(table.num_rows), split.holdout, np.ones(len(split.holdout))
        chosen = np.zeros(n_customers, dtype=bool)
        chosen[rng.choice(n_customers, cap, replace=False)] = True
        in_sample = chosen[codes]
        holdout = split.holdout[split.labelled[split.holdout] | in_sample[split.holdout]]
        weight = np.where(split.labelled[holdout], 1.0, n_customers / cap)
        return np.flatnonzero(in_sample), holdout, weight

    def _fit_calibration(
        self,
        holdout_score: np.ndarray,
        holdout: np.ndarray,
        holdout_weight: np.ndarray,
        split: _LabelSplit,
        honest: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        """Share of fraud that gets confirmed, from out-of-fold training scores and held-out scores."""
        fit_idx, oof_score, weight, known = honest
        rows = np.concatenate([fit_idx, holdout])
        g = np.concatenate([oof_score, holdout_score])
        w = np.concatenate([weight, holdout_weight])
        is_known = np.concatenate([known, split.labelled[holdout]])
        confirmed = split.confirmed[rows]
        # The stacker's sigmoid misreads the steep top of the score: calibrate it isotonically on the
        # same honest scores (weighted like the rows they stand for) before dividing by the frequency.
        isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            g, confirmed.astype(float), sample_weight=w
        )
        frequency = label_frequency(g, w, confirmed, is_known)
        self.calibration_ = Calibration(isotonic, frequency, (g, w, confirmed, is_known))

    def _usable(self, y: np.ndarray) -> bool:
        return min(int(y.sum()), int((~y).sum())) >= self._cfg.min_labels_per_class

    def _fit_thresholds(
        self,
        ts: np.ndarray,
        X: np.ndarray,
        at: Callable[[np.ndarray], np.ndarray],
        score: np.ndarray,
        supervised: np.ndarray,
        split: _LabelSplit,
        n_population: int,
    ) -> None:
        """The flagging threshold and the alert-rate thresholds of the blend, the supervised model and the
        IsolationForest baseline (its best-F1 threshold on the held-out labels when they are usable).
        `ts`, `score` and `supervised`: of the population rows (standing for `n_population` transactions);
        `at`: table rows to rows of `X`."""
        cfg = self._cfg
        self.alert_threshold_ = float(np.quantile(score, 1 - cfg.alert_rate))
        self.supervised_alert_threshold_ = (
            float(np.quantile(supervised, 1 - cfg.alert_rate)) if self.supervised_ is not None else 1.0
        )
        self.threshold_ = self.alert_threshold_
        self.threshold_method_ = "alert_rate"
        self.baseline_threshold_ = self.baseline_alert_threshold_
        rows = split.holdout_labelled
        if len(rows) and self._usable(split.y[rows]):
            self.baseline_threshold_, _ = best_f1_threshold(split.y[rows], self._baseline(X[at(rows)]))
        if self.stacker_ is not None or cfg.alert_share is not None or cfg.alerts_per_day is not None:
            self.threshold_, self.threshold_method_ = choose_threshold(
                score, ts, cfg, self.stacker_ is not None, self.alert_threshold_, n_population
            )

    def _training_rows(
        self, train_idx: np.ndarray, is_labelled: np.ndarray, confirmed: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, weights) of the supervised training set: every confirmed fraud (a seeded sample of
        `fraud_sample_size` beyond that many), a seeded sample of at most `legitimate_sample_size`
        labelled-legitimate rows and one of at most `train_sample_size` unlabelled ones, each sample
        weighted up to stand for all the rows of its kind."""
        cfg = self._cfg
        lab = train_idx[is_labelled[train_idx]]
        unl, weight_unl = _weighted_sample(train_idx[~is_labelled[train_idx]], cfg.train_sample_size, rng)
        legit, weight_legit = _weighted_sample(lab[~confirmed[lab]], cfg.legitimate_sample_size, rng)
        # Drawn last: below the cap no draw is made, and the other samples are those of before.
        fraud, weight_fraud = _weighted_sample(lab[confirmed[lab]], cfg.fraud_sample_size, rng)
        rows = np.concatenate([fraud, legit, unl])
        weight = np.concatenate(
            [
                np.full(len(fraud), weight_fraud),
                np.full(len(legit), weight_legit),
                np.full(len(unl), weight_unl),
            ]
        )
        order = np.argsort(rows, kind="stable")
        return rows[order], weight[order]

    def _calibrate(self, raw_score: np.ndarray) -> np.ndarray:
        """The fraud score: the population fraud probability with a supervised blend, else the blend."""
        return raw_score if self.stacker_ is None else self.calibration_.fraud_probability(raw_score)

    def _supervised_inputs(self, X: np.ndarray, anomaly: np.ndarray) -> np.ndarray:
        """The supervised booster's matrix: the features and the anomaly percentile, column-major
        (:func:`tree_input`)."""
        return tree_input(X, anomaly)

    def _new_supervised(self) -> HistGradientBoostingClassifier:
        cfg = self._cfg
        return HistGradientBoostingClassifier(
            max_iter=cfg.supervised_max_iter,
            learning_rate=cfg.supervised_learning_rate,
            early_stopping=False,
            random_state=cfg.seed,
        )

    def _fit_supervised(
        self,
        X: np.ndarray,
        anomaly: np.ndarray,
        strengths: np.ndarray,
        idx: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray,
    ) -> np.ndarray:
        """Supervised model on the training rows (confirmed fraud against the rest, weighted); stacker on
        its out-of-fold scores. Returns the stacked score of each training row from out-of-fold inputs."""
        cfg = self._cfg
        Z = self._supervised_inputs(X[idx], anomaly[idx])
        oof = np.zeros(len(idx))
        folds = max(2, min(cfg.n_stack_folds, int(y.sum()), int((~y).sum())))
        for fit_rows, out_rows in StratifiedKFold(folds, shuffle=True, random_state=cfg.seed).split(Z, y):
            model = self._new_supervised().fit(Z[fit_rows], y[fit_rows], sample_weight=weight[fit_rows])
            oof[out_rows] = model.predict_proba(Z[out_rows])[:, 1]
        self.supervised_ = self._new_supervised().fit(Z, y, sample_weight=weight)
        S = stack_inputs(anomaly[idx], strengths[idx], oof)
        self.stacker_ = LogisticRegression(C=1.0, max_iter=1000).fit(S, y, sample_weight=weight)
        self.stack_reference_ = np.average(S, axis=0, weights=weight)
        return self.stacker_.predict_proba(S)[:, 1]

    # -- signals ---------------------------------------------------------------------------------------
    def _anomaly(self, X: np.ndarray) -> np.ndarray:
        """Percentile (0-1) of the reconstruction error among the training transactions."""
        if self.autoencoder_ is None or X.shape[0] == 0:
            return np.full(X.shape[0], 0.5)
        err = self.autoencoder_.reconstruction_error(X).astype(np.float64)
        grid = np.linspace(0.0, 1.0, len(self.error_quantiles_))
        return np.interp(err, self.error_quantiles_, grid)

    def _baseline(self, X: np.ndarray) -> np.ndarray:
        """IsolationForest anomaly score (higher is more anomalous)."""
        if self.isolation_forest_ is None or X.shape[0] == 0:
            return np.zeros(X.shape[0])
        return -self.isolation_forest_.score_samples(X)

    def _supervised(self, X: np.ndarray, anomaly: np.ndarray) -> np.ndarray:
        """Supervised fraud probability; NaN without a supervised model."""
        if self.supervised_ is None:
            return np.full(X.shape[0], np.nan)
        return booster_output(self.supervised_, self._supervised_inputs(X, anomaly))[:, 1]

    def _blend(self, signals: Signals) -> tuple[np.ndarray, np.ndarray]:
        """(fraud score 0-1, contributions n x (1 + len(RULES) + 1): anomaly, rules, supervised)."""
        cfg = self._cfg
        anomaly, strengths, supervised = signals.anomaly, signals.rules, signals.supervised
        n = len(anomaly)
        if self.stacker_ is not None:
            S = stack_inputs(anomaly, strengths, supervised)
            score = self.stacker_.predict_proba(S)[:, 1]
            contrib = self.stacker_.coef_[0] * (S - self.stack_reference_)
            return score, contrib
        parts = np.column_stack(
            [cfg.anomaly_weight * anomaly**cfg.anomaly_power, strengths * np.asarray(cfg.rule_weights)]
        )
        score = 1.0 - np.prod(1.0 - np.clip(parts, 0.0, 1.0), axis=1)
        return score, np.column_stack([parts, np.zeros(n)])

    def _typical_row(self, X: np.ndarray) -> np.ndarray:
        """The supervised inputs of a typical transaction: each numeric feature at its median, each
        categorical one at its most common category (the anomaly input last, at its median 0.5)."""
        ref = np.median(X, axis=0) if len(X) else np.zeros(X.shape[1])
        for _, cols in self._feature_groups():
            if "=" in self.feature_names_[cols[0]]:
                ref[cols] = 0.0
                ref[cols[int(np.argmax(X[:, cols].mean(axis=0)))]] = 1.0
        return np.append(ref, 0.5).astype(np.float64)

    def _feature_groups(self) -> list[tuple[str, np.ndarray]]:
        """(risk column, indices of its model-matrix columns) for each input feature."""
        groups: dict[str, list[int]] = {}
        for j, name in enumerate(self.feature_names_):
            base = name.split("=", 1)[0]
            base = base[: -len(MISSING_SUFFIX)] if base.endswith(MISSING_SUFFIX) else base
            groups.setdefault(base, []).append(j)
        return [(k, np.asarray(v)) for k, v in groups.items()]

    def _feature_effects(
        self, X: np.ndarray, anomaly: np.ndarray, supervised: np.ndarray, rows: np.ndarray
    ) -> tuple[list[str], np.ndarray]:
        """(features, effects rows x features): how much each input feature raised the supervised model's
        log-odds for each of `rows`, measured by setting it to its typical value (the training median,
        or the most common category) and scoring again. `supervised`: the supervised score of every row
        of X (`_supervised`), the baseline each effect is measured from."""
        groups = self._feature_groups()
        reference = getattr(self, "feature_reference_", None)
        if self.supervised_ is None or not len(rows) or reference is None or not groups:
            return [g for g, _ in groups], np.zeros((len(rows), len(groups)))
        Z = self._supervised_inputs(X[rows], anomaly[rows])
        base = logit(supervised[rows])
        effects = np.zeros((len(rows), len(groups)))
        # Every feature's changed rows go through the booster in one call: its predictions are row by
        # row, so the numbers are those of one call per feature (the same bit for bit), without a call's
        # fixed cost paid once per feature: on four batches of 250,000 transactions of the 1,000,000-
        # customer build, 1.29 CPU s against 1.73 (docs/measurements.md, "tenth session").
        changed_rows: list[np.ndarray] = []
        changed_inputs: list[np.ndarray] = []
        for _, cols in groups:
            changed = np.flatnonzero(np.any(Z[:, cols] != reference[cols], axis=1))
            Zk = Z[changed]
            Zk[:, cols] = reference[cols]
            changed_rows.append(changed)
            changed_inputs.append(Zk)
        sizes = [len(changed) for changed in changed_rows]
        if sum(sizes):
            proba = booster_output(self.supervised_, tree_input(np.concatenate(changed_inputs)))[:, 1]
            parts = np.split(proba, np.cumsum(sizes)[:-1])
            for k, (changed, changed_proba) in enumerate(zip(changed_rows, parts, strict=True)):
                effects[changed, k] = base[changed] - logit(changed_proba)
        return [g for g, _ in groups], effects

    # -- applying --------------------------------------------------------------------------------------
    def score(self, risk: pa.Table, say: Say | None = None) -> pa.Table:
        """One row per transaction: transaction_id, customer_id, fraud_score, is_flagged, top_reasons,
        anomaly_score, supervised_score (null without a supervised model) and rule_<name> strengths.
        Scored in batches of SCORE_BATCH_ROWS transactions (every output is a function of its own row);
        `say` receives progress lines."""
        batches = (risk.slice(start, SCORE_BATCH_ROWS) for start in range(0, risk.num_rows, SCORE_BATCH_ROWS))
        parts = list(self.score_batches(batches, risk.num_rows, say, lambda: risk))
        return pa.concat_tables(parts).combine_chunks() if len(parts) > 1 else parts[0]

    def score_batches(
        self,
        batches: Iterable[pa.Table],
        total: int,
        say: Say | None = None,
        empty: Callable[[], pa.Table] | None = None,
    ) -> Iterator[pa.Table]:
        """`score` of each risk table of `batches` (of `total` transactions in all), one at a time, so that
        only a batch and its scores are in memory (the Python model streams them from DuckDB and back).
        Without any batch, the scores of `empty()` (a risk table with no rows), so the schema is known."""
        self._check_fitted()
        progress = Progress(say, "scoring", total, unit="transactions")
        done = 0
        for batch in batches:
            with cpu_threads(max(1, self._cfg.n_threads)):
                scored = self._score(batch)
            done += batch.num_rows
            progress.update(done)
            yield scored
        if not done:
            if empty is None:
                raise ValueError("nothing to score and no empty risk table for the schema")
            with cpu_threads(max(1, self._cfg.n_threads)):
                yield self._score(empty().slice(0, 0))
            progress.update(0)

    @staticmethod
    def score_schema(risk_schema: pa.Schema) -> pa.Schema:
        """The schema of `score`'s output for a risk table of `risk_schema`."""
        fields = [
            risk_schema.field("transaction_id"),
            risk_schema.field("customer_id"),
            pa.field("fraud_score", pa.float64()),
            pa.field("is_flagged", pa.bool_()),
            pa.field("top_reasons", pa.string()),
            pa.field("anomaly_score", pa.float64()),
            pa.field("supervised_score", pa.float64()),
        ]
        return pa.schema(fields + [pa.field(f"rule_{name}", pa.float64()) for name in RULES])

    def _score(self, risk: pa.Table) -> pa.Table:
        cfg = self._cfg
        table = conform(risk)
        # Column-major: the booster reads it so (tree_input), the autoencoder a row-major batch at a time.
        X = self.preprocessor_.transform(table, order="F")
        anomaly = self._anomaly(X)
        strengths, texts = rule_strengths(table, cfg)
        signals = Signals(anomaly, strengths, self._supervised(X, anomaly))
        raw_score, contrib = self._blend(signals)
        score = self._calibrate(raw_score)
        flagged = score >= self.threshold_
        reasons = write_reasons(
            table,
            signals,
            texts,
            contrib,
            flagged,
            cfg,
            None if self.supervised_ is None else self._stacked_supervised_weight(),
            lambda rows: self._feature_effects(X, anomaly, signals.supervised, rows),
        )
        cols: dict[str, Any] = {
            "transaction_id": table.column("transaction_id"),
            "customer_id": table.column("customer_id"),
            "fraud_score": pa.array(score, pa.float64()),
            "is_flagged": pa.array(flagged),
            "top_reasons": pa.array(reasons, pa.string()),
            "anomaly_score": pa.array(anomaly, pa.float64()),
            "supervised_score": pa.array(signals.supervised, pa.float64(), from_pandas=True),
        }
        for j, name in enumerate(RULES):
            cols[f"rule_{name}"] = pa.array(strengths[:, j], pa.float64())
        return pa.table(cols, schema=self.score_schema(risk.schema))

    def _stacked_supervised_weight(self) -> float:
        """The stacker's weight on the supervised log-odds (0 without a stacker)."""
        return float(self.stacker_.coef_[0][-1]) if self.stacker_ is not None else 0.0

    def baseline_score(self, risk: pa.Table) -> np.ndarray:
        """The IsolationForest baseline's anomaly score of each transaction (higher is more anomalous)."""
        self._check_fitted()
        with cpu_threads(max(1, self._cfg.n_threads)):
            return self._baseline(self.preprocessor_.transform(conform(risk)))

    def customer_scores(self, transaction_scores: Any) -> pa.Table:
        """One row per customer: see `reasons.customer_rollup`. `transaction_scores`: an Arrow table of
        `score`'s output, or a DuckDB relation of it (grouped in DuckDB: `reasons.customer_rollup_relation`,
        the same table)."""
        if isinstance(transaction_scores, pa.Table):
            return customer_rollup(transaction_scores, self._cfg.n_reasons)
        return customer_rollup_relation(transaction_scores, self._cfg.n_reasons)

    # -- evaluation ------------------------------------------------------------------------------------
    def _evaluation_rows(
        self,
        y: np.ndarray,
        score: np.ndarray,
        baseline: np.ndarray,
        anomaly: np.ndarray,
        supervised: np.ndarray,
    ) -> list[dict[str, Any]]:
        thresholds = {
            "threshold": self.threshold_,
            "alert_threshold": self.alert_threshold_,
            "baseline_threshold": self.baseline_threshold_,
            "baseline_alert_threshold": self.baseline_alert_threshold_,
            "supervised_alert_threshold": self.supervised_alert_threshold_,
        }
        sup = supervised if self.supervised_ is not None else None
        return evaluation_rows(y, score, baseline, anomaly, sup, thresholds, self._cfg.alert_rate)

    def _evaluate_table(self, table: pa.Table, y_all: np.ndarray, idx: np.ndarray) -> list[dict[str, Any]]:
        table = table.take(pa.array(idx))
        X = self.preprocessor_.transform(table)
        anomaly = self._anomaly(X)
        strengths, _ = rule_strengths(table, self._cfg)
        supervised = self._supervised(X, anomaly)
        raw_score, _ = self._blend(Signals(anomaly, strengths, supervised))
        score = self._calibrate(raw_score)
        return self._evaluation_rows(y_all[idx], score, self._baseline(X), anomaly, supervised)

    def evaluate(self, risk: pa.Table | None = None, labels: pa.Table | None = None) -> pa.Table:
        """Tidy metrics (task, model, metric, value) of the blended score and the IsolationForest baseline
        (plus the autoencoder alone and the supervised model alone): AUC-ROC, PR-AUC, F1 at the flagging
        threshold, precision and recall at the alert-rate threshold. Without arguments: on the held-out
        labelled transactions of `fit`; with `risk` and `labels`: on the labelled rows of `risk`."""
        self._check_fitted()
        schema = pa.schema(
            [("task", pa.string()), ("model", pa.string()), ("metric", pa.string()), ("value", pa.float64())]
        )
        if risk is None and labels is None:
            rows = self.metrics_
        else:
            if risk is None or labels is None:
                raise ValueError("evaluate needs both risk and labels, or neither")
            table = conform(risk)
            y_all, idx = join_labels(table, clean_labels(labels))
            if len(idx) == 0:
                rows = []
            else:
                with cpu_threads(max(1, self._cfg.n_threads)):
                    rows = self._evaluate_table(table, y_all, idx)
        values = [None if (v is None or not np.isfinite(v)) else float(v) for v in (r["value"] for r in rows)]
        return pa.table(
            {
                "task": [r["task"] for r in rows],
                "model": [r["model"] for r in rows],
                "metric": [r["metric"] for r in rows],
                "value": values,
            },
            schema=schema,
        )

    # -- serialisation ---------------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """JSON-serialisable config, thresholds, preprocessing state and metrics, plus a `weights` blob
        (bytes) with the fitted models."""
        self._check_fitted()
        blob = {
            "error_quantiles": self.error_quantiles_,
            "autoencoder": None
            if self.autoencoder_ is None
            else {k: v.detach().cpu().numpy() for k, v in self.autoencoder_.net_.state_dict().items()},
            "n_features_in": len(self.feature_names_),
            "isolation_forest": self.isolation_forest_,
            "supervised": self.supervised_,
            "stacker": self.stacker_,
            "calibrator": self.calibration_.isotonic,
            "feature_reference": getattr(self, "feature_reference_", None),
            "stack_reference": getattr(self, "stack_reference_", None),
        }
        return {
            "version": RECORD_VERSION,
            "config": self._cfg.to_dict(),
            "preprocessing": self.preprocessor_.to_state(),
            "feature_names": list(self.feature_names_),
            "thresholds": {
                "threshold": self.threshold_,
                "method": self.threshold_method_,
                "alert_threshold": self.alert_threshold_,
                "baseline_threshold": self.baseline_threshold_,
                "baseline_alert_threshold": self.baseline_alert_threshold_,
                "supervised_alert_threshold": self.supervised_alert_threshold_,
                "flag_rate": self.flag_rate_,
                "label_frequency": self.calibration_.label_frequency,
            },
            "population": {k: None if not np.isfinite(v) else float(v) for k, v in self.population_.items()},
            "label_status": self.label_status_,
            "n_fit_transactions": self.n_fit_transactions_,
            "metrics": [
                {**r, "value": None if not np.isfinite(r["value"]) else float(r["value"])}
                for r in self.metrics_
            ],
            "weights": pickle.dumps(blob, protocol=pickle.HIGHEST_PROTOCOL),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], device: str | None = None) -> FraudScorer:
        """A fitted scorer from `to_record` output; scores identically without refitting. The `weights`
        blob is unpickled: load records from trusted storage only."""
        if record.get("version") != RECORD_VERSION:
            raise ValueError(f"unsupported fraud record version {record.get('version')!r}")
        cfg = FraudConfig.from_dict(record["config"])
        obj = cls(cfg)
        obj.preprocessor_ = FeaturePreprocessor.from_state(record["preprocessing"])
        obj.feature_names_ = list(record["feature_names"])
        if obj.feature_names_ != obj.preprocessor_.feature_names_out_:
            raise ValueError("record is inconsistent: feature names differ from the preprocessing state")
        th = record["thresholds"]
        obj.threshold_ = float(th["threshold"])
        obj.threshold_method_ = str(th["method"])
        obj.alert_threshold_ = float(th["alert_threshold"])
        obj.baseline_threshold_ = float(th["baseline_threshold"])
        obj.baseline_alert_threshold_ = float(th["baseline_alert_threshold"])
        obj.supervised_alert_threshold_ = float(th["supervised_alert_threshold"])
        obj.flag_rate_ = float(th["flag_rate"])
        obj.population_ = {
            k: float("nan") if v is None else float(v) for k, v in (record.get("population") or {}).items()
        }
        obj.label_status_ = str(record["label_status"])
        obj.n_fit_transactions_ = int(record["n_fit_transactions"])
        obj.metrics_ = [
            {**r, "value": float("nan") if r["value"] is None else float(r["value"])}
            for r in record["metrics"]
        ]
        obj.train_transaction_ids_, obj.holdout_transaction_ids_ = [], []
        blob = pickle.loads(record["weights"])  # noqa: S301 - records are written by to_record
        obj.error_quantiles_ = np.asarray(blob["error_quantiles"])
        obj.autoencoder_ = None
        if blob["autoencoder"] is not None:
            ae = AdversarialAutoencoder(cfg.autoencoder, None, cfg.seed, device or cfg.device)
            ae.device_ = resolve_device(device or cfg.device)
            ae.n_features_in_ = int(blob["n_features_in"])
            ae.net_ = AutoencoderNet(
                ae.n_features_in_, tuple(cfg.autoencoder.hidden), cfg.autoencoder.embedding_dim
            )
            ae.net_.load_state_dict(
                {k: torch.from_numpy(np.array(v)) for k, v in blob["autoencoder"].items()}
            )
            ae.net_.to(ae.device_).eval()
            obj.autoencoder_ = ae
        obj.isolation_forest_ = blob["isolation_forest"]
        obj.supervised_ = blob["supervised"]
        obj.stacker_ = blob["stacker"]
        obj.calibration_ = Calibration(blob.get("calibrator"), float(th.get("label_frequency", 1.0)))
        if blob.get("feature_reference") is not None:
            obj.feature_reference_ = np.asarray(blob["feature_reference"])
        if blob["stack_reference"] is not None:
            obj.stack_reference_ = np.asarray(blob["stack_reference"])
        return obj

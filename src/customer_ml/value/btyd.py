"""Buy-till-you-die (BTYD) models: BG/NBD for purchase counts and Gamma-Gamma for spend.

References
----------
- Fader, Hardie & Lee (2005a), "'Counting Your Customers' the Easy Way: An Alternative to the
  Pareto/NBD Model", Marketing Science 24(2) -- the BG/NBD model.
- Fader, Hardie & Lee (2005b), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
  Journal of Marketing Research 42(4) -- the Gamma-Gamma spend model.
- Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (technical note).

Conventions (as in the BTYD literature), all in one time unit (days or weeks):

- ``frequency`` (x): number of repeat purchases (purchase periods after the first one);
- ``recency`` (t_x): time of the last purchase, measured from the first purchase (0 when x = 0);
- ``age`` (T): time from the first purchase to the end of the calibration period;
- ``monetary_value``: mean spend per repeat purchase (0 when x = 0).

Predicted lifetime value in this project means *expected revenue over a finite horizon*: expected
number of purchases in the next ``horizon`` periods times expected spend per purchase, undiscounted
(see :func:`expected_revenue`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy import optimize, special
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

__all__ = [
    "BetaGeometricNBD",
    "GammaGamma",
    "RFMSummary",
    "bgnbd_log_likelihood",
    "expected_revenue",
    "gamma_gamma_log_likelihood",
    "rfm_summary",
]

# Log-parameters are optimised inside these bounds; an optimum on a bound means the data do not identify
# the model (a parameter runs off to 0 or infinity), which is reported as a ValueError.
_LOG_BOUND = 20.0
_BOUND_SLACK = 1e-3
# |a - 1| below this makes the BG/NBD expectation formulas 0/0; they are evaluated symmetrically around it.
_A_NEAR_ONE = 1e-5


# ----------------------------------------------------------------------------------------------------------
# Input validation helpers
# ----------------------------------------------------------------------------------------------------------


def _as_float_1d(name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _as_float(name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_rfm(frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> None:
    if np.any(frequency < 0):
        raise ValueError("frequency must be >= 0")
    if np.any(recency < 0):
        raise ValueError("recency must be >= 0")
    if np.any(recency > age):
        raise ValueError("recency must be <= age (the last purchase cannot be after the period end)")
    if np.any((frequency == 0) & (recency != 0)):
        raise ValueError("recency must be 0 for customers with frequency 0")


def _check_positive_params(params: dict[str, float]) -> None:
    for key, value in params.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"parameter {key} must be a positive finite number, got {value!r}")


def _check_fitted(model: BaseEstimator, attributes: tuple[str, ...]) -> None:
    if not all(hasattr(model, attr) for attr in attributes):
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet: "
            "call fit(...) or from_params(...) first."
        )


def _minimise(
    objective,
    x0: np.ndarray,
    max_iter: int,
    names: tuple[str, ...],
    model_name: str,
) -> np.ndarray:
    """Minimise a smooth objective over bounded log-parameters; raise ValueError on failure."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(x0)
    res = optimize.minimize(
        objective,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "ftol": 1e-14, "gtol": 1e-9},
    )
    if not np.all(np.isfinite(res.x)) or not np.isfinite(res.fun):
        raise ValueError(f"{model_name} fit failed: the likelihood became non-finite ({res.message})")
    at_bound = np.abs(res.x) > _LOG_BOUND - _BOUND_SLACK
    if np.any(at_bound):
        bad = ", ".join(n for n, b in zip(names, at_bound, strict=True) if b)
        raise ValueError(
            f"{model_name} fit did not converge to an interior optimum: parameter(s) {bad} ran off to 0 or "
            "infinity. The data do not identify the model (too few customers or too little variation); "
            "use more data or a penalizer > 0."
        )
    if not res.success:
        _, grad = objective(res.x)
        if res.nit >= max_iter or np.max(np.abs(grad)) > 1e-5:
            raise ValueError(
                f"{model_name} fit did not converge after {res.nit} iterations ({res.message}); "
                "increase max_iter or use a penalizer > 0."
            )
    return res.x


# ----------------------------------------------------------------------------------------------------------
# BG/NBD
# ----------------------------------------------------------------------------------------------------------


def _bgnbd_terms(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pieces of the per-customer BG/NBD log-likelihood: ll = A1 + A2 + logaddexp(A3, A4)."""
    repeat = x > 0
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    # A4 only exists for x > 0 (the customer may have dropped out right after the last purchase).
    safe_bx1 = np.where(repeat, b + x - 1.0, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(safe_bx1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1, a2, a3, a4, repeat


def bgnbd_log_likelihood(
    r: float,
    alpha: float,
    a: float,
    b: float,
    frequency: Any,
    recency: Any,
    age: Any,
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood ln L(r, alpha, a, b | x, t_x, T) (FHL 2005a, eq. 6).

    The second term of the likelihood (drop-out right after the last purchase) is present only for
    customers with at least one repeat purchase.
    """
    x = _as_float("frequency", frequency)
    t_x = _as_float("recency", recency)
    T = _as_float("age", age)
    x, t_x, T = np.broadcast_arrays(x, t_x, T)
    _check_rfm(x, t_x, T)
    _check_positive_params({"r": r, "alpha": alpha, "a": a, "b": b})
    a1, a2, a3, a4, _ = _bgnbd_terms(r, alpha, a, b, x, t_x, T)
    return a1 + a2 + np.logaddexp(a3, a4)


def _bgnbd_objective(
    log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, penalizer: float
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood (+ L2 penalty on log-parameters) and its gradient in log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    a1, a2, a3, a4, repeat = _bgnbd_terms(r, alpha, a, b, x, t_x, T)
    lse = np.logaddexp(a3, a4)
    ll = a1 + a2 + lse
    w3 = np.exp(a3 - lse)  # posterior weight of "still alive"
    w4 = np.where(repeat, np.exp(a4 - lse), 0.0)
    safe_bx1 = np.where(repeat, b + x - 1.0, 1.0)

    d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha)
    d_r = d_r - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    psi_ab = special.digamma(a + b)
    psi_abx = special.digamma(a + b + x)
    d_a = psi_ab - psi_abx + w4 / a
    d_b = psi_ab + special.digamma(b + x) - special.digamma(b) - psi_abx - w4 / safe_bx1

    n = x.size
    grad_nat = np.array([d_r.sum(), d_alpha.sum(), d_a.sum(), d_b.sum()]) / n
    grad = -grad_nat * np.array([r, alpha, a, b]) + 2.0 * penalizer * log_params
    value = -ll.sum() / n + penalizer * float(np.sum(log_params**2))
    return float(value), grad


def _hyp2f1_checked(a: Any, b: Any, c: Any, z: Any) -> np.ndarray:
    """scipy's 2F1 restricted to z < 1, with non-finite results reported instead of propagated."""
    z = np.asarray(z, dtype=float)
    if np.any(z >= 1.0):
        raise ValueError(
            "the horizon is too long relative to alpha + age: the 2F1 argument t/(alpha+T+t) rounds to 1"
        )
    out = special.hyp2f1(a, b, c, z)
    if not np.all(np.isfinite(out)):
        raise ValueError(
            "the Gaussian hypergeometric function 2F1 overflowed for these inputs (extreme frequency or "
            "horizon relative to alpha); rescale the time unit or shorten the horizon."
        )
    return out


def _expected_purchases_if_alive(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, T: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T+t] | x, T, alive at T] = (a+b+x-1)/(a-1) * (1 - H).

    H = ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z), z = t/(alpha+T+t) (FHL 2005a, eq. 10).
    H is evaluated after Euler's transformation, H = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose
    first two parameters do not grow with x: scipy's 2F1 is accurate there, while the original form
    (and Pfaff's) overflow or lose all precision for large x and horizons. The removable singularity at
    a = 1 is handled by averaging a = 1 +/- h. The result is checked against the bounds
    1 - (1+u)^-(r+x) <= value <= (r+x) u, u = t/(alpha+T), and a ValueError is raised outside them.
    """
    z = t / (alpha + T + t)
    log_1mz = np.log(alpha + T) - np.log(alpha + T + t)

    def evaluate(a_val: float) -> np.ndarray:
        f = _hyp2f1_checked(a_val + b - 1.0 - r, a_val - 1.0, a_val + b + x - 1.0, z)
        h = np.exp((a_val - 1.0) * log_1mz) * f
        return (a_val + b + x - 1.0) * (1.0 - h) / (a_val - 1.0)

    if abs(a - 1.0) < _A_NEAR_ONE:
        value = 0.5 * (evaluate(1.0 - _A_NEAR_ONE) + evaluate(1.0 + _A_NEAR_ONE))
    else:
        value = evaluate(a)
    # The value is E_p[(1 - (1 + p u)^-(r+x)) / p] over p ~ Beta(a, b+x): between its p = 1 and p -> 0 limits.
    u = t / (alpha + T)
    lower = -np.expm1(-(r + x) * np.log1p(u))
    upper = (r + x) * u
    slack = 1e-6 * upper + 1e-300
    if not np.all(np.isfinite(value)) or np.any(value < lower - slack) or np.any(value > upper + slack):
        raise ValueError(
            "the Gaussian hypergeometric function 2F1 is numerically unreliable for these inputs (extreme "
            "frequency or horizon relative to alpha + age); shorten the horizon or rescale the time unit."
        )
    return np.clip(value, lower, upper)


class _StoredParams:
    """Fitted parameters stored and restored by name: each name of `_PARAM_NAMES` is a fitted attribute
    with a trailing underscore. `_MODEL_NAME` names the model in errors."""

    _PARAM_NAMES: tuple[str, ...] = ()
    _MODEL_NAME = ""

    @property
    def params_(self) -> dict[str, float]:
        """Fitted parameters as a JSON-serialisable dict of floats, keyed by `_PARAM_NAMES`."""
        _check_fitted(self, tuple(f"{k}_" for k in self._PARAM_NAMES))
        return {k: float(getattr(self, f"{k}_")) for k in self._PARAM_NAMES}

    @classmethod
    def from_params(cls, params: dict[str, float], **init_kwargs: Any) -> Any:
        """Build a fitted model from stored parameters (as returned by ``params_``), without refitting."""
        missing = set(cls._PARAM_NAMES) - set(params)
        extra = set(params) - set(cls._PARAM_NAMES)
        if missing or extra:
            raise ValueError(
                f"{cls._MODEL_NAME} params must have exactly the keys {cls._PARAM_NAMES}; "
                f"missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        values = {k: float(params[k]) for k in cls._PARAM_NAMES}
        _check_positive_params(values)
        model = cls(**init_kwargs)
        for k in cls._PARAM_NAMES:
            setattr(model, f"{k}_", values[k])
        return model


class BetaGeometricNBD(_StoredParams, BaseEstimator):
    """BG/NBD model of repeat-purchase counts (Fader, Hardie & Lee 2005a).

    While active, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha) (shape r,
    rate alpha); after each repeat purchase the customer drops out for good with probability
    p ~ Beta(a, b).

    Parameters
    ----------
    penalizer:
        Weight of an L2 penalty on the log-parameters, added to the mean negative log-likelihood. 0 gives
        the maximum-likelihood estimate; a small value (e.g. 1e-3) keeps small or degenerate samples from
        sending a parameter to 0 or infinity.
    max_iter:
        Maximum number of L-BFGS-B iterations.

    Attributes
    ----------
    r_, alpha_, a_, b_:
        Fitted parameters (alpha in the time unit of the data, as a rate).
    log_likelihood_:
        Total log-likelihood of the fitted data at the estimate (without the penalty). Not set by
        :meth:`from_params`.
    """

    _PARAM_NAMES = ("r", "alpha", "a", "b")
    _MODEL_NAME = "BG/NBD"

    def __init__(self, penalizer: float = 0.0, max_iter: int = 1000) -> None:
        self.penalizer = penalizer
        self.max_iter = max_iter

    # -- fitting -------------------------------------------------------------------------------------------

    def fit(self, frequency: Any, recency: Any, age: Any) -> BetaGeometricNBD:
        """Estimate r, alpha, a, b by maximum likelihood from per-customer (x, t_x, T); return self.

        Raises ValueError when the inputs are invalid, when no customer made a repeat purchase (the
        model is then not identified), or when the optimiser does not reach an interior optimum.
        """
        x = _as_float_1d("frequency", frequency)
        t_x = _as_float_1d("recency", recency)
        T = _as_float_1d("age", age)
        if not (x.size == t_x.size == T.size):
            raise ValueError("frequency, recency and age must have the same length")
        if x.size == 0:
            raise ValueError("cannot fit BG/NBD on an empty data set")
        _check_rfm(x, t_x, T)
        if not np.any(T > 0):
            raise ValueError("all customers have age 0: there is no observation period to learn from")
        if self.penalizer < 0:
            raise ValueError("penalizer must be >= 0")
        if self.penalizer == 0 and not np.any(x > 0):
            raise ValueError(
                "no customer has a repeat purchase (all frequency = 0): the BG/NBD parameters are not "
                "identified. Use a longer calibration period or a penalizer > 0."
            )
        # Start at r = 1 and alpha matching the mean purchase rate, so the start does not depend on
        # whether time is in days or weeks.
        alpha0 = max(float(T.sum()) / max(float(x.sum()), 1.0), 1e-3)
        x0 = np.log(np.array([1.0, alpha0, 1.0, 1.0]))
        log_params = _minimise(
            lambda p: _bgnbd_objective(p, x, t_x, T, float(self.penalizer)),
            x0,
            int(self.max_iter),
            self._PARAM_NAMES,
            "BG/NBD",
        )
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(log_params))
        self.log_likelihood_ = float(
            bgnbd_log_likelihood(self.r_, self.alpha_, self.a_, self.b_, x, t_x, T).sum()
        )
        return self

    # -- persistence ---------------------------------------------------------------------------------------

    # -- predictions ---------------------------------------------------------------------------------------

    def _fitted_params(self) -> tuple[float, float, float, float]:
        _check_fitted(self, ("r_", "alpha_", "a_", "b_"))
        return self.r_, self.alpha_, self.a_, self.b_

    def _prepare(self, frequency: Any, recency: Any, age: Any, *extra: Any) -> tuple[np.ndarray, ...]:
        arrays = [_as_float("frequency", frequency), _as_float("recency", recency), _as_float("age", age)]
        arrays += [_as_float("t", e) for e in extra]
        out = np.broadcast_arrays(*arrays)
        _check_rfm(out[0], out[1], out[2])
        return tuple(out)

    def _log_dropout_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) for x > 0, -inf for x = 0."""
        r, alpha, a, b = self._fitted_params()
        repeat = x > 0
        safe_bx1 = np.where(repeat, b + x - 1.0, 1.0)
        value = np.log(a) - np.log(safe_bx1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(repeat, value, -np.inf)

    def probability_alive(self, frequency: Any, recency: Any, age: Any) -> np.ndarray:
        """P(customer still active at the end of the calibration period | x, t_x, T).

        In the BG/NBD model a customer can only drop out right after a repeat purchase, so P(alive) is
        exactly 1 for every customer with frequency 0, however long ago their single purchase was. This is
        why 1 - P(alive) can rank churn badly in a customer base where most one-time buyers never return:
        all of them get churn score 0. For x > 0, P(alive) decreases with the time since the last purchase
        (T - t_x).
        """
        x, t_x, T = self._prepare(frequency, recency, age)
        # 1 / (1 + odds), computed as exp(-log1p(exp(log odds))) without overflow.
        return np.exp(-np.logaddexp(0.0, self._log_dropout_odds(x, t_x, T)))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, age: Any) -> np.ndarray:
        """Expected number of purchases in the next t periods for a customer with history (x, t_x, T).

        FHL (2005a), eq. (10). Inputs broadcast against each other; t >= 0 in the unit of the data.
        """
        r, alpha, a, b = self._fitted_params()
        x, t_x, T, tt = self._prepare(frequency, recency, age, t)
        if np.any(tt < 0):
            raise ValueError("t must be >= 0")
        core = _expected_purchases_if_alive(r, alpha, a, b, x, T, tt)
        out = core * np.exp(-np.logaddexp(0.0, self._log_dropout_odds(x, t_x, T)))
        if not np.all(np.isfinite(out)):
            raise ValueError("expected_purchases produced non-finite values for these inputs")
        return out

    def expected_purchases_unconditional(self, t: Any) -> np.ndarray:
        """E[X(t)]: expected number of repeat purchases in (0, t] for a customer just acquired at time 0.

        FHL (2005a), eq. (9).
        """
        r, alpha, a, b = self._fitted_params()
        tt = _as_float("t", t)
        if np.any(tt < 0):
            raise ValueError("t must be >= 0")
        out = _expected_purchases_if_alive(r, alpha, a, b, np.zeros_like(tt), np.zeros_like(tt), tt)
        if not np.all(np.isfinite(out)):
            raise ValueError("expected_purchases_unconditional produced non-finite values")
        return out


# ----------------------------------------------------------------------------------------------------------
# Gamma-Gamma
# ----------------------------------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(
    p: float, q: float, v: float, frequency: Any, monetary_value: Any
) -> np.ndarray:
    """Per-customer Gamma-Gamma log-density of the observed mean spend m given x > 0 transactions.

    Fader & Hardie (2013), eq. (3): f(m | p, q, v, x) with the individual mean spend nu ~ Gamma(q, v).
    """
    x = _as_float("frequency", frequency)
    m = _as_float("monetary_value", monetary_value)
    x, m = np.broadcast_arrays(x, m)
    if np.any(x <= 0) or np.any(m <= 0):
        raise ValueError("the Gamma-Gamma likelihood needs frequency > 0 and monetary_value > 0")
    _check_positive_params({"p": p, "q": q, "v": v})
    return _gamma_gamma_terms(p, q, v, x, m, np.log(v + m * x))


def _gamma_gamma_terms(
    p: float, q: float, v: float, x: np.ndarray, m: np.ndarray, log_vmx: np.ndarray
) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood, given log(v + m x)."""
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_vmx
    )


def _gamma_gamma_objective(
    log_params: np.ndarray, x: np.ndarray, m: np.ndarray, penalizer: float
) -> tuple[float, np.ndarray]:
    p, q, v = np.exp(log_params)
    px = p * x
    log_vmx = np.log(v + m * x)
    ll = _gamma_gamma_terms(p, q, v, x, m, log_vmx)
    psi_pxq = special.digamma(px + q)
    d_p = x * (psi_pxq - special.digamma(px) + np.log(m) + np.log(x) - log_vmx)
    d_q = psi_pxq - special.digamma(q) + np.log(v) - log_vmx
    d_v = q / v - (px + q) / (v + m * x)
    n = x.size
    grad_nat = np.array([d_p.sum(), d_q.sum(), d_v.sum()]) / n
    grad = -grad_nat * np.array([p, q, v]) + 2.0 * penalizer * log_params
    value = -ll.sum() / n + penalizer * float(np.sum(log_params**2))
    return float(value), grad


class GammaGamma(_StoredParams, BaseEstimator):
    """Gamma-Gamma model of spend per transaction (FHL 2005b; Fader & Hardie 2013).

    Each transaction value of a customer is Gamma(p, nu) (shape p, rate nu); across customers
    nu ~ Gamma(q, v) (shape q, rate v, called gamma in the papers). Spend is assumed independent of the
    purchase process. The population mean spend per transaction is p * v / (q - 1), finite only for q > 1.

    Parameters
    ----------
    penalizer:
        Weight of an L2 penalty on the log-parameters (see :class:`BetaGeometricNBD`).
    max_iter:
        Maximum number of L-BFGS-B iterations.

    Attributes
    ----------
    p_, q_, v_:
        Fitted parameters (v_ is the papers' gamma).
    log_likelihood_:
        Total log-likelihood at the estimate over the customers with frequency > 0.
    """

    _PARAM_NAMES = ("p", "q", "v")
    _MODEL_NAME = "Gamma-Gamma"

    def __init__(self, penalizer: float = 0.0, max_iter: int = 1000) -> None:
        self.penalizer = penalizer
        self.max_iter = max_iter

    def fit(self, frequency: Any, monetary_value: Any) -> GammaGamma:
        """Estimate p, q, v by maximum likelihood; return self.

        Only customers with frequency > 0 enter the likelihood (rows with frequency 0 are ignored); their
        monetary_value must be > 0.
        """
        x = _as_float_1d("frequency", frequency)
        m = _as_float_1d("monetary_value", monetary_value)
        if x.size != m.size:
            raise ValueError("frequency and monetary_value must have the same length")
        if np.any(x < 0):
            raise ValueError("frequency must be >= 0")
        if self.penalizer < 0:
            raise ValueError("penalizer must be >= 0")
        keep = x > 0
        x, m = x[keep], m[keep]
        if x.size < 2:
            raise ValueError("Gamma-Gamma needs at least 2 customers with frequency > 0")
        if np.any(m <= 0):
            raise ValueError("monetary_value must be > 0 for customers with frequency > 0")
        # Start at p = 1, q = 2, v = mean spend, i.e. at the observed mean spend p * v / (q - 1).
        x0 = np.log(np.array([1.0, 2.0, float(np.mean(m))]))
        log_params = _minimise(
            lambda lp: _gamma_gamma_objective(lp, x, m, float(self.penalizer)),
            x0,
            int(self.max_iter),
            self._PARAM_NAMES,
            "Gamma-Gamma",
        )
        self.p_, self.q_, self.v_ = (float(val) for val in np.exp(log_params))
        self.log_likelihood_ = float(gamma_gamma_log_likelihood(self.p_, self.q_, self.v_, x, m).sum())
        return self

    def population_mean_spend(self) -> float:
        """Mean spend per transaction across the population, p * v / (q - 1); ValueError if q <= 1."""
        _check_fitted(self, ("p_", "q_", "v_"))
        if self.q_ <= 1.0:
            raise ValueError(
                f"q = {self.q_:.4g} <= 1: the population mean spend p*v/(q-1) is undefined (infinite)"
            )
        return float(self.p_ * self.v_ / (self.q_ - 1.0))

    def conditional_expected_average_profit(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """E(spend per transaction | x, m) = p (v + x m) / (p x + q - 1)  (FHL 2005b; F&H 2013, eq. 5).

        For frequency 0 this is the population mean p v / (q - 1). Raises ValueError where the mean is
        undefined (p x + q - 1 <= 0, e.g. any frequency-0 customer when q <= 1).
        """
        _check_fitted(self, ("p_", "q_", "v_"))
        x = _as_float("frequency", frequency)
        m = _as_float("monetary_value", monetary_value)
        x, m = np.broadcast_arrays(x, m)
        if np.any(x < 0):
            raise ValueError("frequency must be >= 0")
        if np.any((x > 0) & (m <= 0)):
            raise ValueError("monetary_value must be > 0 for customers with frequency > 0")
        p, q, v = self.p_, self.q_, self.v_
        denom = p * x + q - 1.0
        if np.any(denom <= 0):
            raise ValueError(
                f"q = {q:.4g}: p*x + q - 1 <= 0 for some customers, so their expected spend is undefined "
                "(the Gamma-Gamma mean needs q > 1 for frequency-0 customers)"
            )
        # x * m is 0 for x = 0 whatever m is, giving p v / (q - 1).
        return p * (v + x * np.where(x > 0, m, 0.0)) / denom


# ----------------------------------------------------------------------------------------------------------
# Expected revenue (the project's "predicted lifetime value")
# ----------------------------------------------------------------------------------------------------------


def expected_revenue(
    bgnbd: BetaGeometricNBD,
    gamma_gamma: GammaGamma,
    horizon: float,
    frequency: Any,
    recency: Any,
    age: Any,
    monetary_value: Any,
) -> np.ndarray:
    """Expected revenue per customer over the next ``horizon`` periods, undiscounted.

    Expected number of purchases (BG/NBD) times expected spend per purchase (Gamma-Gamma). This is
    what "predicted lifetime value" means in this project: a finite-horizon, undiscounted expected
    revenue, not a discounted expected residual lifetime value.
    """
    if not (np.isfinite(horizon) and horizon >= 0):
        raise ValueError("horizon must be a finite number >= 0")
    purchases = bgnbd.expected_purchases(horizon, frequency, recency, age)
    spend = gamma_gamma.conditional_expected_average_profit(frequency, monetary_value)
    return purchases * spend


# ----------------------------------------------------------------------------------------------------------
# RFM summary from a transaction log
# ----------------------------------------------------------------------------------------------------------


class RFMSummary(NamedTuple):
    """Per-customer BTYD summary, one row per customer, sorted by customer id."""

    customer_id: np.ndarray
    frequency: np.ndarray  # repeat purchase days (int64)
    recency: np.ndarray  # days from first to last purchase day (float64)
    age: np.ndarray  # days from first purchase day to the as_of day (float64)
    monetary_value: np.ndarray  # mean total of the repeat purchase days; 0 when frequency is 0


def rfm_summary(
    customer_ids: Any,
    transacted_at: Any,
    amounts: Any,
    as_of: Any,
) -> RFMSummary:
    """Frequency, recency, age (days) and monetary value per customer, as the BTYD literature defines them.

    Purchases are counted per calendar day: all transactions of a customer on one day form one purchase
    whose value is their sum. frequency = number of distinct purchase days after the first; recency = days
    between the first and the last purchase day; age = days between the first purchase day and the day of
    ``as_of``; monetary_value = mean value of the repeat purchase days (the first purchase is excluded, as
    in the Gamma-Gamma model), 0 when frequency is 0.

    Transactions after ``as_of`` (a holdout period) are ignored; customers with none on or before
    ``as_of`` do not appear.
    """
    ids = np.asarray(customer_ids)
    ts = np.asarray(transacted_at)
    amt = np.asarray(amounts, dtype=float)
    if ids.ndim != 1 or ts.ndim != 1 or amt.ndim != 1 or not (ids.size == ts.size == amt.size):
        raise ValueError("customer_ids, transacted_at and amounts must be 1-D arrays of the same length")
    if not np.issubdtype(ts.dtype, np.datetime64):
        raise TypeError("transacted_at must be a numpy datetime64 array")
    if np.any(np.isnat(ts)):
        raise ValueError("transacted_at contains NaT")
    if not np.all(np.isfinite(amt)):
        raise ValueError("amounts contains NaN or infinite values")
    as_of_dt = np.datetime64(as_of)
    if np.isnat(as_of_dt):
        raise ValueError("as_of is NaT")

    days = ts.astype("datetime64[D]").astype(np.int64)
    as_of_day = int(np.datetime64(as_of_dt, "D").astype(np.int64))
    in_period = ts <= as_of_dt
    ids, days, amt = ids[in_period], days[in_period], amt[in_period]

    customers, cust_code = np.unique(ids, return_inverse=True)
    cust_code = cust_code.ravel()
    n_customers = customers.size
    empty_f = np.zeros(0, dtype=float)
    if n_customers == 0:
        return RFMSummary(customers, np.zeros(0, dtype=np.int64), empty_f, empty_f, empty_f)

    # One row per (customer, purchase day): key sorted by customer, then day.
    day0 = int(days.min())
    span = int(days.max()) - day0 + 1
    key = cust_code.astype(np.int64) * span + (days - day0)
    pair_keys, pair_idx = np.unique(key, return_inverse=True)
    day_totals = np.bincount(pair_idx.ravel(), weights=amt, minlength=pair_keys.size)
    pair_cust = pair_keys // span
    pair_day = pair_keys % span + day0

    n_days = np.bincount(pair_cust, minlength=n_customers)
    # Pairs are sorted by (customer, day), so each customer's first/last pair is at these offsets.
    first_pos = np.concatenate(([0], np.cumsum(n_days)[:-1]))
    last_pos = first_pos + n_days - 1
    first_day = pair_day[first_pos]
    last_day = pair_day[last_pos]

    frequency = (n_days - 1).astype(np.int64)
    recency = (last_day - first_day).astype(float)
    age = (as_of_day - first_day).astype(float)
    repeat_day_totals = day_totals.copy()
    repeat_day_totals[first_pos] = 0.0
    repeat_totals = np.bincount(pair_cust, weights=repeat_day_totals, minlength=n_customers)
    monetary = np.divide(
        repeat_totals, frequency, out=np.zeros(n_customers, dtype=float), where=frequency > 0
    )
    return RFMSummary(customers, frequency, recency, age, monetary)

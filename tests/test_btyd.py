"""Tests of the BG/NBD and Gamma-Gamma models against published values, hand-worked arithmetic,
independent numerical integration and parameter recovery on simulated data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize, special
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from customer_ml.value.btyd import (
    BetaGeometricNBD,
    GammaGamma,
    _bgnbd_objective,
    _gamma_gamma_objective,
    bgnbd_log_likelihood,
    expected_revenue,
    gamma_gamma_log_likelihood,
    rfm_summary,
)

# Fader, Hardie & Lee (2005a), "Counting your customers the easy way", Marketing Science 24(2): BG/NBD
# estimates on the CDNOW sample of 2,357 customers, time in weeks.
CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
# Fader, Hardie & Lee (2005b), "RFM and CLV: using iso-value curves", JMR 42(4), and Fader & Hardie (2013),
# "The Gamma-Gamma model of monetary value": Gamma-Gamma estimates on the same CDNOW sample.
CDNOW_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


# --------------------------------------------------------------------------------------------------------
# Simulation helpers (the generative processes, written from the model definitions)
# --------------------------------------------------------------------------------------------------------


def simulate_bgnbd(rng, n, r, alpha, a, b, t_min, t_max):
    """x, t_x, T from the BG/NBD story: Poisson purchases at rate lambda ~ Gamma(r, rate alpha) while
    active; after each repeat purchase the customer drops out with probability p ~ Beta(a, b)."""
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(t_min, t_max, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    clock = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        clock[idx] += rng.exponential(1.0 / lam[idx])
        past_end = clock[idx] > T[idx]
        active[idx[past_end]] = False
        buyers = idx[~past_end]
        x[buyers] += 1
        t_x[buyers] = clock[buyers]
        active[buyers[rng.random(buyers.size) < p[buyers]]] = False
    return x, t_x, T


def simulate_gamma_gamma(rng, n, p, q, v, max_frequency=15):
    """x >= 1 and the mean of x transaction values, each Gamma(p, rate nu), nu ~ Gamma(q, rate v).
    The mean of x iid Gamma(p, rate nu) values is Gamma(p x, rate nu x)."""
    x = rng.integers(1, max_frequency + 1, n).astype(float)
    nu = rng.gamma(q, 1.0 / v, n)
    m = rng.gamma(p * x, 1.0 / (nu * x))
    return x, m


def expected_purchases_by_quadrature(params, t, x, t_x, T):
    """E[Y(t) | x, t_x, T] from the model definition by 1-D numerical integration, without 2F1.

    Given (lambda, p) and alive at T, E[Y(t)] = (1 - exp(-lambda p t)) / p. Integrating lambda over its
    posterior in closed form gives E[Y(t) | data] = P(alive) * E_p[(1 - (1 + p u)^-(r+x)) / p],
    u = t / (alpha + T), with p ~ Beta(a, b + x). The p-integral is done over the Beta quantile s in
    (0, 1), where the integrand is bounded."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    u = t / (alpha + T)

    def integrand(s):
        p = special.betaincinv(a, b + x, s)
        if p < 1e-12:
            return (r + x) * u
        return -math.expm1(-(r + x) * math.log1p(p * u)) / p

    if_alive, _ = integrate.quad(integrand, 0.0, 1.0, limit=500, epsabs=0.0, epsrel=1e-11)
    # P(alive) = first likelihood term / likelihood (FHL 2005a, eq. 6), written out with lgamma.
    log_first = (
        math.lgamma(r + x)
        - math.lgamma(r)
        + r * math.log(alpha)
        - (r + x) * math.log(alpha + T)
        + math.lgamma(a + b)
        + math.lgamma(b + x)
        - math.lgamma(b)
        - math.lgamma(a + b + x)
    )
    log_total = float(bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T))
    return math.exp(log_first - log_total) * if_alive


# --------------------------------------------------------------------------------------------------------
# BG/NBD: published and hand-worked values
# --------------------------------------------------------------------------------------------------------


def test_conditional_expectation_matches_fhl_2005_worked_example():
    # FHL (2005a), section 4 / the accompanying spreadsheet note: with the CDNOW estimates, a customer with
    # x = 2, t_x = 30.43, T = 38.86 weeks is expected to make 1.226 purchases in the next 39 weeks.
    model = BetaGeometricNBD.from_params(CDNOW_BGNBD)
    value = model.expected_purchases(39, 2, 30.43, 38.86)
    assert value == pytest.approx(1.226, abs=5e-4)


def test_probability_alive_hand_worked_for_fhl_example():
    # P(alive) = 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)) (FHL 2005a, eq. 13), CDNOW params:
    #   a/(b+x-1)              = 0.793 / 3.426            = 0.231465
    #   (alpha+T)/(alpha+t_x)  = 43.274 / 34.844          = 1.241935
    #   ^(r+x) = ^2.243        = exp(2.243 * 0.216670)    = exp(0.485991) = 1.625784
    #   odds                   = 0.231465 * 1.625784      = 0.376314
    #   P(alive)               = 1 / 1.376314             = 0.72658
    model = BetaGeometricNBD.from_params(CDNOW_BGNBD)
    assert model.probability_alive(2, 30.43, 38.86) == pytest.approx(0.72658, abs=2e-5)


@pytest.mark.parametrize(
    ("params", "t", "x", "t_x", "T"),
    [
        (CDNOW_BGNBD, 39.0, 2.0, 30.43, 38.86),
        (CDNOW_BGNBD, 39.0, 0.0, 0.0, 38.86),
        (CDNOW_BGNBD, 52.0, 7.0, 10.0, 38.86),  # long since the last purchase: mostly dead
        (CDNOW_BGNBD, 5000.0, 200.0, 35.0, 38.86),  # huge x and horizon: the original 2F1 form overflows
        (CDNOW_BGNBD, 1e5, 5.0, 1.0, 2.0),
        ({"r": 2.0, "alpha": 10.0, "a": 1.0, "b": 3.0}, 30.0, 4.0, 20.0, 25.0),  # a = 1: 0/0 in the formula
        ({"r": 0.5, "alpha": 30.0, "a": 3.0, "b": 10.0}, 365.0, 40.0, 700.0, 730.0),  # days
        ({"r": 0.06, "alpha": 0.19, "a": 17.5, "b": 2.3}, 0.17, 500.0, 100.0, 101.8),
    ],
)
def test_conditional_expectation_matches_numerical_integration(params, t, x, t_x, T):
    model = BetaGeometricNBD.from_params(params)
    expected = expected_purchases_by_quadrature(params, t, x, t_x, T)
    assert model.expected_purchases(t, x, t_x, T) == pytest.approx(expected, rel=1e-6)


def test_unconditional_expectation_limits_and_consistency():
    model = BetaGeometricNBD.from_params(CDNOW_BGNBD)
    t = np.array([1.0, 39.0, 78.0, 200.0])
    uncond = model.expected_purchases_unconditional(t)
    # A customer at time 0 with no history is exactly the unconditional case (x = t_x = T = 0).
    np.testing.assert_allclose(uncond, model.expected_purchases(t, 0, 0, 0), rtol=1e-12)
    assert np.all(np.diff(uncond) > 0)
    assert model.expected_purchases_unconditional(0.0) == 0.0
    # Initial purchase rate is the mean of lambda, r / alpha = 0.243 / 4.414 = 0.0550521.
    assert model.expected_purchases_unconditional(1e-6) / 1e-6 == pytest.approx(0.243 / 4.414, rel=1e-5)
    # Without drop-out (p -> 0: a = 2, b = 1e7) BG/NBD becomes the NBD, E[X(t)] = r t / alpha:
    # r = 0.5, alpha = 2, t = 10 -> 2.5.
    nbd = BetaGeometricNBD.from_params({"r": 0.5, "alpha": 2.0, "a": 2.0, "b": 1e7})
    assert nbd.expected_purchases_unconditional(10.0) == pytest.approx(2.5, rel=1e-5)


def test_expectation_continuous_at_a_equal_one():
    values = [
        BetaGeometricNBD.from_params({"r": 1.5, "alpha": 8.0, "a": a, "b": 2.0}).expected_purchases(
            20.0, 3, 12.0, 15.0
        )
        for a in (1.0 - 1e-3, 1.0, 1.0 + 1e-3)
    ]
    assert values[1] == pytest.approx(0.5 * (values[0] + values[2]), rel=1e-6)


def test_log_likelihood_matches_hand_computation():
    # FHL (2005a), eq. (6):
    # L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
    #     + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))
    r, alpha, a, b = 0.5, 2.0, 1.5, 3.0
    data = [(0, 0.0, 10.0), (1, 3.0, 8.0), (3, 6.5, 9.0)]

    def log_beta(u, v):
        return math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)

    hand = []
    for x, t_x, T in data:
        nbd_part = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
        alive = math.exp(log_beta(a, b + x) - log_beta(a, b) + nbd_part - (r + x) * math.log(alpha + T))
        dead = 0.0
        if x > 0:
            dead = math.exp(
                log_beta(a + 1, b + x - 1) - log_beta(a, b) + nbd_part - (r + x) * math.log(alpha + t_x)
            )
        hand.append(math.log(alive + dead))
    x, t_x, T = (np.array(col, dtype=float) for col in zip(*data, strict=True))
    np.testing.assert_allclose(bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T), hand, rtol=1e-12)


def test_objective_gradients_match_finite_differences():
    x = np.array([0.0, 1.0, 3.0, 2.0])
    t_x = np.array([0.0, 3.0, 6.5, 1.0])
    T = np.array([10.0, 8.0, 9.0, 20.0])
    log_params = np.log([0.5, 2.0, 1.5, 3.0])
    value, grad = _bgnbd_objective(log_params, x, t_x, T, 0.1)
    numeric = optimize.approx_fprime(log_params, lambda p: _bgnbd_objective(p, x, t_x, T, 0.1)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)

    freq = np.array([1.0, 2.0, 5.0])
    m = np.array([10.0, 20.0, 15.0])
    log_gg = np.log([2.0, 3.0, 10.0])
    _, grad = _gamma_gamma_objective(log_gg, freq, m, 0.1)
    numeric = optimize.approx_fprime(log_gg, lambda p: _gamma_gamma_objective(p, freq, m, 0.1)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------------------------
# BG/NBD: fitting
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated_bgnbd():
    true = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    rng = np.random.default_rng(20050101)
    x, t_x, T = simulate_bgnbd(rng, 8000, t_min=30.0, t_max=80.0, **true)
    return true, x, t_x, T


def test_bgnbd_recovers_simulated_parameters(simulated_bgnbd):
    # Tolerances: about 1.5x the largest relative error seen over 40 seeds at this sample size. a and b
    # are the least precisely identified; the mean purchase rate r/alpha and mean drop-out probability
    # a/(a+b) are checked more tightly.
    true, x, t_x, T = simulated_bgnbd
    model = BetaGeometricNBD().fit(x, t_x, T)
    assert model.r_ == pytest.approx(true["r"], rel=0.12)
    assert model.alpha_ == pytest.approx(true["alpha"], rel=0.17)
    assert model.a_ == pytest.approx(true["a"], rel=0.35)
    assert model.b_ == pytest.approx(true["b"], rel=0.45)
    assert model.r_ / model.alpha_ == pytest.approx(true["r"] / true["alpha"], rel=0.09)
    assert model.a_ / (model.a_ + model.b_) == pytest.approx(true["a"] / (true["a"] + true["b"]), rel=0.15)
    # The estimate is a maximum: log_likelihood_ is the sum at the estimate and beats nearby points.
    ll = bgnbd_log_likelihood(model.r_, model.alpha_, model.a_, model.b_, x, t_x, T).sum()
    assert model.log_likelihood_ == pytest.approx(ll, rel=1e-12)
    for i in range(4):
        nudged = [model.r_, model.alpha_, model.a_, model.b_]
        nudged[i] *= 1.01
        assert bgnbd_log_likelihood(*nudged, x, t_x, T).sum() < model.log_likelihood_


def test_bgnbd_fit_is_deterministic(simulated_bgnbd):
    _, x, t_x, T = simulated_bgnbd
    first = BetaGeometricNBD().fit(x, t_x, T).params_
    second = BetaGeometricNBD().fit(x, t_x, T).params_
    assert first == second


def test_penalizer_shrinks_log_parameters(simulated_bgnbd):
    _, x, t_x, T = simulated_bgnbd
    plain = BetaGeometricNBD().fit(x, t_x, T)
    shrunk = BetaGeometricNBD(penalizer=0.1).fit(x, t_x, T)
    assert np.sum(np.log(list(shrunk.params_.values())) ** 2) < np.sum(
        np.log(list(plain.params_.values())) ** 2
    )


def test_bgnbd_degenerate_input_raises_clear_error():
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        BetaGeometricNBD().fit(np.zeros(3), np.zeros(3), np.array([5.0, 6.0, 7.0]))
    with pytest.raises(ValueError, match="recency must be <= age"):
        BetaGeometricNBD().fit([1, 2], [5.0, 9.0], [10.0, 8.0])
    with pytest.raises(ValueError, match="NaN"):
        BetaGeometricNBD().fit([1, 2], [5.0, np.nan], [10.0, 10.0])
    with pytest.raises(ValueError, match="same length"):
        BetaGeometricNBD().fit([1, 2], [5.0], [10.0, 10.0])
    # Three customers: a and b run off to infinity (no heterogeneity in p is identifiable).
    with pytest.raises(ValueError, match="converge"):
        BetaGeometricNBD().fit([3, 0, 1], [5.0, 0.0, 2.0], [10.0, 10.0, 9.0])


def test_tiny_samples_never_give_nan():
    # Whatever happens on tiny samples, the result is finite parameters or a ValueError.
    for x, t_x, T in [([1, 1], [5.0, 5.0], [10.0, 10.0]), ([1, 0], [5.0, 0.0], [10.0, 10.0])]:
        for penalizer in (0.0, 0.01):
            try:
                params = BetaGeometricNBD(penalizer=penalizer).fit(x, t_x, T).params_
            except ValueError:
                continue
            assert all(np.isfinite(v) and v > 0 for v in params.values())
    # A small penalizer makes the all-zero case fittable.
    model = BetaGeometricNBD(penalizer=0.01).fit(np.zeros(3), np.zeros(3), np.array([5.0, 6.0, 7.0]))
    assert all(np.isfinite(v) for v in model.params_.values())


def test_probability_alive_properties():
    model = BetaGeometricNBD.from_params(CDNOW_BGNBD)
    # x = 0: exactly 1, however old the customer.
    np.testing.assert_array_equal(model.probability_alive(0, 0, np.array([0.0, 1.0, 50.0, 1e4])), 1.0)
    # x > 0: decreases with the time since the last purchase, T - t_x (fixed t_x, growing T) ...
    p_alive = model.probability_alive(3, 10.0, np.array([10.0, 20.0, 40.0, 80.0]))
    assert p_alive[0] == pytest.approx(1.0 / (1.0 + 0.793 / (2.426 + 2)))  # T = t_x: odds a/(b+x-1)
    assert np.all(np.diff(p_alive) < 0)
    # ... and with an earlier last purchase at fixed T.
    assert np.all(np.diff(model.probability_alive(3, np.array([38.0, 30.0, 20.0, 5.0]), 38.86)) < 0)


def test_predictions_require_fit_and_params_roundtrip():
    model = BetaGeometricNBD()
    with pytest.raises(NotFittedError):
        model.expected_purchases(10, 1, 1.0, 2.0)
    with pytest.raises(NotFittedError):
        model.probability_alive(1, 1.0, 2.0)
    with pytest.raises(NotFittedError):
        model.expected_purchases_unconditional(10)
    with pytest.raises(NotFittedError):
        _ = model.params_

    stored = json.loads(json.dumps(BetaGeometricNBD.from_params(CDNOW_BGNBD).params_))
    restored = BetaGeometricNBD.from_params(stored)
    assert restored.params_ == CDNOW_BGNBD
    assert restored.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)
    assert clone(restored).get_params() == {"penalizer": 0.0, "max_iter": 1000}
    with pytest.raises(ValueError, match="exactly the keys"):
        BetaGeometricNBD.from_params({**CDNOW_BGNBD, "p": 1.0})
    with pytest.raises(ValueError, match="positive"):
        BetaGeometricNBD.from_params({**CDNOW_BGNBD, "a": -1.0})


# --------------------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------------------


def test_gamma_gamma_conditional_expectation_hand_worked():
    # E(M | x, m) = p (v + x m) / (p x + q - 1) with the CDNOW estimates p = 6.25, q = 3.74, v = 15.44:
    #   x = 0:          6.25 * 15.44 / 2.74                     = 96.5 / 2.74    = 35.21898
    #   x = 1, m = 20:  6.25 * (15.44 + 20) / (6.25 + 2.74)     = 221.5 / 8.99   = 24.63849
    #   x = 4, m = 50:  6.25 * (15.44 + 200) / (25 + 2.74)      = 1346.5 / 27.74 = 48.54001
    model = GammaGamma.from_params(CDNOW_GG)
    got = model.conditional_expected_average_profit([0, 1, 4], [0.0, 20.0, 50.0])
    np.testing.assert_allclose(got, [96.5 / 2.74, 221.5 / 8.99, 1346.5 / 27.74], rtol=1e-12)
    np.testing.assert_allclose(got, [35.21898, 24.63849, 48.54001], atol=1e-5)
    assert model.population_mean_spend() == pytest.approx(96.5 / 2.74, rel=1e-12)


def test_gamma_gamma_log_likelihood_hand_worked():
    # Fader & Hardie (2013): f(m | p, q, v, x) =
    #   G(px+q) / (G(px) G(q)) * v^q m^(px-1) x^(px) / (v + m x)^(px+q)
    p, q, v = 2.0, 3.0, 10.0
    x, m = 3.0, 12.0
    hand = (
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(v)
        + (p * x - 1) * math.log(m)
        + p * x * math.log(x)
        - (p * x + q) * math.log(v + m * x)
    )
    assert float(gamma_gamma_log_likelihood(p, q, v, x, m)) == pytest.approx(hand, rel=1e-12)
    # x = 1: the density is a Gamma(p, nu) mixed over nu ~ Gamma(q, v), i.e. a beta-prime density;
    # check it integrates to 1 over m.
    total, _ = integrate.quad(
        lambda mm: math.exp(float(gamma_gamma_log_likelihood(p, q, v, 1, mm))), 0, np.inf
    )
    assert total == pytest.approx(1.0, rel=1e-8)


def test_gamma_gamma_recovers_simulated_parameters():
    true = {"p": 6.25, "q": 3.74, "v": 15.44}
    rng = np.random.default_rng(20130201)
    x, m = simulate_gamma_gamma(rng, 8000, **true)
    # Frequency-0 customers are ignored by fit.
    x = np.concatenate([x, np.zeros(50)])
    m = np.concatenate([m, np.zeros(50)])
    model = GammaGamma().fit(x, m)
    # p and v trade off against each other along a ridge of the likelihood, so their sampling error is
    # heavy-tailed (up to ~40% at this sample size over 100 seeds) and they get loose tolerances; q and
    # the mean spend p v / (q-1) are sharp (errors below 4% and 2.5% over the same seeds).
    assert model.p_ == pytest.approx(true["p"], rel=0.5)
    assert model.q_ == pytest.approx(true["q"], rel=0.07)
    assert model.v_ == pytest.approx(true["v"], rel=0.6)
    assert model.population_mean_spend() == pytest.approx(6.25 * 15.44 / 2.74, rel=0.03)
    again = GammaGamma().fit(x, m)
    assert again.params_ == model.params_


def test_gamma_gamma_errors():
    with pytest.raises(NotFittedError):
        GammaGamma().conditional_expected_average_profit([1], [10.0])
    with pytest.raises(ValueError, match="monetary_value must be > 0"):
        GammaGamma().fit([1, 2, 3], [10.0, 0.0, 5.0])
    with pytest.raises(ValueError, match="at least 2"):
        GammaGamma().fit([1, 0], [10.0, 0.0])
    # Identical spends: no variation to identify the spend distributions.
    with pytest.raises(ValueError):
        GammaGamma().fit([1, 2, 3], [10.0, 10.0, 10.0])
    heavy_tailed = GammaGamma.from_params({"p": 2.0, "q": 0.9, "v": 10.0})
    with pytest.raises(ValueError, match="undefined"):
        heavy_tailed.population_mean_spend()
    with pytest.raises(ValueError, match="undefined"):
        heavy_tailed.conditional_expected_average_profit([0, 3], [0.0, 10.0])
    # x = 3: p x + q - 1 = 6 + 0.9 - 1 = 5.9 > 0, so the conditional mean exists: 2 * (10 + 30) / 5.9.
    got = heavy_tailed.conditional_expected_average_profit(3, 10.0)
    assert got == pytest.approx(80 / 5.9, rel=1e-12)
    stored = json.loads(json.dumps(GammaGamma.from_params(CDNOW_GG).params_))
    assert GammaGamma.from_params(stored).params_ == CDNOW_GG


def test_expected_revenue_is_purchases_times_spend():
    bg = BetaGeometricNBD.from_params(CDNOW_BGNBD)
    gg = GammaGamma.from_params(CDNOW_GG)
    x = np.array([2.0, 0.0, 5.0])
    t_x = np.array([30.43, 0.0, 20.0])
    T = np.array([38.86, 38.86, 38.86])
    m = np.array([20.0, 0.0, 42.0])
    revenue = expected_revenue(bg, gg, 39.0, x, t_x, T, m)
    np.testing.assert_allclose(
        revenue,
        bg.expected_purchases(39.0, x, t_x, T) * gg.conditional_expected_average_profit(x, m),
        rtol=1e-12,
    )
    # Customer 0: 1.226028 purchases * 6.25 (15.44 + 40) / (12.5 + 2.74) = 1.226028 * 346.5 / 15.24
    #           = 1.226028 * 22.736220 = 27.87509
    assert revenue[0] == pytest.approx(27.8751, abs=1e-3)


# --------------------------------------------------------------------------------------------------------
# RFM summary
# --------------------------------------------------------------------------------------------------------


def test_rfm_summary_hand_made_example():
    rows = [
        # customer b: purchase days Jan 1 (10 + 5), Jan 5 (20), Jan 10 (30 + 10); Feb 1 is after as_of.
        ("b", "2024-01-01T10:00", 10.0),
        ("b", "2024-01-10T09:00", 30.0),
        ("b", "2024-01-01T15:00", 5.0),
        ("b", "2024-02-01T12:00", 99.0),
        ("b", "2024-01-05T08:00", 20.0),
        ("b", "2024-01-10T18:00", 10.0),
        # customer a: one purchase
        ("a", "2024-01-15T11:00", 7.0),
        # customer c: two transactions on the same day = one purchase, no repeat
        ("c", "2024-01-03T01:00", 5.0),
        ("c", "2024-01-03T23:00", 5.0),
        # customer d: only after as_of
        ("d", "2024-01-25T00:00", 3.0),
    ]
    ids = np.array([r[0] for r in rows])
    ts = np.array([r[1] for r in rows], dtype="datetime64[s]")
    amounts = np.array([r[2] for r in rows])
    out = rfm_summary(ids, ts, amounts, np.datetime64("2024-01-20T12:00"))
    np.testing.assert_array_equal(out.customer_id, ["a", "b", "c"])
    np.testing.assert_array_equal(out.frequency, [0, 2, 0])
    np.testing.assert_array_equal(out.recency, [0.0, 9.0, 0.0])  # b: Jan 10 - Jan 1
    np.testing.assert_array_equal(out.age, [5.0, 19.0, 17.0])  # Jan 20 - Jan 15 / Jan 1 / Jan 3
    # b: repeat purchase days are Jan 5 (20) and Jan 10 (30 + 10 = 40): mean 30; the first day is excluded.
    np.testing.assert_allclose(out.monetary_value, [0.0, 30.0, 0.0])
    # The summary is valid model input.
    BetaGeometricNBD.from_params(CDNOW_BGNBD).expected_purchases(30, out.frequency, out.recency, out.age)


def test_rfm_summary_matches_loop_on_random_log():
    rng = np.random.default_rng(7)
    n = 3000
    ids = rng.integers(0, 300, n)
    ts = np.datetime64("2023-01-01") + rng.integers(0, 400 * 24, n).astype("timedelta64[h]")
    amounts = rng.uniform(1, 100, n).round(2)
    as_of = np.datetime64("2024-01-01")
    out = rfm_summary(ids, ts, amounts, as_of)
    for k, cid in enumerate(out.customer_id[:40]):
        mask = (ids == cid) & (ts <= as_of)
        day = ts[mask].astype("datetime64[D]")
        uniq = np.unique(day)
        totals = [amounts[mask][day == d].sum() for d in uniq]
        assert out.frequency[k] == len(uniq) - 1
        assert out.recency[k] == (uniq[-1] - uniq[0]).astype(int)
        assert out.age[k] == (as_of.astype("datetime64[D]") - uniq[0]).astype(int)
        assert out.monetary_value[k] == pytest.approx(np.mean(totals[1:]) if len(uniq) > 1 else 0.0)
    assert set(out.customer_id) == set(ids[ts <= as_of])

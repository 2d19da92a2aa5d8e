"""Planted-truth scenario families for the segmentation benchmark, independent of the demo generator.

Each family plants `n_groups` behavioural groups of customers and writes raw tables laid out as the data
contract says (transactions always; items, transaction_items, customers and events where the family has
them), plus `_truth/customer_kinds.parquet` (customer_id, kind). Families vary the number of groups (4 to
12), their sizes (3% to 35%), how far apart they are (`separation`), a share of customers blended
between two groups, heavy-tailed spend, uninformative columns and transactions-only input.

The split into development and held-out families is fixed here, before any method was chosen:
methods are tuned on DEVELOPMENT only; HELD_OUT is only reported.

A group is a set of behavioural parameters (order rate, share of one-time buyers, lapse, order value,
tenure, channel and payment mix, refunds, basket, category taste, browsing, age and acquisition channel).
Each customer draws its own parameters around its group's (per-customer noise), so groups overlap more
as `separation` falls. A blended customer takes a mix (weight 0.5 to 0.8 on its planted group) of its
group's parameters and another group's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

END = dt.datetime(2025, 12, 31)
HISTORY_DAYS = 730
CHANNELS = np.array(["web", "app", "store"])
PAYMENTS = np.array(["card", "paypal", "invoice", "wallet"])
EVENT_TYPES = np.array(["page_view", "search", "add_to_cart", "login", "support_ticket"])
COUNTRIES = np.array(["DE", "FR", "GB", "NL", "ES", "IT"])
ACQUISITION = np.array(["organic", "paid_search", "social", "referral", "email"])
N_CATEGORIES = 8
ITEMS_PER_CATEGORY = 25


@dataclass(frozen=True)
class Family:
    """One scenario family: how its groups are planted and which raw tables it has."""

    name: str
    n_groups: int
    sizes: str = "equal"
    """`equal`, `unequal` (shares from 3% to 35%) or `random` (Dirichlet)."""
    separation: float = 1.0
    """Spread of the group parameters against the per-customer noise: lower means more overlap."""
    blended_share: float = 0.0
    heavy_tail: bool = False
    """Per-customer order values with a Pareto (alpha 1.3) multiplier on top of the log-normal."""
    uninformative: bool = False
    """Payment method, country, gender, birth year and browsing are drawn alike for every group."""
    tables: tuple[str, ...] = ("transactions", "items", "transaction_items", "customers", "events")
    n_customers: int = 3000
    seed: int = 0

    def key(self) -> str:
        """Hash of the parameters (the generator's version included): names a cached build."""
        text = json.dumps({**dataclasses.asdict(self), "generator": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


GENERATOR_VERSION = 1
TX_ONLY = ("transactions",)

# Fixed before any method was chosen. Development families are the only ones methods are tuned on.
DEVELOPMENT: tuple[Family, ...] = (
    Family("dev_k4_separated", 4, separation=1.2, seed=101),
    Family("dev_k6_unequal", 6, sizes="unequal", seed=102),
    Family("dev_k8_blended", 8, blended_share=0.25, seed=103),
    Family("dev_k10_overlap", 10, separation=0.7, seed=104),
    Family("dev_k5_txonly", 5, tables=TX_ONLY, seed=105),
    Family("dev_k7_heavy_noise", 7, heavy_tail=True, uninformative=True, sizes="random", seed=106),
)
HELD_OUT: tuple[Family, ...] = (
    Family("held_k12_mixed", 12, sizes="random", blended_share=0.1, seed=201),
    Family("held_k7_txonly_blended", 7, tables=TX_ONLY, blended_share=0.2, seed=202),
    Family("held_k9_unequal_heavy", 9, sizes="unequal", heavy_tail=True, seed=203),
    Family("held_k5_overlap_noise", 5, separation=0.7, uninformative=True, seed=204),
    Family("held_k4_blended_txonly", 4, tables=TX_ONLY, blended_share=0.3, sizes="unequal", seed=205),
    Family(
        "held_k8_no_events", 8, tables=("transactions", "items", "transaction_items", "customers"), seed=206
    ),
)
FAMILIES = {f.name: f for f in DEVELOPMENT + HELD_OUT}


def group_sizes(family: Family, rng: np.random.Generator) -> np.ndarray:
    """Customers per group: equal, spread from 3% to 35% (`unequal`) or Dirichlet shares floored at 3%."""
    k, n = family.n_groups, family.n_customers
    if family.sizes == "equal":
        shares = np.full(k, 1.0 / k)
    elif family.sizes == "unequal":
        raw = np.geomspace(0.03, 0.35, k)
        shares = raw / raw.sum()
        # Renormalising lifts the smallest share: push it back towards 3% and the largest towards 35%.
        shares = np.clip(shares, 0.03, 0.35)
        shares /= shares.sum()
    elif family.sizes == "random":
        shares = rng.dirichlet(np.full(k, 2.0))
        shares = np.clip(shares, 0.03, 0.35)
        shares /= shares.sum()
    else:
        raise ValueError(f"unknown sizes {family.sizes!r}")
    counts = np.floor(shares * n).astype(int)
    counts[np.argmax(counts)] += n - counts.sum()
    return counts


def group_parameters(family: Family, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each group's behavioural parameters (one row per group); `separation` scales the differences."""
    k, s = family.n_groups, family.separation
    z = lambda *shape: rng.standard_normal((k, *shape))  # noqa: E731
    dirichlet = lambda m, conc: np.stack([rng.dirichlet(np.full(m, conc / s)) for _ in range(k)])  # noqa: E731
    return {
        "log_rate": np.log(3.0) + 0.9 * s * z(),  # orders a year while active
        "one_time_logit": -0.5 + 1.6 * s * z(),  # propensity to buy only once
        "lapse_logit": -0.5 + 1.5 * s * z(),  # propensity to have stopped buying
        "log_aov": np.log(60.0) + 0.6 * s * z(),
        "start_frac": np.clip(0.5 + 0.3 * s * z(), 0.02, 0.98),  # where in the history customers start
        "channel": dirichlet(3, 1.5),
        "payment": dirichlet(4, 2.0),
        "refund_logit": -3.0 + 1.0 * s * z(),
        "log_units": np.log(1.5) + 0.4 * s * z(),
        "log_lines": np.log(1.8) + 0.4 * s * z(),
        "discount_logit": -1.2 + 1.2 * s * z(),
        "category": dirichlet(N_CATEGORIES, 1.0),
        "log_events": np.log(30.0) + 0.8 * s * z(),
        "event_mix": dirichlet(5, 3.0),
        "age": 40.0 + 10.0 * s * z(),
        "acquisition": dirichlet(5, 1.5),
        "signup_lag_log": np.log(30.0) + 1.0 * s * z(),
    }


def _blend(params: dict[str, np.ndarray], g1: np.ndarray, g2: np.ndarray, w: np.ndarray) -> dict:
    """Per-customer parameters: w * group g1's + (1 - w) * group g2's (every parameter, mixes included)."""
    out = {}
    for name, p in params.items():
        ww = w.reshape(-1, *([1] * (p.ndim - 1)))
        out[name] = ww * p[g1] + (1.0 - ww) * p[g2]
    return out


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row of a (n x m) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    return (rng.random(len(probs))[:, None] > cum).sum(axis=1)


def generate(family: Family) -> tuple[dict[str, pa.Table], pa.Table]:
    """(raw tables by name, truth table customer_id/kind) of one family."""
    rng = np.random.default_rng(family.seed)
    params = group_parameters(family, rng)
    counts = group_sizes(family, rng)
    n = int(counts.sum())
    group = np.repeat(np.arange(family.n_groups), counts)
    rng.shuffle(group)
    other = (group + rng.integers(1, family.n_groups, n)) % family.n_groups
    blended = rng.random(n) < family.blended_share
    w = np.where(blended, rng.uniform(0.5, 0.8, n), 1.0)
    p = _blend(params, group, other, w)
    if family.uninformative:
        # The same distribution for every customer: these columns carry no group signal.
        for name in ("payment", "event_mix"):
            p[name] = np.tile(p[name].mean(axis=0), (n, 1))
        p["log_events"] = np.full(n, float(np.log(30.0)))
        p["age"] = np.full(n, 40.0)
    customer_ids = np.array([f"c{family.seed}_{i:06d}" for i in range(n)])
    start = END - dt.timedelta(days=HISTORY_DAYS)

    # --- per-customer behaviour (noise around the group's parameters)
    noise = lambda scale: rng.normal(0.0, scale, n)  # noqa: E731
    first_day = np.clip(p["start_frac"] + noise(0.15), 0.0, 0.995) * HISTORY_DAYS
    lapsed = rng.random(n) < 1.0 / (1.0 + np.exp(-(p["lapse_logit"] + noise(0.5))))
    active_days = HISTORY_DAYS - first_day
    end_day = np.where(lapsed, first_day + active_days * rng.uniform(0.05, 0.6, n), HISTORY_DAYS - 0.5)
    one_time = rng.random(n) < 1.0 / (1.0 + np.exp(-(p["one_time_logit"] + noise(0.5))))
    rate = np.exp(p["log_rate"] + noise(0.4))
    span = np.maximum(end_day - first_day, 1.0)
    n_orders = np.where(one_time, 1, 1 + rng.poisson(rate * span / 365.0))
    n_orders = np.minimum(n_orders, 200)

    # --- transactions
    cust_idx = np.repeat(np.arange(n), n_orders)
    first = np.r_[0, np.cumsum(n_orders)[:-1]]
    is_first = np.zeros(len(cust_idx), dtype=bool)
    is_first[first] = True
    day = np.where(
        is_first, first_day[cust_idx], first_day[cust_idx] + rng.random(len(cust_idx)) * span[cust_idx]
    )
    day = np.minimum(day, HISTORY_DAYS - 0.01)
    ts = np.array(start, dtype="datetime64[s]") + (day * 86400).astype("timedelta64[s]")
    aov_cust = p["log_aov"] + noise(0.3)
    amount = np.exp(aov_cust[cust_idx] + rng.normal(0.0, 0.45, len(cust_idx)))
    if family.heavy_tail:
        amount *= (1.0 + rng.pareto(1.3, n))[cust_idx]
    units = 1 + rng.poisson(np.maximum(np.exp(p["log_units"][cust_idx]) - 1.0, 0.0))
    channel = CHANNELS[_choice_rows(rng, p["channel"][cust_idx])]
    payment = PAYMENTS[_choice_rows(rng, p["payment"][cust_idx])]
    m = len(cust_idx)
    tx_ids = np.array([f"t{family.seed}_{i:07d}" for i in range(m)])

    tables: dict[str, pa.Table] = {}
    has_items = "transaction_items" in family.tables and "items" in family.tables
    if has_items:
        n_items = N_CATEGORIES * ITEMS_PER_CATEGORY
        item_cat = np.repeat(np.arange(N_CATEGORIES), ITEMS_PER_CATEGORY)
        item_price = np.round(np.exp(rng.normal(np.log(25.0), 0.6, n_items)), 2)
        item_ids = np.array([f"i{j:04d}" for j in range(n_items)])
        tables["items"] = pa.table(
            {
                "item_id": item_ids,
                "category": np.array([f"category_{c}" for c in item_cat]),
                "price": item_price,
            }
        )
        lines = 1 + rng.poisson(np.maximum(np.exp(p["log_lines"][cust_idx]) - 1.0, 0.0))
        line_tx = np.repeat(np.arange(m), lines)
        line_cust = cust_idx[line_tx]
        cat = _choice_rows(rng, p["category"][line_cust])
        item = cat * ITEMS_PER_CATEGORY + rng.integers(0, ITEMS_PER_CATEGORY, len(line_tx))
        disc_p = 1.0 / (1.0 + np.exp(-p["discount_logit"][line_cust]))
        discounted = rng.random(len(line_tx)) < disc_p
        unit_price = np.round(
            item_price[item] * np.where(discounted, rng.uniform(0.6, 0.9, len(line_tx)), 1.0), 2
        )
        qty = 1 + rng.poisson(0.3, len(line_tx))
        tables["transaction_items"] = pa.table(
            {
                "transaction_id": tx_ids[line_tx],
                "item_id": item_ids[item],
                "quantity": qty,
                "unit_price": unit_price,
            }
        )
        # Order value follows the group's order size: scale line prices' sum to the drawn amount.
        amount = np.maximum(np.bincount(line_tx, weights=qty * unit_price, minlength=m), 0.01) * (
            0.5 + 0.5 * amount / np.exp(np.log(60.0))
        )
    amount = np.round(amount, 2)
    refunded = rng.random(m) < 1.0 / (1.0 + np.exp(-p["refund_logit"][cust_idx]))
    tx = {
        "transaction_id": tx_ids,
        "customer_id": customer_ids[cust_idx],
        "transacted_at": ts,
        "amount": amount,
        "status": np.full(m, "completed"),
    }
    if family.tables != TX_ONLY:
        tx.update({"quantity": units, "payment_method": payment, "channel": channel})
    refund_rows = np.flatnonzero(refunded)
    refund = {
        "transaction_id": np.array([f"r{family.seed}_{i:07d}" for i in range(len(refund_rows))]),
        "customer_id": customer_ids[cust_idx[refund_rows]],
        "transacted_at": np.minimum(
            ts[refund_rows] + np.timedelta64(3 * 86400, "s"),
            np.array(END - dt.timedelta(seconds=60), dtype="datetime64[s]"),
        ),
        "amount": -amount[refund_rows],
        "status": np.full(len(refund_rows), "refunded"),
    }
    if family.tables != TX_ONLY:
        refund.update(
            {
                "quantity": units[refund_rows],
                "payment_method": payment[refund_rows],
                "channel": channel[refund_rows],
            }
        )
    tables["transactions"] = pa.concat_tables([pa.table(tx), pa.table(refund)])

    if "customers" in family.tables:
        signup_day = first_day - np.exp(p["signup_lag_log"] + noise(0.5))
        signup = np.array(start, dtype="datetime64[s]") + (signup_day * 86400).astype("timedelta64[s]")
        tables["customers"] = pa.table(
            {
                "customer_id": customer_ids,
                "signed_up_at": signup,
                "country": COUNTRIES[rng.integers(0, len(COUNTRIES), n)],
                "birth_year": np.round(END.year - np.clip(p["age"] + noise(6.0), 18, 90)).astype(np.int64),
                "gender": np.array(["f", "m"])[rng.integers(0, 2, n)],
                "acquisition_channel": ACQUISITION[_choice_rows(rng, p["acquisition"])],
            }
        )
    if "events" in family.tables:
        ev_active = np.maximum(HISTORY_DAYS - first_day, 1.0) / HISTORY_DAYS
        n_events = np.minimum(rng.poisson(np.exp(p["log_events"] + noise(0.4)) * ev_active), 400)
        ev_cust = np.repeat(np.arange(n), n_events)
        # Browsing happens while the customer buys (until end_day), with a tail of 60 days after.
        ev_end = np.minimum(end_day + 60.0, HISTORY_DAYS - 0.01)
        ev_day = first_day[ev_cust] + rng.random(len(ev_cust)) * np.maximum(ev_end - first_day, 0.5)[ev_cust]
        ev_ts = np.array(start, dtype="datetime64[s]") + (ev_day * 86400).astype("timedelta64[s]")
        etype = EVENT_TYPES[_choice_rows(rng, p["event_mix"][ev_cust])]
        tables["events"] = pa.table(
            {
                "customer_id": customer_ids[ev_cust],
                "occurred_at": ev_ts,
                "event_type": etype,
                "session_id": np.array([f"s{c}_{int(d)}" for c, d in zip(ev_cust, ev_day, strict=True)]),
            }
        )
    truth = pa.table({"customer_id": customer_ids, "kind": np.array([f"g{g}" for g in group])})
    return tables, truth


def write(family: Family, out: Path) -> Path:
    """Write the family's raw tables as parquet into `out` and its truth into `out`/_truth."""
    tables, truth = generate(family)
    (out / "_truth").mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, out / f"{name}.parquet")
    pq.write_table(truth, out / "_truth" / "customer_kinds.parquet")
    return out

"""Deterministic demo data: the seven raw tables of the data contract, plus the ground truth behind them.

The data imitate an online and high-street retailer over ``history_days`` days up to ``end_date``:

- Legitimate customers belong to one of seven latent kinds (``KINDS``, uneven shares) that differ in spend,
  purchase rate, dropout, category, channel and payment mix, browsing behaviour, refunds and social ties.
  Individual parameters are drawn around the kind's values, so kinds overlap.
- Purchases follow a buy-till-you-die process: a customer buys at a gamma-distributed rate and after each
  purchase drops out with a beta-distributed probability (``lapsed`` customers stop at a lapse date 6-12
  months before ``end_date``). Order values are lognormal around a gamma-distributed customer mean. Time is
  warped so that weekends and the November/December peak see more orders.
- Fraud comes from four mechanisms (``MECHANISMS``). Card testing, device rings and chargeback abuse are
  run from accounts of their own, which are customers of kind ``fraudster`` in the truth; account takeover
  hits established legitimate customers, who keep their kind. ``fraud_labels`` is partial and delayed.

Conventions: every timestamp is earlier than ``end_date`` 00:00 (activity covers the ``history_days``
whole days before it; customers may have signed up before that), timestamps are ``timestamp[us]`` without a
time zone, ids are zero-padded strings, and outputs are sorted by id. Customer ids follow sign-up order and
transaction ids follow time, as sequences in a real system would. Refund and chargeback rows carry a
negative ``amount`` and a negative ``quantity`` (units returned); they have no ``transaction_items`` lines.
Store purchases have no ``device_id`` and no ``ip_country``. A few ``birth_year`` and ``gender`` values are
null, as in real exports.

The same ``(n_customers, seed, end_date, history_days)`` gives bit-identical tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "COLUMNS",
    "DEFAULT_END_DATE",
    "KINDS",
    "FRAUD_KIND",
    "MECHANISMS",
    "RAW_TABLES",
    "DemoData",
    "generate",
    "main",
    "write",
]

GENERATOR_VERSION = 1
DEFAULT_END_DATE = dt.date(2026, 9, 30)

RAW_TABLES = (
    "transactions",
    "transaction_items",
    "items",
    "customers",
    "events",
    "social_edges",
    "fraud_labels",
)
COLUMNS: dict[str, tuple[str, ...]] = {
    "transactions": (
        "transaction_id",
        "customer_id",
        "transacted_at",
        "amount",
        "quantity",
        "status",
        "payment_method",
        "device_id",
        "ip_country",
        "channel",
    ),
    "transaction_items": ("transaction_id", "item_id", "quantity", "unit_price"),
    "items": ("item_id", "category", "brand", "price"),
    "customers": ("customer_id", "signed_up_at", "country", "birth_year", "gender", "acquisition_channel"),
    "events": ("customer_id", "occurred_at", "event_type", "session_id", "item_id"),
    "social_edges": ("customer_id", "related_customer_id", "relation", "created_at"),
    "fraud_labels": ("transaction_id", "is_fraud", "labeled_at"),
}
TRUTH_TABLES = ("customer_kinds", "transaction_fraud")

KINDS = ("vip", "loyal", "bargain_hunter", "new", "lapsed", "window_shopper", "gift_buyer")
FRAUD_KIND = "fraudster"
MECHANISMS = ("card_testing", "account_takeover", "device_ring", "chargeback_abuse")

STATUSES = ("completed", "refunded", "chargeback")
CHANNELS = ("web", "app", "store")
PAYMENTS = ("card", "paypal", "apple_pay", "gift_card", "bank_transfer")
EVENT_TYPES = ("login", "search", "page_view", "add_to_cart", "support_ticket")
GENDERS = ("female", "male", "other")
ACQUISITION = ("organic", "paid_search", "social", "email", "referral")
RELATIONS = ("referral", "friend")
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "ES", "IT", "NL", "AU", "SE", "PL", "BR", "IN", "MX", "JP")
COUNTRY_SHARE = np.array([30, 12, 10, 8, 6, 5, 5, 4, 4, 3, 3, 3, 3, 2, 2], dtype=float) / 100

# Category: median price, price spread (lognormal sigma), share of the catalogue.
CATEGORIES = (
    ("electronics", 120.0, 0.9, 0.14),
    ("fashion", 40.0, 0.6, 0.16),
    ("home", 45.0, 0.7, 0.12),
    ("beauty", 18.0, 0.5, 0.09),
    ("grocery", 6.0, 0.5, 0.10),
    ("sports", 35.0, 0.7, 0.09),
    ("toys", 22.0, 0.6, 0.08),
    ("books", 14.0, 0.4, 0.08),
    ("jewelry", 90.0, 0.9, 0.05),
    ("garden", 30.0, 0.7, 0.05),
    ("pets", 15.0, 0.6, 0.04),
)
N_ITEMS = 2000


@dataclass(frozen=True)
class _Kind:
    """Behaviour of one latent kind of customer (rates per year, probabilities per event)."""

    share: float
    orders_per_year: float
    rate_shape: float  # gamma shape of the individual purchase rate
    dropout: tuple[float, float]  # beta(a, b) of the per-purchase dropout probability
    order_value: float  # mean order value
    extra_lines_p: float  # lines per order = 1 + binomial(4, p)
    discount_p: float  # share of lines bought at a discount
    refund_rate: float
    channel: tuple[float, float, float]  # web, app, store
    payment: tuple[float, float, float, float, float]  # PAYMENTS order
    categories: tuple[float, ...]  # CATEGORIES order
    browse_sessions_per_year: float
    page_views: float  # per browsing session
    searches: float
    add_to_cart: float
    login_p: float
    support_p: float  # support ticket per browsing session
    friends: float  # mean friend edges started by the customer
    age: float
    gender: tuple[float, float, float]
    acquisition: tuple[float, float, float, float, float]
    signup_days_ago: tuple[float, float]


# fmt: off
_KIND_SPECS = (
    _Kind(  # vip: big spenders, frequent, web-first, well connected
        share=0.08, orders_per_year=16, rate_shape=3.0, dropout=(1.0, 100.0), order_value=230,
        extra_lines_p=0.45, discount_p=0.10, refund_rate=0.06,
        channel=(0.50, 0.30, 0.20), payment=(0.55, 0.10, 0.25, 0.02, 0.08),
        categories=(0.22, 0.22, 0.12, 0.08, 0.02, 0.08, 0.03, 0.03, 0.15, 0.03, 0.02),
        browse_sessions_per_year=1.0, page_views=4, searches=1, add_to_cart=0.6,
        login_p=0.6, support_p=0.03,
        friends=1.4, age=48, gender=(0.40, 0.55, 0.05), acquisition=(0.35, 0.20, 0.05, 0.15, 0.25),
        signup_days_ago=(150, 2200),
    ),
    _Kind(  # loyal: regular medium baskets, mostly in store, groceries and home
        share=0.18, orders_per_year=11, rate_shape=4.0, dropout=(1.5, 90.0), order_value=55,
        extra_lines_p=0.35, discount_p=0.10, refund_rate=0.03,
        channel=(0.20, 0.20, 0.60), payment=(0.60, 0.10, 0.15, 0.10, 0.05),
        categories=(0.05, 0.10, 0.12, 0.10, 0.28, 0.06, 0.05, 0.06, 0.02, 0.06, 0.10),
        browse_sessions_per_year=0.6, page_views=3, searches=0.5, add_to_cart=0.4,
        login_p=0.5, support_p=0.02,
        friends=1.0, age=45, gender=(0.55, 0.42, 0.03), acquisition=(0.45, 0.15, 0.05, 0.15, 0.20),
        signup_days_ago=(150, 2200),
    ),
    _Kind(  # bargain hunters: small discounted baskets, app, many searches, refunds
        share=0.20, orders_per_year=8, rate_shape=2.5, dropout=(2.0, 20.0), order_value=24,
        extra_lines_p=0.25, discount_p=0.50, refund_rate=0.11,
        channel=(0.25, 0.65, 0.10), payment=(0.35, 0.30, 0.15, 0.15, 0.05),
        categories=(0.04, 0.14, 0.08, 0.16, 0.24, 0.05, 0.06, 0.10, 0.01, 0.04, 0.08),
        browse_sessions_per_year=1.5, page_views=3, searches=2.5, add_to_cart=0.6,
        login_p=0.5, support_p=0.05,
        friends=0.7, age=30, gender=(0.55, 0.40, 0.05), acquisition=(0.20, 0.30, 0.30, 0.10, 0.10),
        signup_days_ago=(60, 1500),
    ),
    _Kind(  # new: signed up in the last 90 days
        share=0.12, orders_per_year=9, rate_shape=2.0, dropout=(2.0, 10.0), order_value=45,
        extra_lines_p=0.20, discount_p=0.20, refund_rate=0.05,
        channel=(0.45, 0.45, 0.10), payment=(0.45, 0.25, 0.20, 0.05, 0.05),
        categories=(0.12, 0.18, 0.12, 0.12, 0.10, 0.10, 0.06, 0.08, 0.03, 0.04, 0.05),
        browse_sessions_per_year=12, page_views=4, searches=1.5, add_to_cart=0.6,
        login_p=0.7, support_p=0.05,
        friends=0.5, age=32, gender=(0.48, 0.47, 0.05), acquisition=(0.20, 0.35, 0.30, 0.05, 0.10),
        signup_days_ago=(1, 90),
    ),
    _Kind(  # lapsed: bought regularly, stopped 6-12 months ago
        share=0.15, orders_per_year=9, rate_shape=3.0, dropout=(1.0, 50.0), order_value=50,
        extra_lines_p=0.30, discount_p=0.20, refund_rate=0.05,
        channel=(0.40, 0.30, 0.30), payment=(0.55, 0.20, 0.15, 0.05, 0.05),
        categories=(0.08, 0.15, 0.14, 0.10, 0.14, 0.12, 0.05, 0.07, 0.03, 0.07, 0.05),
        browse_sessions_per_year=1.0, page_views=3, searches=1, add_to_cart=0.4,
        login_p=0.5, support_p=0.06,
        friends=0.6, age=40, gender=(0.50, 0.46, 0.04), acquisition=(0.35, 0.30, 0.15, 0.10, 0.10),
        signup_days_ago=(330, 2200),
    ),
    _Kind(  # window shoppers: browse a lot, buy 0-2 times
        share=0.15, orders_per_year=0.8, rate_shape=2.0, dropout=(3.0, 3.0), order_value=35,
        extra_lines_p=0.15, discount_p=0.30, refund_rate=0.04,
        channel=(0.55, 0.40, 0.05), payment=(0.50, 0.30, 0.15, 0.03, 0.02),
        categories=(0.20, 0.25, 0.12, 0.10, 0.03, 0.08, 0.05, 0.08, 0.04, 0.03, 0.02),
        browse_sessions_per_year=3.5, page_views=5, searches=1.5, add_to_cart=1.0,
        login_p=0.5, support_p=0.01,
        friends=0.4, age=28, gender=(0.52, 0.42, 0.06), acquisition=(0.25, 0.30, 0.35, 0.05, 0.05),
        signup_days_ago=(1, 1400),
    ),
    _Kind(  # gift buyers: one large order, mostly before Christmas, rarely back
        share=0.12, orders_per_year=0.8, rate_shape=2.0, dropout=(8.0, 2.0), order_value=110,
        extra_lines_p=0.15, discount_p=0.10, refund_rate=0.08,
        channel=(0.60, 0.20, 0.20), payment=(0.45, 0.20, 0.15, 0.15, 0.05),
        categories=(0.15, 0.08, 0.06, 0.10, 0.01, 0.04, 0.25, 0.12, 0.17, 0.01, 0.01),
        browse_sessions_per_year=0.4, page_views=3, searches=1, add_to_cart=0.3,
        login_p=0.3, support_p=0.02,
        friends=0.3, age=38, gender=(0.40, 0.55, 0.05), acquisition=(0.30, 0.45, 0.15, 0.05, 0.05),
        signup_days_ago=(1, 730),
    ),
    _Kind(  # fraudster accounts: behaviour mostly set by the mechanism
        share=0.0, orders_per_year=0, rate_shape=1.0, dropout=(1.0, 1.0), order_value=200,
        extra_lines_p=0.30, discount_p=0.0, refund_rate=0.0,
        channel=(0.70, 0.30, 0.00), payment=(0.80, 0.20, 0.00, 0.00, 0.00),
        categories=(0.45, 0.25, 0.05, 0.05, 0.02, 0.04, 0.02, 0.02, 0.08, 0.01, 0.01),
        browse_sessions_per_year=0, page_views=1.5, searches=0.3, add_to_cart=0.5,
        login_p=1.0, support_p=0.0,
        friends=0.0, age=30, gender=(0.30, 0.60, 0.10), acquisition=(0.40, 0.35, 0.25, 0.00, 0.00),
        signup_days_ago=(1, 1),
    ),
)
# fmt: on
_FRAUD = len(KINDS)  # kind code of fraudster accounts
_VIP, _LOYAL, _BARGAIN, _NEW, _LAPSED, _WINDOW, _GIFT = range(7)

# Fraud volume per customer (accounts or victims), and chargeback rates per mechanism.
_CARD_TESTERS_PER_CUSTOMER = 0.003
_RINGS_PER_CUSTOMER = 0.001
_ABUSERS_PER_CUSTOMER = 0.004
_TAKEOVERS_PER_CUSTOMER = 0.010
_FRAUD_CHARGEBACK = {
    "card_testing": 0.3,
    "account_takeover": 0.8,
    "device_ring": 0.6,
    "chargeback_abuse": 0.85,
}
_FRIENDLY_CHARGEBACK = 0.003
_TRACKED_SESSION_P = 0.5  # share of online purchases with a tracked browsing session before them

_HOUR_WEIGHTS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.6, 2.8, 3, 3.2, 3, 2.8, 2.8, 3, 3.4, 4, 4.6, 5, 4.6, 3.4, 2]
)
_WEEKDAY_FACTOR = np.array([0.9, 0.85, 0.9, 0.95, 1.05, 1.25, 1.15])  # Monday first
_MINUTE = 1 / 1440
_SYLLABLES = (
    "ar bel cor da en fi gal hor is jun ka lum mo nor os pra qui ro sol ta ul ver wen xa yor zen vo li"
).split()


@dataclass
class DemoData:
    """Generated raw tables (``tables``, keyed by ``RAW_TABLES``) and ground truth (``truth``).

    ``truth["customer_kinds"]``: customer_id, kind (one of ``KINDS`` or ``FRAUD_KIND``).
    ``truth["transaction_fraud"]``: one row per transaction: transaction_id, customer_id, is_fraud (true
    for fraudulent purchases only), mechanism (one of ``MECHANISMS``, null when not fraud) and
    original_transaction_id (the purchase a refund or chargeback row reverses, null for purchases).
    """

    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table]

    def save(self, out_dir: str | Path, fmt: str = "parquet") -> Path:
        """Write ``<out_dir>/<table>.<fmt>`` per raw table and ``<out_dir>/_truth/<name>.parquet`` per truth
        table (no manifest: see ``write``); returns ``out_dir``."""
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
        out = Path(out_dir)
        (out / "_truth").mkdir(parents=True, exist_ok=True)
        other = "csv" if fmt == "parquet" else "parquet"
        for name, table in self.tables.items():
            (out / f"{name}.{other}").unlink(missing_ok=True)  # one file per table, never two formats
            if fmt == "parquet":
                pq.write_table(table, out / f"{name}.parquet")
            else:
                pacsv.write_csv(table, out / f"{name}.csv")
        for name, table in self.truth.items():
            pq.write_table(table, out / "_truth" / f"{name}.parquet")
        return out


# --------------------------------------------------------------------------------------------- helpers


def _digits(n: int, minimum: int) -> int:
    return max(minimum, len(str(max(n, 1))))


def _ids(prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """Zero-padded string ids such as C0000001, built straight into an Arrow buffer."""
    numbers = np.asarray(numbers, dtype=np.int64)
    n = len(numbers)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    total = len(head) + width
    buf = np.empty((n, total), dtype=np.uint8)
    buf[:, : len(head)] = head
    rest = numbers.copy()
    for pos in range(total - 1, len(head) - 1, -1):
        buf[:, pos] = 48 + rest % 10
        rest //= 10
    offsets = np.arange(0, (n + 1) * total, total, dtype=np.int32)
    validity = None
    if valid is not None:
        validity = pa.py_buffer(np.packbits(np.asarray(valid, dtype=bool), bitorder="little"))
    null_count = -1 if valid is not None else 0
    return pa.Array.from_buffers(
        pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(buf)], null_count=null_count
    )


def _labels(values: Sequence[str], codes: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """String column from integer codes into ``values`` (null where ``valid`` is false)."""
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=mask)
    return pa.array(list(values), pa.string()).take(indices)


def _group_choice(rng: np.random.Generator, groups: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row, with the probabilities of the row's group (rows of ``probs``)."""
    probs = np.asarray(probs, dtype=float)
    probs = probs / probs.sum(axis=1, keepdims=True)
    out = np.zeros(len(groups), dtype=np.int64)
    for g in range(probs.shape[0]):
        rows = np.flatnonzero(groups == g)
        if len(rows):
            out[rows] = rng.choice(probs.shape[1], size=len(rows), p=probs[g])
    return out


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each group (groups are consecutive runs of ``counts`` rows)."""
    cs = np.cumsum(values)
    starts = np.cumsum(counts) - counts
    base = np.zeros(len(counts))
    nonempty = counts > 0
    base[nonempty] = cs[starts[nonempty]] - values[starts[nonempty]]
    return cs - np.repeat(base, counts)


def _time_of_day(rng: np.random.Generator, n: int, store: np.ndarray | None = None) -> np.ndarray:
    """Fraction of a day: evening-heavy online, opening hours (9-20h) in store."""
    cum = np.cumsum(_HOUR_WEIGHTS) / _HOUR_WEIGHTS.sum()
    hour = np.minimum(np.searchsorted(cum, rng.random(n), side="right"), 23).astype(float)
    if store is not None:
        hour = np.where(store, 9 + rng.integers(0, 11, n), hour)
    return (hour + rng.random(n)) / 24


def _counts_by_share(n: int, shares: Sequence[float]) -> np.ndarray:
    shares = np.asarray(shares, dtype=float) / np.sum(shares)
    raw = shares * n
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


class _Calendar:
    """Window of ``history_days`` days before ``end_date``; times are float days from the window start."""

    def __init__(self, end_date: dt.date, history_days: int) -> None:
        self.h = float(history_days)
        self.start = end_date - dt.timedelta(days=history_days)
        self.start_us = (self.start - dt.date(1970, 1, 1)).days * 86_400 * 1_000_000
        days = np.datetime64(self.start, "D") + np.arange(history_days)
        months = days.astype("datetime64[M]")
        self.month = months.astype(np.int64) % 12 + 1
        self.day_of_month = (days - months).astype(np.int64) + 1
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        peak = ((self.month == 11) & (self.day_of_month >= 20)) | (
            (self.month == 12) & (self.day_of_month <= 23)
        )
        weight = _WEEKDAY_FACTOR[weekday] * (1 + 0.15 * (self.month >= 11) + 0.25 * peak)
        cum = np.concatenate([[0.0], np.cumsum(weight)])
        cum *= self.h / cum[-1]
        cum[-1] = self.h
        self._cum = cum
        self._grid = np.arange(history_days + 1, dtype=float)

    def warp(self, t: np.ndarray) -> np.ndarray:
        """Calendar time to operational time (busy days are longer); identity outside the window."""
        inside = (t >= 0) & (t <= self.h)
        return np.where(inside, np.interp(t, self._grid, self._cum), t)

    def unwarp(self, s: np.ndarray) -> np.ndarray:
        inside = (s >= 0) & (s <= self.h)
        return np.where(inside, np.interp(s, self._cum, self._grid), s)

    def warped_uniform(self, rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Times between ``lo`` and ``hi``, denser on busy days."""
        a, b = self.warp(lo), self.warp(hi)
        return self.unwarp(a + rng.random(len(a)) * (b - a))

    def timestamps(self, t: np.ndarray) -> pa.Array:
        us = self.start_us + np.floor(np.asarray(t) * 86_400).astype(np.int64) * 1_000_000
        return pa.array(us, type=pa.timestamp("us"))


def _with_time_of_day(rng: np.random.Generator, t: np.ndarray, floor_t: np.ndarray, store=None) -> np.ndarray:
    """Move times to a realistic hour of their day, except on the day of ``floor_t`` (kept as they are)."""
    day = np.floor(t)
    moved = day + _time_of_day(rng, len(t), store)
    return np.where(day > np.floor(floor_t), moved, t)


# ----------------------------------------------------------------------------------------------- items


_POPULARITY_SLOTS = 1 << 16


@dataclass
class _Items:
    category: np.ndarray  # category code per item
    brand: list[str]
    price: np.ndarray
    popularity: np.ndarray  # per category, _POPULARITY_SLOTS item indices in proportion to popularity

    @property
    def log_price(self) -> np.ndarray:
        return np.log(self.price).astype(np.float32)

    def sample(self, rng: np.random.Generator, cats: np.ndarray, k: int = 1) -> np.ndarray:
        """Items by popularity within the given categories: shape (len(cats), k)."""
        slot = rng.integers(0, _POPULARITY_SLOTS, (len(cats), k), dtype=np.int32)
        return self.popularity[np.asarray(cats)[:, None], slot]


def _make_items(rng: np.random.Generator, n_items: int) -> _Items:
    counts = _counts_by_share(n_items, [c[3] for c in CATEGORIES])
    category = np.repeat(np.arange(len(CATEGORIES)), counts)
    median = np.array([c[1] for c in CATEGORIES])[category]
    sigma = np.array([c[2] for c in CATEGORIES])[category]
    price = np.maximum(np.round(median * np.exp(sigma * rng.standard_normal(n_items)), 2), 0.5)
    brand_codes = np.empty(n_items, dtype=np.int64)
    brand_names: list[str] = []
    start = 0
    for count in counts:
        n_brands = 6 + count // 25
        syl = rng.integers(0, len(_SYLLABLES), (n_brands, 3))
        three = rng.random(n_brands) < 0.3
        names = [
            (_SYLLABLES[a] + _SYLLABLES[b] + (_SYLLABLES[d] if t else "")).capitalize()
            for a, b, d, t in zip(syl[:, 0], syl[:, 1], syl[:, 2], three, strict=True)
        ]
        weights = 1 / np.arange(1, n_brands + 1) ** 0.8
        brand_codes[start : start + count] = len(brand_names) + rng.choice(
            n_brands, count, p=weights / weights.sum()
        )
        brand_names.extend(names)
        start += count
    brand = [brand_names[b] for b in brand_codes]
    # Shuffle so that item ids do not follow categories.
    perm = rng.permutation(n_items)
    category, price, brand = category[perm], price[perm], [brand[i] for i in perm]
    # Zipf-like popularity within each category, as a lookup table of slots per item.
    popularity = np.empty((len(CATEGORIES), _POPULARITY_SLOTS), dtype=np.int32)
    for c in range(len(CATEGORIES)):
        members = rng.permutation(np.flatnonzero(category == c))
        weights = 1 / np.arange(1, len(members) + 1) ** 1.1
        edges = np.concatenate([[0], np.cumsum(weights) / weights.sum()]) * _POPULARITY_SLOTS
        slots = np.diff(np.round(edges).astype(np.int64))
        popularity[c] = np.repeat(members, np.maximum(slots, 0))[:_POPULARITY_SLOTS]
    return _Items(category, brand, price, popularity)


# ------------------------------------------------------------------------------------------- customers


@dataclass
class _Customers:
    kind: np.ndarray
    signup: np.ndarray
    country: np.ndarray
    birth_year: np.ndarray
    birth_known: np.ndarray
    gender: np.ndarray
    gender_known: np.ndarray
    acquisition: np.ndarray
    n_devices: np.ndarray
    device_start: np.ndarray
    fav_channel: np.ndarray
    fav_payment: np.ndarray
    fav_category: np.ndarray
    order_value: np.ndarray
    active_until: np.ndarray  # for browsing: when the customer stopped being active
    bound: np.ndarray  # no purchases from here on (the lapse date of lapsed customers, else the end)


def _spec_array(name: str) -> np.ndarray:
    return np.array([getattr(k, name) for k in _KIND_SPECS], dtype=float)


def _demographics(rng: np.random.Generator, kind: np.ndarray, end_year: int) -> dict[str, np.ndarray]:
    n = len(kind)
    age = np.clip(_spec_array("age")[kind] + 11 * rng.standard_normal(n), 18, 85)
    return {
        "country": rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE),
        "birth_year": (end_year - np.round(age)).astype(np.int64),
        "birth_known": rng.random(n) >= 0.03,
        "gender": _group_choice(rng, kind, _spec_array("gender")),
        "gender_known": rng.random(n) >= 0.05,
        "acquisition": _group_choice(rng, kind, _spec_array("acquisition")),
        "fav_channel": _group_choice(rng, kind, _spec_array("channel")),
        "fav_payment": _group_choice(rng, kind, _spec_array("payment")),
        "fav_category": _group_choice(rng, kind, _spec_array("categories")),
        "order_value": _spec_array("order_value")[kind] * rng.gamma(4.0, 0.25, n),
    }


# ------------------------------------------------------------------------------------------- purchases


@dataclass
class _Orders:
    """Completed purchases; lines are grouped by order, in order."""

    customer: np.ndarray
    t: np.ndarray
    mechanism: np.ndarray  # 0 legitimate, 1 + index into MECHANISMS
    channel: np.ndarray
    payment: np.ndarray
    device: np.ndarray  # device index, -1 for none
    ip_country: np.ndarray  # country code, -1 for none
    n_lines: np.ndarray
    line_item: np.ndarray
    line_qty: np.ndarray
    line_price: np.ndarray


def _concat_orders(parts: list[_Orders]) -> _Orders:
    return _Orders(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Orders.__dataclass_fields__))


def _buy_till_you_die(
    rng: np.random.Generator,
    cal: _Calendar,
    first: np.ndarray,
    rate: np.ndarray,
    dropout: np.ndarray,
    bound: np.ndarray,
    max_orders: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Purchase times per customer: first purchase at ``first`` (NaN: none), then exponential gaps in
    operational time at ``rate`` per day until dropout or ``bound``. Returns (customer, time, active_until).
    """
    active_until = np.minimum(bound, cal.h)
    has = np.flatnonzero(~np.isnan(first) & (first < bound))
    s0, sb, lam = cal.warp(first[has]), cal.warp(bound[has]), rate[has]
    expected = lam * (sb - s0)
    cap = np.minimum(np.ceil(expected + 6 * np.sqrt(expected) + 3).astype(np.int64), max_orders[has])
    total = np.minimum(rng.geometric(np.clip(dropout[has], 1e-4, 1.0)), cap)
    extra = total - 1
    owner = np.repeat(np.arange(len(has)), extra)
    gaps = rng.exponential(1.0, int(extra.sum())) / lam[owner]
    s = s0[owner] + _group_cumsum(gaps, extra)
    keep = s < sb[owner]
    kept = 1 + np.bincount(owner[keep], minlength=len(has))
    t_next = cal.unwarp(s[keep])
    last = first[has].copy()
    np.maximum.at(last, owner[keep], t_next)
    died = (total < cap) & (kept == total)
    active_until[has[died]] = last[died]
    customers = np.concatenate([has, has[owner[keep]]])
    times = np.concatenate([first[has], t_next])
    order = np.argsort(customers, kind="stable")
    return customers[order], times[order], active_until


def _targeted_lines(
    rng: np.random.Generator,
    items: _Items,
    cats: np.ndarray,
    target: np.ndarray,
    discount_p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line: of five popular items of the category, the one priced nearest the line's target value;
    quantity brings the line near the target. Returns (item, quantity, unit_price)."""
    candidates = items.sample(rng, cats, 5)
    gap = np.abs(items.log_price[candidates] - np.log(target).astype(np.float32)[:, None])
    item = np.take_along_axis(candidates, np.argmin(gap, axis=1)[:, None], axis=1)[:, 0]
    del candidates, gap
    list_price = items.price[item]
    discounted = rng.random(len(cats)) < discount_p
    unit_price = np.round(list_price * np.where(discounted, rng.uniform(0.6, 0.95, len(cats)), 1.0), 2)
    qty = np.clip(np.rint(target / list_price * rng.uniform(0.7, 1.3, len(cats))), 1, 6).astype(np.int64)
    qty = np.where(rng.random(len(cats)) < 0.6, np.minimum(qty, 1 + (rng.random(len(cats)) < 0.3)), qty)
    return item, qty, unit_price


def _order_lines(
    rng: np.random.Generator,
    items: _Items,
    cust: _Customers,
    customer: np.ndarray,
    order_value: np.ndarray,
    cat_probs: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lines for orders of the given customers with the given target values (kind category preferences,
    or ``cat_probs`` for all). Returns (n_lines per order, item, quantity, unit_price per line)."""
    kind = cust.kind[customer]
    n_lines = 1 + rng.binomial(4, _spec_array("extra_lines_p")[kind])
    line_cust = np.repeat(customer, n_lines)
    line_kind = cust.kind[line_cust]
    if cat_probs is None:
        cats = _group_choice(rng, line_kind, _spec_array("categories"))
        favourite = rng.random(len(cats)) < 0.35
        cats = np.where(favourite, cust.fav_category[line_cust], cats)
    else:
        cats = rng.choice(len(CATEGORIES), len(line_cust), p=np.asarray(cat_probs) / np.sum(cat_probs))
    target = np.repeat(order_value / n_lines, n_lines) * np.exp(0.3 * rng.standard_normal(len(cats)))
    item, qty, price = _targeted_lines(rng, items, cats, target, _spec_array("discount_p")[line_kind])
    return n_lines, item, qty, price


def _online_fields(
    rng: np.random.Generator, cust: _Customers, customer: np.ndarray, channel: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Payment method, device index and ip country of purchases on the given channels."""
    n = len(customer)
    kind = cust.kind[customer]
    payment = np.where(
        rng.random(n) < 0.7, cust.fav_payment[customer], _group_choice(rng, kind, _spec_array("payment"))
    )
    store = channel == 2
    payment = np.where(store & ((payment == 1) | (payment == 4)), 0, payment)
    primary = rng.random(n) < 0.7
    offset = np.where(primary, 0, rng.integers(0, 1 << 30, n) % cust.n_devices[customer])
    device = np.where(store, -1, cust.device_start[customer] + offset)
    travel = rng.random(n) < 0.05
    other = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE)
    ip = np.where(travel, other, cust.country[customer])
    ip = np.where(store, -1, ip)
    return payment, device, ip


def _foreign_country(rng: np.random.Generator, own: np.ndarray) -> np.ndarray:
    shift = rng.integers(1, len(COUNTRIES), len(own))
    return (own + shift) % len(COUNTRIES)


# ----------------------------------------------------------------------------------------------- main


@dataclass
class _IdMaps:
    """Public numbers of internal indices: customers by sign-up order, devices shuffled."""

    customer_number: np.ndarray
    customer_width: int
    customer_order: np.ndarray  # internal indices in customer-id order
    device_number: np.ndarray
    device_width: int
    item_ids: pa.Array


@dataclass
class _Layout:
    """Where the fraud accounts sit among the customers (they follow the legitimate ones)."""

    n_legit: int
    n_card: int
    n_ring_members: int
    n_abuse: int
    ring_of: np.ndarray  # ring number of each ring member
    n_device_slots: int  # devices of customers and rings (takeover devices come after)

    @property
    def card(self) -> np.ndarray:
        return self.n_legit + np.arange(self.n_card)

    @property
    def ring(self) -> np.ndarray:
        return self.n_legit + self.n_card + np.arange(self.n_ring_members)

    @property
    def abuse(self) -> np.ndarray:
        return self.n_legit + self.n_card + self.n_ring_members + np.arange(self.n_abuse)


def _make_customers(
    rng: np.random.Generator, cal: _Calendar, n: int, end_year: int
) -> tuple[_Customers, _Layout, dict[str, np.ndarray]]:
    """Customers (legitimate ones first, then fraud accounts), the fraud layout, and the inputs of the
    purchase process of the legitimate customers."""
    h = cal.h
    n_card = max(1, round(_CARD_TESTERS_PER_CUSTOMER * n))
    n_rings = max(1, round(_RINGS_PER_CUSTOMER * n))
    ring_size = rng.integers(5, 16, n_rings)
    n_abuse = max(1, round(_ABUSERS_PER_CUSTOMER * n))
    n_fraud = n_card + int(ring_size.sum()) + n_abuse
    n_legit = n - n_fraud
    kind = np.repeat(np.arange(len(KINDS)), _counts_by_share(n_legit, [k.share for k in _KIND_SPECS[:7]]))
    kind = np.concatenate([rng.permutation(kind), np.full(n_fraud, _FRAUD)])
    demo = _demographics(rng, kind, end_year)

    # Sign-up and first purchase of legitimate customers.
    k = kind[:n_legit]
    lo, hi = _spec_array("signup_days_ago")[k, 0], _spec_array("signup_days_ago")[k, 1]
    ago = lo + rng.random(n_legit) * (hi - lo)
    lapse_ago = np.minimum(rng.uniform(180, 365, n_legit), 0.75 * h)
    lapsed = k == _LAPSED
    ago = np.where(lapsed, lapse_ago + 150 + rng.random(n_legit) * (2200 - lapse_ago - 150), ago)
    signup = np.floor(h - ago) + _time_of_day(rng, n_legit)
    shape = _spec_array("rate_shape")[k]
    rate = _spec_array("orders_per_year")[k] / 365 * rng.gamma(shape, 1 / shape)
    drop_ab = np.array([spec.dropout for spec in _KIND_SPECS])[k]
    dropout = rng.beta(drop_ab[:, 0], drop_ab[:, 1])
    delay = np.where(rng.random(n_legit) < 0.6, rng.exponential(0.03, n_legit), rng.exponential(10, n_legit))
    # Customers who signed up before the window are mid-way through a memoryless process at its start.
    first = np.where(signup >= 0, signup + delay, cal.unwarp(rng.exponential(1.0, n_legit) / rate))
    first = np.where((k == _NEW) & (rng.random(n_legit) < 0.12), np.nan, first)
    shop = k == _WINDOW
    a = np.maximum(signup, 0)
    first = np.where(
        shop, np.where(rng.random(n_legit) < 0.55, a + rng.random(n_legit) * (h - a), np.nan), first
    )
    gift = np.flatnonzero(k == _GIFT)
    season = ((cal.month == 11) & (cal.day_of_month >= 15)) | ((cal.month == 12) & (cal.day_of_month <= 24))
    valentine = (cal.month == 2) & (cal.day_of_month >= 7) & (cal.day_of_month <= 14)
    gift_weight = 1 + 8 * season + 2 * valentine
    gift_cdf = np.cumsum(gift_weight) / gift_weight.sum()
    gift_day = np.minimum(np.searchsorted(gift_cdf, rng.random(len(gift)), side="right"), int(h) - 1)
    first[gift] = gift_day + _time_of_day(rng, len(gift))
    gift_signup = first[gift] - rng.exponential(0.3, len(gift))
    early = rng.random(len(gift)) < 0.3
    signup[gift] = np.where(early, gift_signup - rng.uniform(30, 700, len(gift)), gift_signup)
    bound = np.where(lapsed, h - lapse_ago, h)

    # Fraud accounts: card testers any time, ring members within weeks of their ring's start.
    ring_of = np.repeat(np.arange(n_rings), ring_size)
    ring_start = rng.uniform(0, h - 30, n_rings)
    f_signup = np.concatenate(
        [
            rng.uniform(0, h - 1, n_card),
            ring_start[ring_of] + rng.uniform(0, 20, len(ring_of)),
            rng.uniform(0, h - 20, n_abuse),
        ]
    )
    # Devices: 1-3 of their own per customer; ring members share their ring's device.
    n_devices = np.concatenate([1 + rng.choice(3, n_legit, p=[0.5, 0.35, 0.15]), np.ones(n_fraud, np.int64)])
    is_ring = np.zeros(n, dtype=bool)
    is_ring[n_legit + n_card : n_legit + n_card + len(ring_of)] = True
    device_start = np.empty(n, np.int64)
    own = n_devices[~is_ring]
    device_start[~is_ring] = np.cumsum(own) - own
    device_start[is_ring] = int(own.sum()) + ring_of
    layout = _Layout(n_legit, n_card, len(ring_of), n_abuse, ring_of, int(own.sum()) + n_rings)
    cust = _Customers(
        kind=kind,
        signup=np.concatenate([signup, f_signup]),
        country=demo["country"],
        birth_year=demo["birth_year"],
        birth_known=demo["birth_known"],
        gender=demo["gender"],
        gender_known=demo["gender_known"],
        acquisition=np.where(kind == _FRAUD, rng.choice(3, n), demo["acquisition"]),
        n_devices=n_devices,
        device_start=device_start,
        fav_channel=demo["fav_channel"],
        fav_payment=demo["fav_payment"],
        fav_category=demo["fav_category"],
        order_value=demo["order_value"],
        active_until=np.concatenate([np.full(n_legit, h), f_signup + 30]),
        bound=np.concatenate([bound, np.full(n_fraud, h)]),
    )
    process = {"first": first, "rate": rate, "dropout": dropout, "max_orders": np.where(shop, 2, 1 << 30)}
    return cust, layout, process


def _legit_orders(
    rng: np.random.Generator, cal: _Calendar, items: _Items, cust: _Customers, process: dict[str, np.ndarray]
) -> _Orders:
    """Purchases of legitimate customers (buy till you die), with their lines."""
    n_legit = len(process["first"])
    customer, t, active_until = _buy_till_you_die(
        rng,
        cal,
        process["first"],
        process["rate"],
        process["dropout"],
        cust.bound[:n_legit],
        process["max_orders"],
    )
    cust.active_until[:n_legit] = active_until
    kind = cust.kind[customer]
    n = len(customer)
    channel = np.where(
        rng.random(n) < 0.7, cust.fav_channel[customer], _group_choice(rng, kind, _spec_array("channel"))
    )
    t = _with_time_of_day(rng, t, cust.signup[customer], channel == 2)
    t = np.minimum(t, cust.bound[customer] - 1e-6)
    payment, device, ip = _online_fields(rng, cust, customer, channel)
    season = 1 + 0.2 * np.isin(cal.month[np.floor(t).astype(np.int64)], (11, 12))
    value = cust.order_value[customer] * season * np.exp(0.35 * rng.standard_normal(n) - 0.06)
    n_lines, item, qty, price = _order_lines(rng, items, cust, customer, value)
    return _Orders(customer, t, np.zeros(n, np.int8), channel, payment, device, ip, n_lines, item, qty, price)


def _fraud_orders(
    rng: np.random.Generator, cal: _Calendar, items: _Items, cust: _Customers, layout: _Layout, legit: _Orders
) -> tuple[list[_Orders], np.ndarray, np.ndarray]:
    """Fraudulent purchases of the four mechanisms. Returns (orders, takeover victims, takeover times)."""
    h = cal.h
    n = len(cust.kind)
    parts = []

    # Card testing: bursts of 5-20 small amounts within minutes, on a new account's device.
    burst = rng.integers(5, 21, layout.n_card)
    customer = np.repeat(layout.card, burst)
    m = len(customer)
    start = cust.signup[layout.card] + rng.exponential(0.05, layout.n_card)
    t = np.minimum(
        np.repeat(start, burst) + _group_cumsum(rng.exponential(0.5 * _MINUTE, m), burst), h - 1e-5
    )
    cheap = np.flatnonzero((items.price >= 1) & (items.price <= 5))
    if len(cheap) == 0:
        cheap = np.argsort(items.price)[:20]
    item = cheap[rng.integers(0, len(cheap), m)]
    own = cust.country[customer]
    ip = np.where(rng.random(m) < 0.5, own, _foreign_country(rng, own))
    one = np.ones(m, np.int64)
    parts.append(_Orders(customer, t, np.full(m, 1, np.int8), np.zeros(m, np.int64), np.zeros(m, np.int64),
                         cust.device_start[customer], ip, one, item, one, items.price[item]))  # fmt: skip

    # Account takeover: an established customer suddenly buys expensive items from a new device abroad.
    per_customer = np.bincount(legit.customer, minlength=n)
    first_t = np.full(n, np.inf)
    np.minimum.at(first_t, legit.customer, legit.t)
    eligible = np.flatnonzero((per_customer >= 3) & (first_t <= h - 150) & (cust.kind != _FRAUD))
    n_ato = min(len(eligible), max(1, round(_TAKEOVERS_PER_CUSTOMER * n)))
    victims = np.sort(rng.choice(eligible, n_ato, replace=False))
    lo = np.maximum(first_t[victims] + 120, 0)
    ato_t = lo + rng.random(n_ato) * (h - 0.5 - lo)
    count = rng.integers(1, 5, n_ato)
    customer = np.repeat(victims, count)
    m = len(customer)
    t = np.minimum(np.repeat(ato_t, count) + _group_cumsum(rng.exponential(0.04, m), count), h - 1e-5)
    n_lines = 1 + (rng.random(m) < 0.4).astype(np.int64)
    expensive = np.flatnonzero(items.price >= np.quantile(items.price, 0.85))
    item = expensive[rng.integers(0, len(expensive), int(n_lines.sum()))]
    device = layout.n_device_slots + np.repeat(np.arange(n_ato), count)
    ip = np.repeat(_foreign_country(rng, cust.country[victims]), count)
    parts.append(_Orders(customer, t, np.full(m, 2, np.int8), rng.choice(2, m, p=[0.7, 0.3]),
                         rng.choice(2, m, p=[0.6, 0.4]), device, ip, n_lines, item,
                         np.ones(len(item), np.int64), items.price[item]))  # fmt: skip

    # Device rings and chargeback abuse: new accounts with mid-to-high amounts.
    ring_country = rng.choice(len(COUNTRIES), int(layout.ring_of.max()) + 1, p=COUNTRY_SHARE)
    for mech, accounts, lo_n, hi_n, spread, median in (
        (3, layout.ring, 1, 4, 10.0, 300.0),
        (4, layout.abuse, 3, 9, 45.0, 150.0),
    ):
        count = rng.integers(lo_n, hi_n, len(accounts))
        customer = np.repeat(accounts, count)
        m = len(customer)
        t = np.minimum(cust.signup[customer] + rng.uniform(0.01, spread, m), h - 1e-5)
        own = cust.country[customer]
        if mech == 3:
            ring_ip = ring_country[np.repeat(layout.ring_of, count)]
            ip = np.where(rng.random(m) < 0.8, ring_ip, own)
        else:
            ip = own
        value = np.clip(median * np.exp(0.5 * rng.standard_normal(m)), 0.4 * median, 3 * median)
        n_lines, item, qty, price = _order_lines(
            rng, items, cust, customer, value, _KIND_SPECS[-1].categories
        )
        parts.append(_Orders(customer, t, np.full(m, mech, np.int8), rng.choice(2, m, p=[0.6, 0.4]),
                             rng.choice(3, m, p=[0.7, 0.2, 0.1]), cust.device_start[customer], ip, n_lines,
                             item, qty, price))  # fmt: skip
    return parts, victims, ato_t


def _transaction_tables(
    rng: np.random.Generator, cal: _Calendar, cust: _Customers, orders: _Orders, ids: _IdMaps
) -> tuple[dict[str, pa.Table], pa.Table]:
    """transactions (purchases, refunds, chargebacks), transaction_items and fraud_labels, and the
    transaction truth."""
    h = cal.h
    n_orders = len(orders.customer)
    line_order = np.repeat(np.arange(n_orders), orders.n_lines)
    line_start = np.cumsum(orders.n_lines) - orders.n_lines
    line_value = orders.line_qty * orders.line_price
    amount = np.round(np.bincount(line_order, weights=line_value, minlength=n_orders), 2)
    units = np.bincount(line_order, weights=orders.line_qty, minlength=n_orders).astype(np.int64)

    # Refunds (legitimate orders, rate by kind) and chargebacks (mostly fraud), dated after the purchase.
    is_fraud = orders.mechanism > 0
    refund_rate = _spec_array("refund_rate")[cust.kind[orders.customer]]
    refund_t = orders.t + rng.uniform(1, 30, n_orders)
    refund = ~is_fraud & (rng.random(n_orders) < refund_rate) & (refund_t < h)
    del refund_rate
    cb_rate = np.array([_FRIENDLY_CHARGEBACK, *(_FRAUD_CHARGEBACK[m] for m in MECHANISMS)])[orders.mechanism]
    cb_t = orders.t + rng.uniform(20, 60, n_orders)
    chargeback = ~refund & (rng.random(n_orders) < cb_rate) & (cb_t < h)
    del cb_rate
    partial = (orders.n_lines > 1) & (rng.random(n_orders) < 0.35)  # only the first line comes back
    r_src = np.flatnonzero(refund)
    c_src = np.flatnonzero(chargeback)
    first_line = np.round(line_value[line_start[r_src]], 2)
    r_amount = -np.where(partial[r_src], first_line, amount[r_src])
    r_qty = -np.where(partial[r_src], orders.line_qty[line_start[r_src]], units[r_src])
    src = np.concatenate([np.arange(n_orders), r_src, c_src])
    tx_t = np.concatenate([orders.t, refund_t[r_src], cb_t[c_src]])
    del refund_t, cb_t, refund, chargeback, partial, first_line, line_value
    status = np.concatenate(
        [np.zeros(n_orders, np.int8), np.ones(len(r_src), np.int8), np.full(len(c_src), 2, np.int8)]
    )
    tx_amount = np.concatenate([amount, r_amount, -amount[c_src]])
    tx_qty = np.concatenate([units, r_qty, -units[c_src]])
    del r_amount, r_qty, amount, units
    order = np.argsort(np.floor(tx_t * 86_400), kind="stable")  # transaction ids follow time
    tx_number = np.empty(len(src), np.int64)
    tx_number[order] = np.arange(1, len(src) + 1)
    width = _digits(len(src), 9)
    src_sorted = src[order]
    device = orders.device[src_sorted]
    ip = orders.ip_country[src_sorted]
    tx_ids = _ids("T", np.arange(1, len(src) + 1), width)
    customer_ids = _ids("C", ids.customer_number[orders.customer[src_sorted]], ids.customer_width)
    transactions = pa.table(
        {
            "transaction_id": tx_ids,
            "customer_id": customer_ids,
            "transacted_at": cal.timestamps(tx_t[order]),
            "amount": tx_amount[order],
            "quantity": tx_qty[order],
            "status": _labels(STATUSES, status[order]),
            "payment_method": _labels(PAYMENTS, orders.payment[src_sorted]),
            "device_id": _ids(
                "D", ids.device_number[np.maximum(device, 0)], ids.device_width, valid=device >= 0
            ),
            "ip_country": _labels(COUNTRIES, np.maximum(ip, 0), valid=ip >= 0),
            "channel": _labels(CHANNELS, orders.channel[src_sorted]),
        }
    )
    del device, ip, tx_amount, tx_qty, tx_t
    purchase = status[order] == 0
    mech = orders.mechanism[src_sorted]
    fraud_row = purchase & (mech > 0)
    truth = pa.table(
        {
            "transaction_id": tx_ids,
            "customer_id": customer_ids,
            "is_fraud": pa.array(fraud_row),
            "mechanism": _labels(MECHANISMS, np.maximum(mech.astype(np.int64) - 1, 0), valid=fraud_row),
            "original_transaction_id": _ids("T", tx_number[src_sorted], width, valid=~purchase),
        }
    )
    del purchase, mech, fraud_row, src_sorted, order, src, status

    line_tx = np.repeat(tx_number[:n_orders], orders.n_lines)
    line_sort = np.argsort(line_tx, kind="stable")
    items_table = pa.table(
        {
            "transaction_id": _ids("T", line_tx[line_sort], width),
            "item_id": ids.item_ids.take(pa.array(orders.line_item[line_sort])),
            "quantity": orders.line_qty[line_sort],
            "unit_price": orders.line_price[line_sort],
        }
    )
    del line_tx, line_sort, line_order

    # Labels: about half of the fraud older than 30 days, and four times as many legitimate purchases.
    old = np.flatnonzero(orders.t < h - 30)
    fraud_old = old[is_fraud[old]]
    labelled_fraud = fraud_old[rng.random(len(fraud_old)) < 0.5]
    legit_old = old[~is_fraud[old]]
    n_negative = min(len(legit_old), 4 * max(len(labelled_fraud), 1))
    labelled = np.concatenate([labelled_fraud, rng.choice(legit_old, n_negative, replace=False)])
    labelled = labelled[np.argsort(tx_number[labelled], kind="stable")]
    t = orders.t[labelled]
    labeled_at = t + 10 + rng.random(len(labelled)) * (np.minimum(60, h - t) - 10)
    labels = pa.table(
        {
            "transaction_id": _ids("T", tx_number[labelled], width),
            "is_fraud": pa.array(is_fraud[labelled]),
            "labeled_at": cal.timestamps(labeled_at),
        }
    )
    tables = {"transactions": transactions, "transaction_items": items_table, "fraud_labels": labels}
    return tables, truth


def _social_table(rng: np.random.Generator, cal: _Calendar, cust: _Customers, ids: _IdMaps) -> pa.Table:
    """Referral edges (to customers acquired by referral) and friend edges with homophily by kind."""
    h = cal.h
    n = len(cust.kind)
    legit = np.flatnonzero(cust.kind != _FRAUD)
    n_legit = len(legit)
    signup = cust.signup
    # Referrals: the referrer signed up earlier, and is often of the same kind.
    referred = legit[cust.acquisition[legit] == 4]
    rank_all = np.zeros(n, np.int64)
    legit_order = legit[np.argsort(signup[legit], kind="stable")]
    rank_all[legit_order] = np.arange(n_legit)
    referrer = legit_order[np.floor(rng.random(len(referred)) * rank_all[referred]).astype(np.int64)]
    same_kind = rng.random(len(referred)) < 0.6
    for k in range(len(KINDS)):
        members = np.flatnonzero(cust.kind == k)
        members = members[np.argsort(signup[members], kind="stable")]
        rank_k = np.zeros(n, np.int64)
        rank_k[members] = np.arange(len(members))
        rows = np.flatnonzero(same_kind & (cust.kind[referred] == k) & (rank_k[referred] > 0))
        referrer[rows] = members[np.floor(rng.random(len(rows)) * rank_k[referred[rows]]).astype(np.int64)]
    first_ever = rank_all[referred] == 0
    cust.acquisition[referred[first_ever]] = 0  # nobody could have referred the very first customer
    referred, referrer = referred[~first_ever], referrer[~first_ever]

    # Friends: mostly of the same kind; one edge per pair.
    n_friends = rng.poisson(_spec_array("friends")[cust.kind[legit]])
    src = np.repeat(legit, n_friends)
    dst = legit[rng.integers(0, n_legit, len(src))]
    same = rng.random(len(src)) < 0.7
    for k in range(len(KINDS)):
        members = np.flatnonzero(cust.kind == k)
        rows = np.flatnonzero(same & (cust.kind[src] == k))
        dst[rows] = members[rng.integers(0, len(members), len(rows))]
    pair = np.minimum(src, dst) * n + np.maximum(src, dst)
    keep = np.zeros(len(pair), dtype=bool)
    keep[np.unique(pair, return_index=True)[1]] = True
    keep &= src != dst
    src, dst = src[keep], dst[keep]
    since = np.maximum(signup[src], signup[dst])
    friend_t = since + rng.random(len(src)) * (h - since)

    e_src = np.concatenate([referrer, src])
    e_dst = np.concatenate([referred, dst])
    relation = np.concatenate([np.zeros(len(referred), np.int64), np.ones(len(src), np.int64)])
    created = np.concatenate([signup[referred], friend_t])
    order = np.lexsort((relation, ids.customer_number[e_dst], ids.customer_number[e_src]))
    return pa.table(
        {
            "customer_id": _ids("C", ids.customer_number[e_src[order]], ids.customer_width),
            "related_customer_id": _ids("C", ids.customer_number[e_dst[order]], ids.customer_width),
            "relation": _labels(RELATIONS, relation[order]),
            "created_at": cal.timestamps(created[order]),
        }
    )


def generate(
    n_customers: int = 5000,
    seed: int = 42,
    end_date: dt.date = DEFAULT_END_DATE,
    history_days: int = 730,
    n_items: int = N_ITEMS,
) -> DemoData:
    """Generate the demo data set: ``n_customers`` customers (fraud accounts included) whose activity
    covers the ``history_days`` days before ``end_date``, buying from a catalogue of ``n_items`` items.
    Deterministic in all five arguments."""
    if n_customers < 100:
        raise ValueError("n_customers must be at least 100")
    if history_days < 180:
        raise ValueError("history_days must be at least 180")
    if n_items < 100:
        raise ValueError("n_items must be at least 100")
    rng = np.random.default_rng(seed)
    cal = _Calendar(end_date, history_days)
    items = _make_items(rng, n_items)
    cust, layout, process = _make_customers(rng, cal, n_customers, end_date.year)
    legit = _legit_orders(rng, cal, items, cust, process)
    del process
    fraud, victims, ato_t = _fraud_orders(rng, cal, items, cust, layout, legit)
    orders = _concat_orders([legit, *fraud])
    del legit, fraud

    customer_order = np.argsort(cust.signup, kind="stable")
    customer_number = np.empty(n_customers, np.int64)
    customer_number[customer_order] = np.arange(1, n_customers + 1)
    n_device_slots = layout.n_device_slots + len(victims)
    ids = _IdMaps(
        customer_number=customer_number,
        customer_width=_digits(n_customers, 7),
        customer_order=customer_order,
        device_number=rng.permutation(n_device_slots) + 1,
        device_width=_digits(n_device_slots, 6),
        item_ids=_ids("I", np.arange(1, n_items + 1), _digits(n_items, 5)),
    )
    tables, tx_truth = _transaction_tables(rng, cal, cust, orders, ids)
    # Only what the events need stays.
    orders.payment = orders.device = orders.ip_country = orders.line_qty = orders.line_price = np.empty(0)
    tables["social_edges"] = _social_table(rng, cal, cust, ids)
    tables["events"] = _event_table(rng, cal, items, cust, orders, victims, ato_t, ids)
    del orders
    tables["items"] = pa.table(
        {
            "item_id": ids.item_ids,
            "category": _labels([c[0] for c in CATEGORIES], items.category),
            "brand": pa.array(items.brand, pa.string()),
            "price": items.price,
        }
    )
    co = customer_order
    tables["customers"] = pa.table(
        {
            "customer_id": _ids("C", np.arange(1, n_customers + 1), ids.customer_width),
            "signed_up_at": cal.timestamps(cust.signup[co]),
            "country": _labels(COUNTRIES, cust.country[co]),
            "birth_year": pa.array(cust.birth_year[co], mask=~cust.birth_known[co]),
            "gender": _labels(GENDERS, cust.gender[co], valid=cust.gender_known[co]),
            "acquisition_channel": _labels(ACQUISITION, cust.acquisition[co]),
        }
    )
    truth = {
        "customer_kinds": pa.table(
            {
                "customer_id": tables["customers"]["customer_id"].combine_chunks(),
                "kind": _labels((*KINDS, FRAUD_KIND), cust.kind[co]),
            }
        ),
        "transaction_fraud": tx_truth,
    }
    return DemoData(tables={name: tables[name] for name in RAW_TABLES}, truth=truth)


def _event_table(
    rng: np.random.Generator,
    cal: _Calendar,
    items: _Items,
    cust: _Customers,
    orders: _Orders,
    victims: np.ndarray,
    ato_t: np.ndarray,
    ids: _IdMaps,
) -> pa.Table:
    """Events: browsing sessions (rate by kind, fading after a customer stops), sessions just before
    tracked online purchases, and single events (logins and support tickets around account takeovers,
    a support ticket before lapsing, a login when a card-testing account starts)."""
    h = cal.h
    n = len(cust.kind)
    kind = cust.kind
    everyone = np.arange(n, dtype=np.int32)
    # Browsing sessions while active, and a trickle (15%) afterwards.
    rate = _spec_array("browse_sessions_per_year")[kind] / 365
    a = np.clip(cust.signup, 0, h)
    b = np.clip(cust.active_until, a, h)
    n_active = rng.poisson(rate * (b - a))
    n_after = rng.poisson(0.15 * rate * (h - b))
    b_cust = np.concatenate([np.repeat(everyone, n_active), np.repeat(everyone, n_after)])
    b_lo = np.concatenate([np.repeat(a, n_active), np.repeat(b, n_after)])
    b_hi = np.concatenate([np.repeat(b, n_active), np.full(int(n_after.sum()), h)])
    b_start = _with_time_of_day(rng, cal.warped_uniform(rng, b_lo, b_hi), cust.signup[b_cust])
    del b_lo, b_hi
    bk = kind[b_cust]
    nb = len(b_cust)
    b_counts = np.stack(
        [
            rng.random(nb) < _spec_array("login_p")[bk],
            rng.poisson(_spec_array("searches")[bk]),
            1 + rng.poisson(np.maximum(_spec_array("page_views")[bk] - 1, 0)),
            rng.poisson(_spec_array("add_to_cart")[bk]),
            rng.random(nb) < _spec_array("support_p")[bk],
        ],
        axis=1,
    ).astype(np.int32)
    del bk

    # Sessions before tracked online purchases (card testing runs without browsing).
    tracked = (
        (orders.channel != 2) & (orders.mechanism != 1) & (rng.random(len(orders.t)) < _TRACKED_SESSION_P)
    )
    p_idx = np.flatnonzero(tracked)
    del tracked
    pk = kind[orders.customer[p_idx]]
    npur = len(p_idx)
    p_counts = np.stack(
        [
            rng.random(npur) < np.where(pk == _FRAUD, 1.0, 0.3),
            rng.poisson(0.5 * _spec_array("searches")[pk]),
            1 + rng.poisson(0.3 * _spec_array("page_views")[pk]),
            1 + (rng.random(npur) < 0.3),
            np.zeros(npur, dtype=bool),
        ],
        axis=1,
    ).astype(np.int32)
    del pk

    # Single events.
    complain = rng.random(len(victims)) < 0.6
    lapsed = np.flatnonzero(kind == _LAPSED)
    ticket = lapsed[rng.random(len(lapsed)) < 0.4]
    card = np.unique(orders.customer[orders.mechanism == 1])
    s_cust = np.concatenate([victims, victims[complain], ticket, card]).astype(np.int32)
    s_t = np.concatenate(
        [
            ato_t - rng.uniform(2, 20, len(victims)) * _MINUTE,
            ato_t[complain] + rng.uniform(1, 7, int(complain.sum())),
            cust.bound[ticket] - rng.uniform(2, 40, len(ticket)),
            cust.signup[card] + rng.uniform(0.2, 2, len(card)) * _MINUTE,
        ]
    )
    s_type = np.concatenate([np.zeros(len(victims), np.int64), np.full(int(complain.sum()), 4),
                             np.full(len(ticket), 4), np.zeros(len(card), np.int64)])  # fmt: skip
    s_counts = np.zeros((len(s_cust), 5), np.int32)
    s_counts[np.arange(len(s_cust)), s_type] = 1

    sess_cust = np.concatenate([b_cust, orders.customer[p_idx].astype(np.int32), s_cust])
    counts = np.concatenate([b_counts, p_counts, s_counts])
    del b_counts, p_counts, s_counts, b_cust
    per_session = counts.sum(axis=1)
    n_sessions = len(sess_cust)
    ev_session = np.repeat(np.arange(n_sessions, dtype=np.int32), per_session)
    ev_type = np.repeat(np.tile(np.arange(5, dtype=np.int8), n_sessions), counts.ravel())
    del counts
    first_event = np.cumsum(per_session) - per_session
    gaps = rng.exponential(1.5 * _MINUTE, len(ev_session))
    offset = _group_cumsum(gaps, per_session)
    offset -= np.repeat(offset[first_event], per_session)  # the first event of a session is at its start
    del gaps
    duration = offset[first_event + per_session - 1]
    p_start = orders.t[p_idx] - duration[nb : nb + npur] - rng.exponential(2 * _MINUTE, npur)
    del duration
    start = np.maximum(np.concatenate([b_start, p_start, s_t]), cust.signup[sess_cust])
    del b_start, p_start
    ev_t = start[ev_session] + offset
    del offset
    keep = np.flatnonzero((ev_t >= 0) & (ev_t < h))
    ev_t, ev_session, ev_type = ev_t[keep], ev_session[keep], ev_type[keep]
    del keep
    ev_cust = sess_cust[ev_session]

    # Items for page views and add-to-cart: the purchased lines in purchase sessions, else by preference.
    ev_item = np.full(len(ev_t), -1, dtype=np.int32)
    rows = np.flatnonzero((ev_type == 2) | (ev_type == 3))
    purchase = ev_session[rows] - nb
    from_order = (purchase >= 0) & (purchase < npur) & (rng.random(len(rows)) < 0.6)
    po = p_idx[purchase[from_order]]
    del purchase
    line_start = np.cumsum(orders.n_lines) - orders.n_lines
    line = line_start[po] + np.floor(rng.random(len(po)) * orders.n_lines[po]).astype(np.int64)
    ev_item[rows[from_order]] = orders.line_item[line]
    del line_start, line, po
    rest = rows[~from_order]
    del rows, from_order
    rest_cust = ev_cust[rest]
    cats = _group_choice(rng, kind[rest_cust], _spec_array("categories"))
    cats = np.where(rng.random(len(rest)) < 0.4, cust.fav_category[rest_cust], cats)
    ev_item[rest] = items.sample(rng, cats, 1)[:, 0]
    del rest, rest_cust, cats

    # Session ids follow (customer id, start); events are sorted by customer id and time.
    sess_order = np.lexsort((start, ids.customer_number[sess_cust]))
    sess_number = np.empty(n_sessions, np.int64)
    sess_number[sess_order] = np.arange(1, n_sessions + 1)
    del sess_order, start
    ev_number = ids.customer_number[ev_cust]
    del ev_cust
    order = np.lexsort((ev_t, ev_number))
    ev_number = ev_number[order]
    customer_ids = _ids("C", ev_number, ids.customer_width)
    del ev_number
    ev_item = ev_item[order]
    return pa.table(
        {
            "customer_id": customer_ids,
            "occurred_at": cal.timestamps(ev_t[order]),
            "event_type": _labels(EVENT_TYPES, ev_type[order]),
            "session_id": _ids("S", sess_number[ev_session[order]], _digits(n_sessions, 9)),
            "item_id": ids.item_ids.take(pa.array(np.maximum(ev_item, 0), mask=ev_item < 0)),
        }
    )


# --------------------------------------------------------------------------------------------- writing


def _params(
    n_customers: int, seed: int, fmt: str, end_date: dt.date, history_days: int, n_items: int
) -> dict:
    return {
        "generator_version": GENERATOR_VERSION,
        "n_customers": int(n_customers),
        "seed": int(seed),
        "format": fmt,
        "end_date": end_date.isoformat(),
        "history_days": int(history_days),
        "n_items": int(n_items),
    }


def write(
    out_dir: str | Path,
    n_customers: int = 5000,
    seed: int = 42,
    fmt: str = "parquet",
    end_date: dt.date = DEFAULT_END_DATE,
    history_days: int = 730,
    force: bool = False,
    n_items: int = N_ITEMS,
) -> Path:
    """Write the raw tables as ``<out_dir>/<table>.<fmt>`` (``parquet`` or ``csv``), the truth as
    ``<out_dir>/_truth/*.parquet`` and ``<out_dir>/_manifest.json``; returns ``out_dir``. Does nothing when
    the manifest already records the same parameters and all files exist, unless ``force``."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out = Path(out_dir)
    manifest_path = out / "_manifest.json"
    params = _params(n_customers, seed, fmt, end_date, history_days, n_items)
    paths = [out / f"{t}.{fmt}" for t in RAW_TABLES] + [out / "_truth" / f"{t}.parquet" for t in TRUTH_TABLES]
    if not force and manifest_path.exists() and all(p.exists() for p in paths):
        try:
            if json.loads(manifest_path.read_text()).get("parameters") == params:
                return out
        except (json.JSONDecodeError, AttributeError):
            pass
    manifest_path.unlink(missing_ok=True)
    data = generate(
        n_customers=n_customers, seed=seed, end_date=end_date, history_days=history_days, n_items=n_items
    )
    data.save(out, fmt)
    manifest = {
        "parameters": params,
        "row_counts": {name: t.num_rows for name, t in data.tables.items()},
        "truth_row_counts": {name: t.num_rows for name, t in data.truth.items()},
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the demo data set and print where it went, with row counts."""
    parser = argparse.ArgumentParser(prog="python -m tools.demo_data", description=main.__doc__)
    parser.add_argument("--out", default="data/demo", help="output folder (default: data/demo)")
    parser.add_argument("--customers", type=int, default=5000, help="number of customers (default: 5000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="file format")
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=DEFAULT_END_DATE,
                        help="activity ends before this date (default: 2026-09-30)")  # fmt: skip
    parser.add_argument("--history-days", type=int, default=730, help="days of history (default: 730)")
    parser.add_argument("--items", type=int, default=N_ITEMS, help=f"catalogue size (default: {N_ITEMS})")
    parser.add_argument("--force", action="store_true", help="regenerate even if the manifest matches")
    args = parser.parse_args(argv)
    manifest_path = Path(args.out) / "_manifest.json"
    before = manifest_path.stat().st_mtime_ns if manifest_path.exists() else None
    out = write(
        args.out,
        n_customers=args.customers,
        seed=args.seed,
        fmt=args.format,
        end_date=args.end_date,
        history_days=args.history_days,
        force=args.force,
        n_items=args.items,
    )
    manifest = json.loads(manifest_path.read_text())
    state = "up to date, not regenerated" if manifest_path.stat().st_mtime_ns == before else "written"
    print(f"demo data in {out} ({args.format}, {args.customers} customers, seed {args.seed}): {state}")
    for name, rows in manifest["row_counts"].items():
        print(f"  {name:<18} {rows:>12,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

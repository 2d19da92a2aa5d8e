"""The fraud rules in plain words: velocity, a shared device, a new device with a foreign IP country,
earlier chargebacks and an amount spike, each graded 0-1 (0.5 at its threshold, rising to 1 at twice it)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from customer_ml.features.preprocessing import numeric_column
from customer_ml.fraud.config import RULES, FraudConfig
from customer_ml.fraud.inputs import text_column

__all__ = ["COUNT_TEXTS", "plural", "ramp", "rule_strengths"]

COUNT_TEXTS = {
    "customer_transactions_last_hour": "transaction{s} by this customer in the last hour",
    "customer_transactions_last_day": "transaction{s} by this customer in the last 24 hours",
    "customer_transactions_last_week": "transaction{s} by this customer in the last 7 days",
    "device_prior_chargebacks": "earlier chargeback{s} on this device (any customer)",
    "device_transactions_last_hour": "transaction{s} on this device in the last hour",
    "device_transactions_last_day": "transaction{s} on this device in the last 24 hours",
    "customer_prior_transactions": "earlier transaction{s} by this customer",
    "prior_purchases": "earlier purchase{s} by this customer",
    "prior_refunds": "earlier refund{s} by this customer",
    "prior_chargebacks": "earlier chargeback{s} by this customer",
}
"""How a risk count reads in words (`{s}`: the plural ending)."""


def ramp(x: np.ndarray, start: float) -> np.ndarray:
    """0 below `start`, 0.5 at it, rising linearly to 1 at twice it (NaN counts as 0)."""
    x = np.nan_to_num(x, nan=-np.inf)
    graded = np.clip(0.5 + 0.5 * (x - start) / max(start, 1e-9), 0.5, 1.0)
    return np.where(x >= start, graded, 0.0)


def plural(n: float, word: str) -> str:
    k = int(round(n))
    return f"{k} {word}" + ("" if k == 1 else "s")


def rule_strengths(
    table: pa.Table, cfg: FraudConfig, with_texts: bool = True
) -> tuple[np.ndarray, list[list[str | None]]]:
    """Rule strengths (n x len(RULES), 0-1) and the plain-words reason of each active rule (all None
    without `with_texts`: training needs the strengths only)."""
    n = table.num_rows
    strengths = np.zeros((n, len(RULES)))
    texts: list[list[str | None]] = [[None] * n for _ in RULES]

    velocity = [
        (name, threshold, COUNT_TEXTS[name])
        for name, threshold in (
            ("customer_transactions_last_hour", cfg.velocity_hour),
            ("device_transactions_last_hour", cfg.velocity_hour),
            ("customer_transactions_last_day", cfg.velocity_day),
            ("device_transactions_last_day", cfg.velocity_day),
        )
    ]
    values = np.column_stack([numeric_column(table, c) for c, _, _ in velocity])
    ramps = np.column_stack([ramp(values[:, j], t) for j, (_, t, _) in enumerate(velocity)])
    strengths[:, 0] = ramps.max(axis=1)
    which = ramps.argmax(axis=1)

    def active(j: int) -> np.ndarray:
        return np.flatnonzero(strengths[:, j] > 0) if with_texts else np.zeros(0, dtype=np.int64)

    for i in active(0):
        k = int(values[i, which[i]])
        texts[0][i] = f"{k} " + velocity[which[i]][2].format(s="" if k == 1 else "s")

    shared = numeric_column(table, "device_customers")
    strengths[:, 1] = ramp(shared, cfg.shared_device_customers)
    for i in active(1):
        texts[1][i] = f"{int(shared[i])} customers share this device"

    first = numeric_column(table, "is_first_device_use") == 1
    foreign = numeric_column(table, "is_foreign_ip") == 1
    strengths[:, 2] = (first & foreign).astype(float)
    foreign_rows = active(2)
    if len(foreign_rows):
        rows = table.take(pa.array(foreign_rows))  # the countries of these rows only, as text
        ip, home = text_column(rows, "ip_country"), text_column(rows, "customer_country")
        for k, i in enumerate(foreign_rows):
            where = ip[k] or "unknown"
            where += f" vs customer's {home[k]}" if home[k] else ""
            texts[2][i] = f"new device with a foreign IP country ({where})"

    chargebacks = numeric_column(table, "prior_chargebacks")
    strengths[:, 3] = ramp(chargebacks, 1)
    for i in active(3):
        texts[3][i] = plural(chargebacks[i], "earlier chargeback")

    z = numeric_column(table, "amount_zscore")
    strengths[:, 4] = ramp(z, cfg.amount_zscore)
    for i in active(4):
        texts[4][i] = f"amount {z[i]:.1f} standard deviations above the customer's usual"
    return strengths, texts

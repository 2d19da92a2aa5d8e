"""Raw folders holding the histories real data has and a generator rarely makes.

Each function writes a folder laid out as the data contract says. The odd customers are appended to a
small generated population, so the models still have a crowd to learn from, or stand alone where the
oddity is the size of the data itself.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tools import demo_data

TRANSACTION_COLUMNS = ["transaction_id", "customer_id", "transacted_at", "amount", "status"]
LINE_COLUMNS = ["transaction_id", "item_id", "quantity", "unit_price"]

# (customer_id, [(transaction_id, transacted_at, amount, status)], what the history is)
ODD_CUSTOMERS: list[tuple[str, list[tuple[str, str, str, str]], str]] = [
    (
        "odd-refunds-exceed-orders",
        [
            ("odd-1a", "2025-06-01 10:00:00", "7.99", "completed"),
            ("odd-1b", "2025-06-03 10:00:00", "-7.99", "refunded"),
            ("odd-1c", "2025-06-20 10:00:00", "-7.99", "chargeback"),
        ],
        "one order and two refunds of it (a refund plus a chargeback)",
    ),
    (
        "odd-refund-only",
        [("odd-2a", "2025-05-02 09:00:00", "-20.00", "refunded")],
        "a refund of an order dated before the data starts, and nothing else",
    ),
    (
        "odd-chargeback-only",
        [("odd-3a", "2025-04-11 09:00:00", "-55.10", "chargeback")],
        "a chargeback and nothing else",
    ),
    (
        "odd-negative-net",
        [
            ("odd-4a", "2025-03-01 12:00:00", "10.00", "completed"),
            ("odd-4b", "2025-03-05 12:00:00", "-50.00", "refunded"),
        ],
        "net revenue below zero",
    ),
    (
        "odd-one-day",
        [(f"odd-5{letter}", "2025-07-07 08:30:00", "12.50", "completed") for letter in "abcde"],
        "five orders at the same moment",
    ),
    (
        "odd-huge-amount",
        [
            ("odd-6a", "2025-02-02 02:02:02", "999999999999.99", "completed"),
            ("odd-6b", "2025-05-02 02:02:02", "1000000000000.00", "completed"),
        ],
        "amounts of 1e12",
    ),
    (
        "клиент-№1",
        [
            ("odd-7a", "2025-01-15 10:00:00", "30.00", "completed"),
            ("odd-7b", "2025-04-15 10:00:00", "31.00", "completed"),
        ],
        "an id in Cyrillic",
    ),
    ("顧客二", [("odd-8a", "2025-03-03 10:00:00", "44.00", "completed")], "an id in CJK script"),
    ("عميل-٣", [("odd-9a", "2025-03-04 10:00:00", "45.00", "completed")], "an id in Arabic script"),
    (
        "odd-time-zones",
        [
            ("odd-10a", "2025-03-01T23:30:00+02:00", "20.00", "completed"),
            ("odd-10b", "2025-03-09T01:30:00Z", "21.00", "completed"),
            ("odd-10c", "2025-05-09 18:00:00-05:00", "22.00", "completed"),
        ],
        "timestamps with time-zone offsets",
    ),
    (
        "odd-before-1970",
        [
            ("odd-11a", "1965-05-01 00:00:00", "5.00", "completed"),
            ("odd-11b", "2025-05-01 00:00:00", "6.00", "completed"),
        ],
        "a first order before 1970",
    ),
]


def _append_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    with open(path, "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore", restval="")
        writer.writerows(rows)


def write_odd_histories(out: Path, n_customers: int = 500, seed: int = 17) -> Path:
    """A generated population with every table, plus the odd customers, an item without a category,
    an order line of an item the catalogue does not know, and empty optional tables."""
    demo_data.write(out, n_customers=n_customers, seed=seed, fmt="csv")
    rows = [
        dict(zip(TRANSACTION_COLUMNS, (tid, customer, at, amount, status), strict=True))
        for customer, history, _why in ODD_CUSTOMERS
        for tid, at, amount, status in history
    ]
    _append_rows(out / "transactions.csv", rows)
    _append_rows(
        out / "transaction_items.csv",
        [
            dict(zip(LINE_COLUMNS, ("odd-7a", "item-without-category", "1", "30"), strict=True)),
            dict(zip(LINE_COLUMNS, ("odd-7b", "item-not-in-catalogue", "2", "15.5"), strict=True)),
        ],
    )
    _append_rows(out / "items.csv", [{"item_id": "item-without-category", "category": "", "price": "30"}])
    # Optional tables present but empty (a header and no rows).
    for table in ("social_edges", "fraud_labels"):
        path = out / f"{table}.csv"
        with open(path, encoding="utf-8") as handle:
            header = handle.readline()
        path.write_text(header, encoding="utf-8")
    return out


def write_transactions(out: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """Only transactions.csv with (transaction_id, customer_id, transacted_at, amount) rows."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "transactions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transaction_id", "customer_id", "transacted_at", "amount"])
        writer.writerows(rows)
    return out

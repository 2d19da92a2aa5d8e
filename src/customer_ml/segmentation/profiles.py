"""What the marts show people: plain-language segment profiles and names, and a 2-D map for plots."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from customer_ml.features.preprocessing import numeric_column
from customer_ml.nn.device import cpu_threads
from customer_ml.segmentation.model import MIN_ROWS_TO_SEGMENT, TSNE_ITERATIONS, map_2d

# Words for a segment that stands out on a feature: (when higher than average, when lower). Features not
# listed fall back to "high <label>" / "low <label>".
ADJECTIVES: dict[str, tuple[str | None, str | None]] = {
    "recency_days": ("Lapsed", "Recent"),
    "frequency": ("Frequent", "Occasional"),
    "purchase_days": ("Frequent", "Occasional"),
    "monetary": ("High-spending", "Low-spending"),
    "gross_revenue": ("High-spending", "Low-spending"),
    "net_revenue": ("High-spending", "Low-spending"),
    "average_order_value": ("Big-basket", "Small-basket"),
    "units_per_order": ("Bulk-buying", "Single-item"),
    "tenure_days": ("Long-standing", "New"),
    # The same words as tenure_days: a name says "New" once, not "New, newly registered".
    "signup_tenure_days": ("Long-standing", "New"),
    "interpurchase_days_mean": ("Infrequent", "Regular"),
    "interpurchase_days_std": ("Irregular", "Steady"),
    "spend_last_90_days": ("Currently spending", "Currently idle"),
    "spend_previous_90_days": ("Recently active", "Recently idle"),
    "store_order_share": ("In-store", "Online"),
    "app_order_share": ("App-first", None),
    "web_order_share": ("Web-first", None),
    "distinct_devices": ("Multi-device", None),
    "searches": ("Searching", None),
    "page_views": ("Browsing", "Quiet"),
    "sessions": ("Browsing", "Quiet"),
    "active_days": ("Active", "Quiet"),
    "events": ("Highly active", "Quiet"),
    "logins": ("Logged-in", None),
    "view_to_cart_rate": ("Cart-happy", None),
    "cart_to_purchase_rate": ("Decisive", "Hesitant"),
    "refund_rate": ("Returns-prone", None),
    "returned_amount_share": ("Returns-prone", None),
    "chargeback_rate": ("Chargeback-prone", None),
    "referrals_made": ("Referring", None),
    "referred_customers_revenue": ("Referring", None),
    # Counts read "few", not "low": a segment without links is "Unconnected" (once, for both features).
    "friends": ("Well-connected", "Unconnected"),
    "degree": ("Well-connected", "Unconnected"),
    "spend_trend": ("Growing", "Declining"),
    "activity_trend": ("Warming", "Cooling"),
    "days_since_last_event": ("Inactive", "Active"),
    "support_tickets": ("Support-heavy", None),
    "category_entropy": ("Wide-ranging", "Focused"),
    "distinct_categories": ("Wide-ranging", "Focused"),
    "lines_per_order": ("Multi-item", "One-item"),
    "discounted_line_share": ("Discount-seeking", "Full-price"),
    "average_discount": ("Discount-seeking", "Full-price"),
    "age_years": ("Older", "Younger"),
}
MAX_PER_GROUP = 2
N_DESCRIBED = 3
MIN_APPLIES_TO_NAME = 0.5
"""A feature known for fewer than this share of a segment's customers (days between orders for one-time
buyers) cannot name the segment; its description says what share it applies to."""
LAPSED_GAP = 0.5
"""A segment whose days since the last order stand this many standard deviations above the population's
(on log1p; half a standard deviation, a medium effect) is called "Lapsed" after its most distinguishing
trait, unless its name already says where it stands in the customer lifecycle: what a marketer does
with a segment depends first on whether it still buys (lapsed one-category buyers read "Focused,
occasional" before)."""
LIFECYCLE_WORDS = {
    "lapsed",
    "recent",
    "new",
    "currently idle",
    "currently spending",
    "recently active",
    "recently idle",
    "inactive",
}


def _fmt(value: float, share: bool) -> str:
    if share:
        return f"{100 * value:.0f}%"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _phrase(label: str, segment: float, overall: float, share: bool) -> str:
    """One distinguishing feature in words, with numbers."""
    if not share and overall > 0 and segment > 0:
        ratio = segment / overall
        numbers = f"{_fmt(segment, share)} against {_fmt(overall, share)}"
        if ratio >= 1.5:
            return f"{label} {ratio:.1f} times the average ({numbers})"
        if ratio <= 0.1:
            return f"almost no {label} ({numbers})"
        if ratio <= 1 / 1.5:
            return f"{label} {1 / ratio:.1f} times below average ({numbers})"
    return f"{label} {_fmt(segment, share)} against {_fmt(overall, share)} overall"


def describe_segments(table: pa.Table, catalog: pa.Table, segment_column: str = "segment_id") -> pa.Table:
    """Per segment: what sets it apart from the whole population, in words with numbers, and a short name.

    Numeric catalog features are ranked by the standardised gap between the segment's mean and the
    population's (on log1p for skewed `log` features, so one big spender does not dominate); at most two
    per feature group are kept, so a segment is not described three times by the same thing. A feature
    applies to a customer when it is known for them (days between orders needs two order days): one that
    applies to fewer than `MIN_APPLIES_TO_NAME` of a segment's customers never names it, and wherever a
    described feature applies to fewer than all of them the description says to what share.
    """
    rows = [r for r in catalog.to_pylist() if r.get("entity", "customer") == "customer"]
    segments = table.column(segment_column).to_numpy()
    ids = np.unique(segments)
    gaps: dict[int, list[tuple[float, dict[str, Any], float, float, float]]] = {int(s): [] for s in ids}
    # Customers grouped by segment, in their order within each (a stable sort): each segment's values are
    # then one slice, the same values in the same order as a mask over everyone picks, so the same means
    # bit for bit, without a mask over every customer for each feature and segment (the segments and broad
    # segments of 913,107 customers: 6.1-6.2 CPU s before, 2.8-2.9 after).
    by_segment = np.argsort(segments, kind="stable")
    ends = np.searchsorted(segments[by_segment], ids, side="right")
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64) if len(ends) else ends
    slices = [(int(s), slice(int(a), int(b))) for s, a, b in zip(ids, starts, ends, strict=True)]
    for row in rows:
        name = row["feature_name"]
        if row["transform"] == "onehot" or name not in table.column_names or name == "gender":
            continue
        try:
            values = numeric_column(table, name)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        present = ~np.isnan(values)
        if present.sum() < 2:
            continue
        ranked = np.log1p(np.clip(values, 0, None)) if row["transform"] == "log" else values
        spread = float(np.nanstd(ranked[present]))
        if spread == 0:
            continue
        overall = float(np.nanmean(values))
        centre = float(np.nanmean(ranked))
        grouped_ranked, grouped_values, grouped_present = (
            ranked[by_segment],
            values[by_segment],
            present[by_segment],
        )
        for s, members in slices:
            mask = grouped_present[members]
            if not mask.any():
                continue
            gap = (float(np.mean(grouped_ranked[members][mask])) - centre) / spread
            applies = float(mask.sum() / mask.size)
            gaps[s].append((gap, row, float(np.mean(grouped_values[members][mask])), overall, applies))
    names: dict[int, str] = {}
    descriptions: dict[int, str] = {}
    top_features: dict[int, str] = {}
    if len(ids) == 1:
        # One segment holds everyone (too few customers to learn segments from): nothing sets it apart.
        only = int(ids[0])
        names[only] = "All customers"
        descriptions[only] = (
            f"All {len(segments)} customers in one segment: too few to learn segments from "
            f"(segments are learned from {MIN_ROWS_TO_SEGMENT} customers or more)"
            if len(segments) < MIN_ROWS_TO_SEGMENT
            else f"All {len(segments)} customers in one segment: the applied model puts every one of them "
            "in the same segment"
        )
        top_features[only] = ""
        gaps = {only: []}
    phrases: dict[int, list[str]] = {}
    described: dict[int, list[str]] = {}
    for s in sorted(gaps) if len(ids) > 1 else []:
        chosen: list[tuple[float, dict[str, Any], float, float, float]] = []
        per_group: dict[str, int] = {}
        for item in sorted(gaps[s], key=lambda g: (-abs(g[0]), g[1]["feature_name"])):
            group = item[1]["feature_group"]
            if per_group.get(group, 0) >= MAX_PER_GROUP:
                continue
            per_group[group] = per_group.get(group, 0) + 1
            chosen.append(item)
        phrases[s] = [
            _phrase(row["label"], seg, overall, row["transform"] == "passthrough") + _applies(applies)
            for _gap, row, seg, overall, applies in chosen
        ]
        described[s] = [row["feature_name"] for _gap, row, *_rest in chosen]
        nameable = [item for item in chosen if item[4] >= MIN_APPLIES_TO_NAME]
        recency = [item for item in gaps[s] if item[1]["feature_name"] == "recency_days"]
        lapsed = bool(recency) and recency[0][0] >= LAPSED_GAP and recency[0][4] >= MIN_APPLIES_TO_NAME
        names[s] = _name(nameable, set(names.values()), lifecycle="Lapsed" if lapsed else None)
    texts, shown = _unique_descriptions(phrases)
    descriptions.update(texts)
    top_features.update({s: ", ".join(described[s][: shown[s]]) for s in described})
    counts = {int(s): int(c) for s, c in zip(*np.unique(segments, return_counts=True), strict=True)}
    return pa.table(
        {
            segment_column: pa.array(sorted(gaps), pa.int64()),
            "segment_name": pa.array([names[s] for s in sorted(gaps)], pa.string()),
            "description": pa.array([descriptions[s] for s in sorted(gaps)], pa.string()),
            "distinguishing_features": pa.array([top_features[s] for s in sorted(gaps)], pa.string()),
            "customers": pa.array([counts[s] for s in sorted(gaps)], pa.int64()),
        }
    )


def describe_two_levels(table: pa.Table, catalog: pa.Table) -> pa.Table:
    """`describe_segments` of the segments, plus each segment's broad segment (`broad_segment_id`, when the
    table has it) with the broad segment's own name: a handful of broad segments for dashboards, the
    segments beneath them for targeting."""
    fine = describe_segments(table, catalog)
    if "broad_segment_id" not in table.column_names:
        return fine
    seg = table.column("segment_id").to_numpy()
    broad = table.column("broad_segment_id").to_numpy()
    parent = {int(s): int(b) for s, b in zip(seg, broad, strict=True)}
    coarse = describe_segments(table, catalog, segment_column="broad_segment_id")
    coarse_ids = coarse.column("broad_segment_id").to_pylist()
    coarse_names = dict(zip(coarse_ids, coarse.column("segment_name").to_pylist(), strict=True))
    broad_ids = [parent[s] for s in fine.column("segment_id").to_pylist()]
    return fine.append_column("broad_segment_id", pa.array(broad_ids, pa.int64())).append_column(
        "broad_segment_name", pa.array([coarse_names[b] for b in broad_ids], pa.string())
    )


def _unique_descriptions(phrases: dict[int, list[str]]) -> tuple[dict[int, str], dict[int, int]]:
    """Each segment's first `N_DESCRIBED` phrases, joined, and how many it shows; segments whose texts would
    read the same (two segments of single-channel customers, say, whose top gaps are the same shares) get
    their next distinguishing features until they differ, and, when they run out, their segment id."""
    shown = {s: min(N_DESCRIBED, len(p)) for s, p in phrases.items()}
    while True:
        texts = {s: "; ".join(phrases[s][: shown[s]]) for s in phrases}
        by_text: dict[str, list[int]] = {}
        for s, text in texts.items():
            by_text.setdefault(text, []).append(s)
        shared = [group for group in by_text.values() if len(group) > 1]
        longer = [s for group in shared for s in group if shown[s] < len(phrases[s])]
        if not longer:
            break
        for s in longer:
            shown[s] += 1
    for group in shared:
        for s in group:
            texts[s] = f"{texts[s]} (segment {s})" if texts[s] else f"segment {s}"
    return texts, shown


def _applies(share: float) -> str:
    """ " (applies to 12% of the segment)" where a feature is unknown for some of its customers."""
    if share >= 0.995:
        return ""
    return f" (applies to {100 * share:.0f}% of the segment)"


def _word(gap: float, row: dict[str, Any]) -> str:
    high, low = ADJECTIVES.get(row["feature_name"], (None, None))
    if row["feature_name"].startswith("category_share_") and gap > 0:
        return row["label"].removeprefix("share of spend on ").capitalize() + " buyers,"
    word = high if gap > 0 else low
    return word or f"{'High' if gap > 0 else 'Low'} {row['label']},"


def _name(
    chosen: list[tuple[float, dict[str, Any], float, float, float]],
    taken: set[str],
    lifecycle: str | None = None,
) -> str:
    """A short name from the two most distinguishing features; a third is added until it is unique. With
    `lifecycle` (a word such as "Lapsed"), the most distinguishing feature is followed by it, unless the
    first two words already say where the segment stands in the lifecycle."""
    described = [_word(gap, row).rstrip(",") for gap, row, *_rest in chosen]
    if lifecycle and not any(word.lower() in LIFECYCLE_WORDS for word in described[:2]):
        described.insert(1, lifecycle)
    words: list[str] = []
    for word in described:
        if word.lower() not in (w.lower() for w in words):
            words.append(word)
        name = ", ".join(words[:1] + [w[0].lower() + w[1:] for w in words[1:]])
        if len(words) >= 2 and name not in taken:
            return name
    base = ", ".join(words) or "Segment"
    suffix = 2
    while f"{base} ({suffix})" in taken:
        suffix += 1
    return base if base not in taken else f"{base} ({suffix})"


def map_2d_table(
    assignments: pa.Table,
    tsne_sample_size: int = 3000,
    seed: int = 42,
    tsne_iterations: int = TSNE_ITERATIONS,
) -> pa.Table:
    """customer_id, segment_id, PCA coordinates for everyone and t-SNE coordinates for a seeded sample."""
    columns = [c for c in assignments.column_names if c.startswith("embedding_")]
    columns.sort(key=lambda c: int(c.removeprefix("embedding_")))
    embeddings = np.column_stack([numeric_column(assignments, c) for c in columns])
    pca_x, pca_y = map_2d(embeddings, "pca", sample_size=None, seed=seed)
    tsne_x = np.full(len(embeddings), math.nan)
    tsne_y = np.full(len(embeddings), math.nan)
    if len(embeddings) >= 10:
        # One thread: t-SNE's OpenMP threads spin-wait while dbt runs another model on the other core
        # (46.6 s against 1.0 s for 275 points on a busy 2-core machine).
        with cpu_threads(1):
            x, y, idx = map_2d(
                embeddings,
                "tsne",
                sample_size=tsne_sample_size,
                seed=seed,
                return_index=True,
                tsne_iterations=tsne_iterations,
            )
        tsne_x[idx], tsne_y[idx] = x, y
    in_sample = ~np.isnan(tsne_x)
    return pa.table(
        {
            "customer_id": assignments.column("customer_id"),
            "segment_id": assignments.column("segment_id"),
            "pca_x": pa.array(pca_x),
            "pca_y": pa.array(pca_y),
            "tsne_x": pa.array(tsne_x, mask=~in_sample),
            "tsne_y": pa.array(tsne_y, mask=~in_sample),
            "is_in_tsne_sample": pa.array(in_sample),
        }
    )

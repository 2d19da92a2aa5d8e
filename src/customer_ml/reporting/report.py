"""The segmentation report: one self-contained HTML file drawn from the marts of a built warehouse.

    python -m customer_ml.reporting.report --db segmentation.duckdb --out target/segmentation_report.html

Reads schema `marts` only, so the warehouse and the serving file both work. The charts are plotly
figures; plotly's JavaScript is embedded in the page, so it opens offline and fetches nothing. Every
chart is a `<div class="chart">` that gets `data-drawn="true"` once Plotly has drawn it (what the
browser test waits for); the page's `<body data-charts="N">` says how many there are.
"""

from __future__ import annotations

import argparse
import html
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import plotly.graph_objects as go
import plotly.io
import plotly.offline
from plotly.colors import qualitative

# The marts the report reads. Without customer_segments there is nothing to show; any other missing
# mart (an older warehouse, a partial build) leaves its section with a note saying what is missing.
REQUIRED_MART = "customer_segments"
MARTS = (
    "customer_segments",
    "segment_profiles",
    "customer_map_points",
    "segment_sizes",
    "segment_transitions",
    "fraud_transaction_scores",
    "model_evaluation",
)
# Most points drawn on the segment map (a deterministic sample beyond it keeps the page light).
MAP_POINTS = 5000
# Flows drawn in the Sankey diagram (the largest), and moves listed in the table.
SANKEY_FLOWS = 40
TOP_TRANSITIONS = 15
PALETTE = qualitative.Plotly + qualitative.D3 + qualitative.Set2
PROFILE_COLUMNS = (
    ("recency_days", "days since last order"),
    ("frequency", "orders"),
    ("monetary", "net revenue"),
    ("tenure_days", "tenure (days)"),
    ("churn_risk", "churn risk"),
    ("predicted_ltv", "predicted value"),
    ("p_alive", "P(alive)"),
    ("anomaly_score", "anomaly score"),
)
RECOMMENDATION_METRICS = (
    "item_hit_rate_at_3",
    "item_hit_rate_at_10",
    "item_ndcg_at_10",
    "category_hit_rate_at_3",
    "new_category_hit_rate_at_3",
)


class ReportError(Exception):
    """The report cannot be written (no such warehouse, no segments in it); the message says why."""


@dataclass
class Section:
    title: str
    intro: str
    figures: list[go.Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    table_html: str = ""

    def lacks(self, mart: str, present: set[str]) -> bool:
        """True, with a note saying so, when the warehouse has no table for `mart`."""
        if mart in present:
            return False
        self.notes.append(_missing_note(mart))
        return True


def _rows(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
    return con.execute(sql, list(parameters)).fetchall()


def _present_marts(con: duckdb.DuckDBPyConnection) -> set[str]:
    found = _rows(
        con,
        "select table_name from information_schema.tables where table_schema = 'marts'",
    )
    return {name for (name,) in found}


def _missing_note(mart: str) -> str:
    return (
        f"marts.{mart} is not in this warehouse (built before it existed, or a partial build): "
        "run `dbt build` with the current project to add it."
    )


def _rgba(colour: str, alpha: float) -> str:
    """'#rrggbb' as an rgba() string with the given opacity."""
    red, green, blue = (int(colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def _layout(fig: go.Figure, title: str, height: int = 480) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        template="plotly_white",
        legend={"itemsizing": "constant"},
    )
    return fig


class _Colours:
    """One colour per segment id, the same in every chart."""

    def __init__(self, segment_ids: Sequence[int]) -> None:
        self._by_id = {sid: PALETTE[i % len(PALETTE)] for i, sid in enumerate(sorted(segment_ids))}

    def __call__(self, segment_id: int | None) -> str:
        return self._by_id.get(segment_id, "#999999")


def _summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    (customers, segments, as_of, scored_at, version) = _rows(
        con,
        """
        select count(*), count(distinct segment_id), max(as_of_date), max(scored_at), max(model_version)
        from marts.customer_segments
        """,
    )[0]
    if not customers:
        raise ReportError("marts.customer_segments has no rows: nothing to report on")
    return {
        "customers": customers,
        "segments": segments,
        "as_of_date": as_of,
        "scored_at": scored_at,
        "model_version": version,
    }


def _segment_ids(con: duckdb.DuckDBPyConnection, present: set[str]) -> list[int]:
    """Every segment id of the current build and of the history, so each keeps one colour throughout."""
    ids = {sid for (sid,) in _rows(con, "select distinct segment_id from marts.customer_segments")}
    if "segment_sizes" in present:
        ids |= {sid for (sid,) in _rows(con, "select distinct segment_id from marts.segment_sizes")}
    return sorted(sid for sid in ids if sid is not None)


def map_section(con: duckdb.DuckDBPyConnection, present: set[str], colours: _Colours) -> Section:
    section = Section(
        "Customer map",
        "Each point is a customer, placed by the segmentation model's embedding and coloured by segment: "
        "close points behave alike.",
    )
    if section.lacks("customer_map_points", present):
        return section
    in_sample = _rows(con, "select count(*) from marts.customer_map_points where is_in_tsne_sample")[0][0]
    if in_sample:
        x, y, where, how = "tsne_x", "tsne_y", "where is_in_tsne_sample", "t-SNE of a seeded sample"
    else:
        x, y, where, how = "pca_x", "pca_y", "", "first two principal components"
    points = _rows(
        con,
        f"""
        select customer_id, segment_id, segment_name, {x}, {y}, churn_risk, predicted_ltv
        from marts.customer_map_points {where}
        order by hash(customer_id), customer_id
        limit {MAP_POINTS}
        """,
    )
    fig = go.Figure()
    for segment_id in sorted({row[1] for row in points}):
        rows = [row for row in points if row[1] == segment_id]
        fig.add_trace(
            go.Scatter(
                x=[row[3] for row in rows],
                y=[row[4] for row in rows],
                mode="markers",
                name=f"{rows[0][2]} ({len(rows)})",
                marker={"size": 5, "opacity": 0.7, "color": colours(segment_id)},
                text=[
                    f"{row[0]}<br>churn risk {row[5]:.2f}<br>predicted value {row[6]:,.0f}" for row in rows
                ],
                hoverinfo="text+name",
            )
        )
    section.figures.append(_layout(fig, f"Customers by segment ({how}, {len(points):,} customers)", 560))
    return section


def profile_section(con: duckdb.DuckDBPyConnection, present: set[str]) -> Section:
    section = Section(
        "Segment profiles",
        "How each segment differs from all customers: colour is the segment's mean in standard deviations "
        "from the overall mean; the number is the segment's mean.",
    )
    means = ", ".join(f"avg({column}::double)" for column, _ in PROFILE_COLUMNS)
    stats = ", ".join(f"avg({c}::double), stddev_pop({c}::double)" for c, _ in PROFILE_COLUMNS)
    overall = _rows(con, f"select {stats} from marts.customer_segments")[0]
    per_segment = _rows(
        con,
        f"""
        select segment_id, any_value(segment_name), count(*), {means}
        from marts.customer_segments group by segment_id order by count(*) desc, segment_id
        """,
    )
    z, text = [], []
    for row in per_segment:
        values = row[3:]
        z_row, text_row = [], []
        for i, value in enumerate(values):
            mean, std = overall[2 * i], overall[2 * i + 1]
            z_row.append(None if value is None or not std else (value - mean) / std)
            text_row.append("" if value is None else f"{value:,.2f}")
        z.append(z_row)
        text.append(text_row)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[label for _, label in PROFILE_COLUMNS],
            y=[f"{row[1]} ({row[2]:,})" for row in per_segment],
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu",
            reversescale=True,
            zmid=0,
            colorbar={"title": {"text": "std from mean"}},
        )
    )
    fig.update_yaxes(autorange="reversed")
    section.figures.append(_layout(fig, "Segment means against all customers", 140 + 45 * len(per_segment)))
    if not section.lacks("segment_profiles", present):
        described = _rows(
            con,
            "select segment_name, customers, description from marts.segment_profiles order by customers desc",
        )
        section.table_html = _table(["segment", "customers", "what sets it apart"], described)
    return section


def rfm_section(con: duckdb.DuckDBPyConnection) -> Section:
    section = Section(
        "RFM grid",
        "Customers by recency score (5 = most recent) and frequency score (5 = most orders), from the "
        "rule-based RFM segmentation; the number is the customers in the cell and their mean net revenue.",
    )
    cells = _rows(
        con,
        """
        select
            try_cast(substr(rfm_code, 1, 1) as integer) as r,
            try_cast(substr(rfm_code, 2, 1) as integer) as f,
            count(*),
            avg(monetary::double)
        from marts.customer_segments
        where rfm_code is not null
        group by all
        """,
    )
    grid = {(r, f): (n, m) for r, f, n, m in cells if r is not None and f is not None}
    scores = [1, 2, 3, 4, 5]
    z = [[grid.get((r, f), (0, None))[0] for r in scores] for f in scores]
    text = [
        [f"{grid[(r, f)][0]:,}<br>{grid[(r, f)][1]:,.0f}" if (r, f) in grid else "" for r in scores]
        for f in scores
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"R{r}" for r in scores],
            y=[f"F{f}" for f in scores],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            colorbar={"title": {"text": "customers"}},
        )
    )
    section.figures.append(_layout(fig, "Customers by recency and frequency score", 460))
    segments = _rows(
        con,
        "select rfm_segment, count(*) from marts.customer_segments group by all order by 2 desc, 1",
    )
    bars = go.Figure(go.Bar(x=[row[0] for row in segments], y=[row[1] for row in segments]))
    section.figures.append(_layout(bars, "Customers by RFM segment", 380))
    return section


def history_section(con: duckdb.DuckDBPyConnection, present: set[str], colours: _Colours) -> Section:
    section = Section(
        "Segments over time",
        "Segment sizes at each as-of date the warehouse has scored (marts.segment_sizes), and how customers "
        "moved between segments from one date to the next (marts.segment_transitions). Replaying past "
        "dates fills the history: `dbt build --vars '{as_of_date: YYYY-MM-DD}'`.",
    )
    if section.lacks("segment_sizes", present):
        return section
    sizes = _rows(
        con,
        """
        select as_of_date, segment_id, segment_name, customers, predicted_ltv
        from marts.segment_sizes order by as_of_date, segment_id
        """,
    )
    dates = sorted({row[0] for row in sizes})
    latest_names = {row[1]: row[2] for row in sizes}
    repeated = {name for name in latest_names.values() if list(latest_names.values()).count(name) > 1}
    latest_names = {
        sid: f"{name} (id {sid})" if name in repeated else name for sid, name in latest_names.items()
    }
    fig = go.Figure()
    for segment_id in sorted(latest_names):
        by_date = {row[0]: row[3] for row in sizes if row[1] == segment_id}
        fig.add_trace(
            go.Bar(
                x=[date.isoformat() for date in dates],
                y=[by_date.get(date, 0) for date in dates],
                name=latest_names[segment_id],
                marker={"color": colours(segment_id)},
            )
        )
    fig.update_layout(barmode="stack", xaxis={"type": "category", "title": {"text": "as-of date"}})
    section.figures.append(_layout(fig, f"Segment sizes at {len(dates)} as-of date(s)", 460))
    if len(dates) < 2:
        section.notes.append(
            "The history holds one as-of date so far: transitions appear once a build at another date "
            "(a later one, or a replay of an earlier one) has run."
        )
        return section
    if section.lacks("segment_transitions", present):
        return section
    latest_from = _rows(con, "select max(from_as_of_date) from marts.segment_transitions")[0][0]
    flows = _rows(
        con,
        """
        select from_segment_id, from_segment_name, to_segment_id, to_segment_name, transition_kind,
            customers, revenue_at_stake, to_as_of_date
        from marts.segment_transitions
        where from_as_of_date = ?
        order by customers desc, from_segment_name, to_segment_name
        """,
        [latest_from],
    )
    to_date = flows[0][7] if flows else None
    shown = flows[:SANKEY_FLOWS]
    left_nodes = sorted({(row[0] if row[0] is not None else -1, row[1]) for row in shown})
    right_nodes = sorted({(row[2] if row[2] is not None else -1, row[3]) for row in shown})
    labels = [f"{name} ({latest_from})" for _, name in left_nodes] + [
        f"{name} ({to_date})" for _, name in right_nodes
    ]
    node_colours = [colours(sid) for sid, _ in left_nodes] + [colours(sid) for sid, _ in right_nodes]
    left_index = {node: i for i, node in enumerate(left_nodes)}
    right_index = {node: len(left_nodes) + i for i, node in enumerate(right_nodes)}
    sankey = go.Figure(
        go.Sankey(
            node={"label": labels, "color": node_colours, "pad": 12},
            link={
                "source": [left_index[(r[0] if r[0] is not None else -1, r[1])] for r in shown],
                "target": [right_index[(r[2] if r[2] is not None else -1, r[3])] for r in shown],
                "value": [r[5] for r in shown],
                # stays in faint grey; moves, arrivals and departures in the colour they come from
                "color": [
                    "rgba(160,160,160,0.25)" if r[4] == "stayed" else _rgba(colours(r[0]), 0.55)
                    for r in shown
                ],
                "customdata": [f"{r[4]}, revenue at stake {r[6]:,.0f}" for r in shown],
                "hovertemplate": "%{value} customers: %{customdata}<extra></extra>",
            },
        )
    )
    section.figures.append(
        _layout(
            sankey,
            f"Main transitions from {latest_from} to {to_date} ({len(shown)} largest of {len(flows)})",
            520,
        )
    )
    moves = _rows(
        con,
        f"""
        select from_as_of_date, to_as_of_date, from_segment_name, to_segment_name, customers,
            round(share_of_from_segment, 3), round(revenue_at_stake, 0)
        from marts.segment_transitions
        where transition_kind = 'moved'
        order by from_as_of_date desc, revenue_at_stake desc, customers desc
        limit {TOP_TRANSITIONS}
        """,
    )
    section.table_html = "<h3>Moves between segments, most revenue at stake first</h3>" + _table(
        ["from date", "to date", "from", "to", "customers", "share of from", "revenue at stake"],
        moves,
    )
    return section


def value_section(con: duckdb.DuckDBPyConnection, colours: _Colours) -> Section:
    section = Section(
        "Churn risk and predicted value by segment",
        "Churn risk is the probability of no order over the prediction horizon; predicted value is the "
        "expected net revenue over it (marts.customer_segments).",
    )
    stats = _rows(
        con,
        """
        select segment_id, any_value(segment_name),
            min(churn_risk), quantile_cont(churn_risk, 0.25), median(churn_risk),
            quantile_cont(churn_risk, 0.75), max(churn_risk),
            sum(predicted_ltv), avg(predicted_ltv), count(*)
        from marts.customer_segments group by segment_id order by segment_id
        """,
    )
    box = go.Figure()
    for row in stats:
        box.add_trace(
            go.Box(
                name=row[1],
                x=[row[1]],
                lowerfence=[row[2]],
                q1=[row[3]],
                median=[row[4]],
                q3=[row[5]],
                upperfence=[row[6]],
                marker={"color": colours(row[0])},
                showlegend=False,
            )
        )
    box.update_yaxes(range=[0, 1], title={"text": "churn risk"})
    section.figures.append(_layout(box, "Churn risk by segment (min, quartiles, max)", 440))
    bars = go.Figure(
        go.Bar(
            x=[row[1] for row in stats],
            y=[row[7] for row in stats],
            marker={"color": [colours(row[0]) for row in stats]},
            text=[f"{row[8]:,.0f} per customer" for row in stats],
            textposition="auto",
        )
    )
    bars.update_yaxes(title={"text": "sum of predicted value"})
    section.figures.append(_layout(bars, "Predicted value by segment", 440))
    return section


def fraud_section(con: duckdb.DuckDBPyConnection, present: set[str]) -> Section:
    section = Section(
        "Fraud scores and flags over time",
        "Per week: transactions flagged for review, the share of the week's transactions flagged, and "
        "the mean fraud score (marts.fraud_transaction_scores).",
    )
    if section.lacks("fraud_transaction_scores", present):
        return section
    weeks = _rows(
        con,
        """
        select date_trunc('week', transacted_at)::date as week, count(*),
            count(*) filter (where is_flagged), avg(fraud_score),
            count(*) filter (where is_flagged) / count(*)
        from marts.fraud_transaction_scores
        where transacted_at is not null
        group by all order by 1
        """,
    )
    if not weeks:
        section.notes.append("No scored transactions.")
        return section
    labels = [row[0].isoformat() for row in weeks]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=[row[2] for row in weeks], name="flagged transactions", yaxis="y"))
    fig.add_trace(
        go.Scatter(x=labels, y=[row[4] for row in weeks], name="share flagged", yaxis="y2", mode="lines")
    )
    fig.add_trace(
        go.Scatter(x=labels, y=[row[3] for row in weeks], name="mean fraud score", yaxis="y2", mode="lines")
    )
    fig.update_layout(
        yaxis={"title": {"text": "flagged transactions"}},
        yaxis2={
            "title": {"text": "share flagged / mean score"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "tickformat": ".1%",
        },
        legend={"orientation": "h", "y": -0.2},
    )
    total, flagged = sum(row[1] for row in weeks), sum(row[2] for row in weeks)
    section.figures.append(
        _layout(fig, f"Fraud flags per week ({flagged:,} of {total:,} transactions flagged)", 460)
    )
    return section


def evaluation_section(con: duckdb.DuckDBPyConnection, present: set[str]) -> Section:
    section = Section(
        "Model evaluation",
        "The recommender's backtest against its baselines, then every metric of marts.model_evaluation: "
        "segmentation against k-means baselines, churn and value against recency, RFM and BG/NBD, fraud "
        "against IsolationForest, the fraud flag on the whole population.",
    )
    if section.lacks("model_evaluation", present):
        return section
    wanted = ", ".join(f"'{metric}'" for metric in RECOMMENDATION_METRICS)
    backtest = _rows(
        con,
        f"""
        select model, metric, value from marts.model_evaluation
        where task = 'recommendation' and metric in ({wanted})
        order by model, metric
        """,
    )
    if backtest:
        fig = go.Figure()
        for model in sorted({row[0] for row in backtest}):
            values = {row[1]: row[2] for row in backtest if row[0] == model}
            fig.add_trace(
                go.Bar(
                    x=list(RECOMMENDATION_METRICS),
                    y=[values.get(metric) for metric in RECOMMENDATION_METRICS],
                    name=model,
                )
            )
        fig.update_layout(barmode="group", yaxis={"range": [0, 1]})
        section.figures.append(
            _layout(fig, "Recommendation backtest: the recommender and its baselines", 460)
        )
    else:
        section.notes.append("No recommendation backtest in model_evaluation (no order lines in the data?).")
    rows = _rows(
        con,
        """
        select task, model, metric, round(value, 4), model_version, as_of_date, note
        from marts.model_evaluation order by task, metric, model
        """,
    )
    section.table_html = _table(["task", "model", "metric", "value", "version", "as of", "note"], rows)
    return section


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
        return html.escape(str(value))

    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em 2em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.meta { color: #555; } .note { background: #fff8e1; padding: 0.5em 1em; border-left: 4px solid #f0b400; }
table.data { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
table.data th, table.data td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; }
table.data th { background: #f3f3f3; }
.chart { width: 100%; }
"""

DRAW = """
document.querySelectorAll("script.figure").forEach(function (holder) {
  var div = document.getElementById(holder.dataset.target);
  var figure = JSON.parse(holder.textContent);
  Plotly.newPlot(div, figure.data, figure.layout, {responsive: true, displaylogo: false})
    .then(function () { div.dataset.drawn = "true"; })
    .catch(function (error) { console.error("chart " + div.id + " failed: " + error); });
});
"""


def render(sections: Sequence[Section], summary: dict[str, Any], source: str) -> str:
    """The HTML page: the sections, each chart's figure as JSON, plotly's JavaScript inlined."""
    parts, figures = [], 0
    for number, section in enumerate(sections, start=1):
        parts.append(f'<section id="section-{number}"><h2>{html.escape(section.title)}</h2>')
        parts.append(f"<p>{html.escape(section.intro)}</p>")
        for note in section.notes:
            parts.append(f'<p class="note">{html.escape(note)}</p>')
        for fig in section.figures:
            figures += 1
            chart_id = f"chart-{figures}"
            # "</" cannot end the script early: JSON escapes it.
            payload = plotly.io.to_json(fig, validate=True).replace("</", "<\\/")
            parts.append(f'<div class="chart" id="{chart_id}"></div>')
            parts.append(
                f'<script type="application/json" class="figure" data-target="{chart_id}">{payload}</script>'
            )
        parts.append(section.table_html)
        parts.append("</section>")
    title = f"Customer segmentation report, as of {summary['as_of_date']}"
    meta = (
        f"{summary['customers']:,} customers in {summary['segments']} segments; segmentation model "
        f"{summary['model_version']}; scored {summary['scored_at']:%Y-%m-%d %H:%M} UTC; from {source}."
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"<script>{plotly.offline.get_plotlyjs()}</script></head>"
        f'<body data-charts="{figures}"><h1>{html.escape(title)}</h1>'
        f'<p class="meta">{html.escape(meta)}</p>'
        + "\n".join(parts)
        + f"<script>{DRAW}</script></body></html>\n"
    )


def build_report(db: Path) -> tuple[str, int]:
    """The report's HTML for the warehouse (or serving file) at db, and the number of charts in it."""
    if not db.is_file():
        raise ReportError(f"no warehouse at {db}: build one first (make demo, or dbt build)")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as error:
        raise ReportError(f"cannot open {db} read-only: {error}") from error
    try:
        present = _present_marts(con)
        if REQUIRED_MART not in present:
            raise ReportError(f"{db} has no marts.{REQUIRED_MART}: is it a built warehouse?")
        summary = _summary(con)
        colours = _Colours(_segment_ids(con, present))
        sections = [
            map_section(con, present, colours),
            profile_section(con, present),
            rfm_section(con),
            history_section(con, present, colours),
            value_section(con, colours),
            fraud_section(con, present),
            evaluation_section(con, present),
        ]
    finally:
        con.close()
    page = render(sections, summary, db.name)
    return page, sum(len(section.figures) for section in sections)


def write_report(db: Path, out: Path) -> int:
    """Write the report for db to out (atomically: a reader never sees half a page); the chart count."""
    page, charts = build_report(db)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(out)
    return charts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m customer_ml.reporting.report",
        description="Write the self-contained HTML segmentation report from a built warehouse.",
    )
    parser.add_argument(
        "--db", type=Path, default=Path("segmentation.duckdb"), help="warehouse or serving file"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("target/segmentation_report.html"), help="the HTML file to write"
    )
    args = parser.parse_args(argv)
    try:
        charts = write_report(args.db, args.out)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write {args.out}: {error}", file=sys.stderr)
        return 2
    print(f"Report written ({charts} charts, opens offline): {args.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The HTML report on small hand-made warehouses: what it draws, what it says when marts are missing, and
that a missing or unbuilt warehouse stops with a message (no traceback)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import plotly.offline
import pytest

from customer_ml.reporting import report


def _warehouse(path: Path, with_history: bool = True, with_fraud: bool = True) -> Path:
    """Marts with the report's columns: 40 customers in two segments, two as-of dates of history."""
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        """
        create table marts.customer_segments as
        select
            'c' || lpad(i::varchar, 3, '0') as customer_id,
            (i % 2)::bigint as segment_id,
            case when i % 2 = 0 then 'Frequent spenders' else 'Lapsed one-timers' end as segment_name,
            case when i % 3 = 0 then 'Champions' else 'At risk' end as rfm_segment,
            ((i % 5) + 1)::varchar || ((i % 4) + 1)::varchar || '3' as rfm_code,
            (i * 3)::bigint as recency_days,
            (i % 7)::bigint as frequency,
            (i * 10.5)::decimal(38, 2) as monetary,
            (i * 20)::bigint as tenure_days,
            (i % 10) / 10.0 as churn_risk,
            i * 2.5 as predicted_ltv,
            0.5 as p_alive,
            (i % 9) / 9.0 as anomaly_score,
            'segmentation-v1' as model_version,
            date '2026-09-30' as as_of_date,
            timestamp '2026-10-01 08:00:00' as scored_at
        from range(40) as t(i)
        """
    )
    con.execute(
        """
        create table marts.segment_profiles as
        select segment_id, any_value(segment_name) as segment_name, count(*) as customers,
            'what sets it apart <b>' || segment_id || '</b>' as description
        from marts.customer_segments group by segment_id
        """
    )
    con.execute(
        """
        create table marts.customer_map_points as
        select customer_id, segment_id, segment_name, hash(customer_id) % 100 / 10.0 as pca_x,
            segment_id * 5.0 as pca_y, null::double as tsne_x, null::double as tsne_y,
            false as is_in_tsne_sample, churn_risk, predicted_ltv
        from marts.customer_segments
        """
    )
    if with_history:
        con.execute(
            """
            create table marts.segment_sizes as
            select date '2026-08-31' as as_of_date, segment_id, segment_name, 15::bigint as customers,
                100.0 as predicted_ltv
            from marts.segment_profiles
            union all
            select date '2026-09-30', segment_id, segment_name, customers, 120.0 from marts.segment_profiles
            """
        )
        con.execute(
            """
            create table marts.segment_transitions as
            select date '2026-08-31' as from_as_of_date, date '2026-09-30' as to_as_of_date,
                0::bigint as from_segment_id, 'Frequent spenders' as from_segment_name,
                1::bigint as to_segment_id, 'Lapsed one-timers' as to_segment_name,
                'moved' as transition_kind,
                5::bigint as customers, 0.33 as share_of_from_segment, 80.0 as revenue_at_stake
            union all
            select date '2026-08-31', date '2026-09-30', null, 'New customer', 0, 'Frequent spenders', 'new',
                10, null, 0.0
            """
        )
    if with_fraud:
        con.execute(
            """
            create table marts.fraud_transaction_scores as
            select timestamp '2026-06-01' + to_days(i) as transacted_at, (i % 50) / 50.0 as fraud_score,
                i % 17 = 0 as is_flagged
            from range(100) as t(i)
            """
        )
    con.execute(
        """
        create table marts.model_evaluation as
        select * from (values
            ('recommendation', 'recommender', 'item_hit_rate_at_3', 0.4, 'v', date '2026-09-30', 'backtest'),
            ('recommendation', 'global_popularity', 'item_hit_rate_at_3', 0.2, 'v', date '2026-09-30', 'b'),
            ('churn', 'model', 'auc', 0.8, 'v', date '2026-09-30', 'backtest')
        ) as t(task, model, metric, value, model_version, as_of_date, note)
        """
    )
    con.close()
    return path


def test_report_draws_every_section_and_embeds_plotly(tmp_path: Path) -> None:
    db = _warehouse(tmp_path / "w.duckdb")
    out = tmp_path / "out" / "report.html"
    charts = report.write_report(db, out)
    page = out.read_text(encoding="utf-8")
    # map, profiles, RFM grid and bars, sizes, transitions, churn, value, fraud, recommendation backtest
    assert charts == 10
    assert f'data-charts="{charts}"' in page
    assert page.count('class="chart"') == charts
    assert page.count('class="figure"') == charts
    # plotly.js inlined whole; outside it the page loads nothing (no src, no link, no URL)
    plotly_js = plotly.offline.get_plotlyjs()
    assert page.count(plotly_js) == 1
    own = page.replace(plotly_js, "")
    assert "Plotly.newPlot" in own
    assert not re.search(r"<link|\ssrc\s*=|https?://", own)
    # Text from the marts is escaped, never markup.
    assert "what sets it apart &lt;b&gt;0&lt;/b&gt;" in page
    assert "Lapsed one-timers" in page and "2026-09-30" in page
    assert not out.with_name("report.html.partial").exists()


def test_report_is_the_same_for_the_same_warehouse(tmp_path: Path) -> None:
    db = _warehouse(tmp_path / "w.duckdb")
    first, _ = report.build_report(db)
    second, _ = report.build_report(db)
    assert first == second


def test_missing_marts_leave_a_note_instead_of_a_chart(tmp_path: Path) -> None:
    db = _warehouse(tmp_path / "w.duckdb", with_history=False, with_fraud=False)
    page, charts = report.build_report(db)
    assert charts == 7
    assert "marts.segment_sizes is not in this warehouse" in page
    assert "marts.fraud_transaction_scores is not in this warehouse" in page


def test_one_as_of_date_says_how_to_get_transitions(tmp_path: Path) -> None:
    db = _warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("delete from marts.segment_sizes where as_of_date < date '2026-09-30'")
    page, charts = report.build_report(db)
    assert charts == 9
    assert "The history holds one as-of date so far" in page


def test_no_warehouse_or_no_segments_stops_with_a_message(tmp_path: Path, capsys) -> None:
    assert report.main(["--db", str(tmp_path / "absent.duckdb"), "--out", str(tmp_path / "r.html")]) == 2
    assert "no warehouse at" in capsys.readouterr().err
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert report.main(["--db", str(empty), "--out", str(tmp_path / "r.html")]) == 2
    assert "has no marts.customer_segments" in capsys.readouterr().err
    not_duckdb = tmp_path / "text.duckdb"
    not_duckdb.write_text("not a database")
    assert report.main(["--db", str(not_duckdb), "--out", str(tmp_path / "r.html")]) == 2
    assert "cannot open" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_an_unwritable_output_stops_with_a_message(tmp_path: Path, capsys) -> None:
    db = _warehouse(tmp_path / "w.duckdb")
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    assert report.main(["--db", str(db), "--out", str(blocker / "r.html")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_command_prints_the_path(tmp_path: Path, capsys) -> None:
    db = _warehouse(tmp_path / "w.duckdb")
    out = tmp_path / "r.html"
    assert report.main(["--db", str(db), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.endswith(str(out.resolve())), printed


def test_empty_segments_stop_with_a_message(tmp_path: Path) -> None:
    db = _warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("delete from marts.customer_segments")
    with pytest.raises(report.ReportError, match="no rows"):
        report.build_report(db)

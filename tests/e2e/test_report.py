"""Segment history, transitions and the HTML report on the demo build.

The demo build (as `make demo` builds it, as of 2026-09-30) is copied and two earlier as-of dates are
replayed into the copy, so the history holds three dates. Replays build only what the history needs
(`--select +segment_sizes +segment_transitions`), with their tests, and apply the stored models
(`retrain: never`: training is most of a build's time, and not what is tested here). Then a
`--full-refresh` of the history marts must keep every date. The report written from that warehouse
is opened in headless Chromium (Debian's package, never a downloaded browser), which must draw every
chart offline with no console error; the screenshot is saved under target/test-artifacts/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from customer_ml.reporting import report
from tests.e2e.dbt_runner import PROJECT_DIR, Build, dbt_build
from tests.e2e.system_programs import require

REPLAYED_DATES = ("2026-07-31", "2026-08-31")
CURRENT_DATE = "2026-09-30"
HISTORY_MARTS = ("segment_history", "segment_sizes", "segment_transitions")
ADD_UP_TEST = "segment_transitions_add_up_to_sizes"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_DIR / "target" / "test-artifacts"


def _test_status(work_dir: Path, test_name: str) -> str:
    results = json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
    found = [r["status"] for r in results if r["unique_id"].split(".")[2] == test_name]
    assert len(found) == 1, (test_name, [r["unique_id"] for r in results])
    return found[0]


def _history(database: Path) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            """
            select as_of_date::varchar, count(*), count(distinct customer_id), min(scored_at),
                max(scored_at)
            from marts.segment_history group by all order by 1
            """
        ).fetchall()


@pytest.fixture(scope="module")
def history(demo_build: Build, demo_dir: Path, tmp_path_factory) -> dict:
    """The demo build's warehouse with two earlier dates replayed, before and after a --full-refresh."""
    work_dir = tmp_path_factory.mktemp("history_build")
    database = work_dir / "warehouse.duckdb"
    shutil.copy(demo_build.database, database)
    replays = []
    for as_of in REPLAYED_DATES:
        build = dbt_build(
            work_dir,
            demo_dir,
            {"as_of_date": as_of, "retrain": "never"},
            ("--select", "+segment_sizes", "+segment_transitions"),
        )
        assert build.returncode == 0, build.output[-6000:]
        replays.append(build)
    add_up_status = _test_status(work_dir, ADD_UP_TEST)
    before = _history(database)
    refreshed = dbt_build(
        work_dir,
        demo_dir,
        {"as_of_date": REPLAYED_DATES[-1], "retrain": "never"},
        ("--full-refresh", "--select", *HISTORY_MARTS),
    )
    assert refreshed.returncode == 0, refreshed.output[-6000:]
    return {
        "work_dir": work_dir,
        "database": database,
        "before_refresh": before,
        "after_refresh": _history(database),
        "add_up_status": add_up_status,
        "demo_dir": demo_dir,
    }


def test_replays_fill_the_history_and_a_full_refresh_keeps_it(history: dict) -> None:
    before, after = history["before_refresh"], history["after_refresh"]
    assert [row[0] for row in before] == [*REPLAYED_DATES, CURRENT_DATE]
    # one row per customer and date: everyone with a transaction before the date, once
    with duckdb.connect(str(history["database"]), read_only=True) as con:
        for as_of, rows, customers, _, _ in before:
            expected = con.execute(
                "select count(distinct customer_id) from staging.stg_raw__transactions"
                " where transacted_at < ?",
                [as_of],
            ).fetchone()[0]
            assert rows == customers == expected, (as_of, rows, customers, expected)
    assert before[0][1] < before[1][1] < before[2][1]
    # --full-refresh kept every date; the date it built again (its as-of date) was replaced, not added
    assert after == before


def test_transitions_add_up_to_the_sizes(history: dict) -> None:
    assert history["add_up_status"] == "pass"
    with duckdb.connect(str(history["database"]), read_only=True) as con:
        pairs = con.execute(
            "select distinct from_as_of_date::varchar, to_as_of_date::varchar"
            " from marts.segment_transitions order by 1"
        ).fetchall()
        assert pairs == [(REPLAYED_DATES[0], REPLAYED_DATES[1]), (REPLAYED_DATES[1], CURRENT_DATE)]
        mismatches = con.execute(
            """
            with leaving as (
                select from_as_of_date as as_of_date, from_segment_id as segment_id, sum(customers) as n
                from marts.segment_transitions where from_segment_id is not null group by all
            ),
            arriving as (
                select to_as_of_date as as_of_date, to_segment_id as segment_id, sum(customers) as n
                from marts.segment_transitions where to_segment_id is not null group by all
            ),
            sizes as (select as_of_date, segment_id, customers from marts.segment_sizes)
            select 'leaving', sizes.*, leaving.n from sizes
            left join leaving using (as_of_date, segment_id)
            where sizes.as_of_date < ? and leaving.n is distinct from sizes.customers
            union all
            select 'arriving', sizes.*, arriving.n from sizes
            left join arriving using (as_of_date, segment_id)
            where sizes.as_of_date > ? and arriving.n is distinct from sizes.customers
            """,
            [CURRENT_DATE, REPLAYED_DATES[0]],
        ).fetchall()
        assert mismatches == []
        kinds = dict(
            con.execute(
                "select transition_kind, sum(customers) from marts.segment_transitions group by 1"
            ).fetchall()
        )
        # the demo customers sign up and buy over time: later dates have new customers, none leaves
        assert kinds.get("new", 0) > 0 and "left" not in kinds and kinds.get("stayed", 0) > 0
        summary = con.execute(
            """
            select from_as_of_date::varchar, to_as_of_date::varchar, transition_kind, sum(customers),
                round(sum(revenue_at_stake)) from marts.segment_transitions group by all order by 1, 3
            """
        ).fetchall()
        moves = con.execute(
            """
            select from_as_of_date::varchar, from_segment_name, to_segment_name, customers,
                round(revenue_at_stake) from marts.segment_transitions where transition_kind = 'moved'
            order by revenue_at_stake desc limit 5
            """
        ).fetchall()
    print("\nsegment_transitions after replaying three as-of dates, by kind:")
    for row in summary:
        print("  ", row)
    print("the moves with the most revenue at stake:")
    for row in moves:
        print("  ", row)


def test_the_add_up_test_fails_when_sizes_and_transitions_disagree(history: dict, tmp_path: Path) -> None:
    shutil.copy(history["database"], tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute(
            """
            update marts.segment_sizes set customers = customers + 1
            where as_of_date = ? and segment_id = (
                select min(segment_id) from marts.segment_sizes where as_of_date = ?
            )
            """,
            [REPLAYED_DATES[1], REPLAYED_DATES[1]],
        )
    build = dbt_build(tmp_path, history["demo_dir"], None, ("--select", ADD_UP_TEST))
    assert build.returncode != 0
    assert _test_status(tmp_path, ADD_UP_TEST) == "fail"


def test_report_opens_offline_and_draws_every_chart(history: dict, tmp_path: Path) -> None:
    require(CHROMIUM, str(CHROMIUM), "setup", "chromium")
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "segmentation_report.html"
    charts = report.write_report(history["database"], page_path)
    # map, profile heatmap, RFM grid and bars, sizes over time, transitions, churn, value, fraud, backtest
    assert charts == 10
    url = page_path.resolve().as_uri()
    errors: list[str] = []
    requests: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "segmentation_report.png"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            # Nothing may be fetched at view time: any request beyond the file itself is recorded and refused.
            context.route(
                "**/*", lambda route: route.continue_() if route.request.url == url else route.abort()
            )
            page = context.new_page()
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url, wait_until="load")
            page.wait_for_function(
                """() => {
                    const charts = [...document.querySelectorAll('div.chart')];
                    return charts.length === Number(document.body.dataset.charts)
                        && charts.every(div => div.dataset.drawn === 'true');
                }""",
                timeout=120_000,
            )
            drawn = page.evaluate(
                """() => [...document.querySelectorAll('div.chart')].map(div => {
                    const svg = div.querySelector('svg.main-svg');
                    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                    const marks = div.querySelectorAll(
                        'path.point, g.trace path, g.hm image, g.sankey-node, g.box path, g.bars path'
                    ).length;
                    return [div.id, box.width, box.height, marks];
                })"""
            )
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()
    print(f"\nscreenshot of the report: {screenshot}")
    assert errors == []
    assert [request for request in requests if request != url] == []
    assert len(drawn) == charts
    for chart_id, width, height, marks in drawn:
        assert width > 300 and height > 200 and marks > 0, (chart_id, width, height, marks)
    assert screenshot.stat().st_size > 50_000

"""bench/bench_scale.py's reading of run_results.json: how many nodes executed at once, and which alone."""

from __future__ import annotations

from bench_scale import concurrency


def _result(unique_id: str, start: str, end: str) -> dict:
    def at(second: str) -> str:
        return f"2026-12-06T08:00:{second}Z"

    return {
        "unique_id": unique_id,
        "timing": [
            {"name": "compile", "started_at": at(start), "completed_at": at(start)},
            {"name": "execute", "started_at": at(start), "completed_at": at(end)},
        ],
    }


def test_concurrency_counts_the_seconds_with_two_one_and_no_node_executing():
    # a: 0-10 s; b: 4-6 s beside it; c: 12-15 s after a gap of 2 s; a skipped node has no execute timing.
    results = [
        _result("model.p.a", "00", "10"),
        _result("model.p.b", "04", "06"),
        _result("model.p.c", "12", "15"),
        {"unique_id": "model.p.skipped", "timing": []},
    ]
    measured = concurrency(results)
    assert measured["span_s"] == 15
    assert measured["seconds"] == {0: 2, 1: 11, 2: 2}
    assert measured["alone"] == {"model.p.a": 8, "model.p.c": 3}


def test_three_nodes_at_once_count_as_two_or_more():
    results = [_result(f"model.p.{name}", "00", "05") for name in "xyz"]
    measured = concurrency(results)
    assert measured["seconds"] == {0: 0, 1: 0, 2: 5}
    assert measured["alone"] == {}


def test_no_node_executed():
    assert concurrency([]) == {"span_s": 0.0, "seconds": {0: 0.0, 1: 0.0, 2: 0.0}, "alone": {}}

"""Exposures name the real consumers, and each reads marts only (never ml or intermediate tables)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]


def _models_under(folder: Path) -> set[str]:
    return {path.stem for path in folder.rglob("*.sql")} | {path.stem for path in folder.rglob("*.py")}


def test_every_exposure_reads_marts_only() -> None:
    marts = _models_under(PROJECT / "models" / "marts")
    elsewhere = _models_under(PROJECT / "models" / "staging") | _models_under(PROJECT / "python_models")
    elsewhere |= _models_under(PROJECT / "models" / "intermediate")
    exposures = yaml.safe_load((PROJECT / "models" / "marts" / "_exposures.yml").read_text())["exposures"]
    names = {exposure["name"] for exposure in exposures}
    assert {
        "customer_segments_dashboard",
        "fraud_review_queue",
        "recommender",
        "segmentation_report",
    } <= names
    for exposure in exposures:
        refs = [re.fullmatch(r"ref\('([a-z0-9_]+)'\)", item) for item in exposure["depends_on"]]
        assert all(refs), (exposure["name"], exposure["depends_on"])
        read = {match.group(1) for match in refs}
        assert read, exposure["name"]
        assert read <= marts, (exposure["name"], read - marts)
        assert not read & elsewhere, (exposure["name"], read & elsewhere)


def test_the_report_exposure_lists_every_mart_the_report_reads() -> None:
    from customer_ml.reporting.report import MARTS

    exposures = yaml.safe_load((PROJECT / "models" / "marts" / "_exposures.yml").read_text())["exposures"]
    report = next(exposure for exposure in exposures if exposure["name"] == "segmentation_report")
    assert {f"ref('{mart}')" for mart in MARTS} == set(report["depends_on"])

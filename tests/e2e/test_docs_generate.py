"""`dbt docs generate` documents the project on a fresh clone, before any raw data exists."""

from __future__ import annotations

import json
import os
import subprocess

from tests.e2e.dbt_runner import DBT, PROJECT_DIR


def test_docs_generate_needs_no_raw_data(tmp_path):
    empty = tmp_path / "no_raw_files"
    empty.mkdir()
    target = tmp_path / "target"
    env = {
        **os.environ,
        "SEGMENTATION_DB_PATH": str(tmp_path / "docs.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(
        [
            str(DBT),
            "docs",
            "generate",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path / "logs"),
            "--vars",
            json.dumps({"raw_data_path": str(empty)}),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert (target / "index.html").exists()
    manifest = json.loads((target / "manifest.json").read_text())
    base = manifest["nodes"]["model.customer_segmentation.base_raw__transactions"]
    assert base["depends_on"]["nodes"] == ["source.customer_segmentation.raw.transactions"]
    assert manifest["sources"]["source.customer_segmentation.raw.transactions"]["description"]

"""Test-session set-up: the benchmark folder's data generators (bench/fraud_review.py) are importable by
name, so a test and its benchmark share one definition instead of copies."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

"""Puts the repository root on sys.path, so that a benchmark run as `python bench/<script>.py` can import
the development tools (tools.demo_data), which are not installed with the runtime package."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

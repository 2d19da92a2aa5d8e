"""The runtime package stands alone: nothing in customer_ml imports the development tools (the demo
generator in tools/), every Python model calls the package rather than holding logic of its own, and
the models load where neither dbt nor DuckDB is installed (a GPU machine running bench/gpu_check.py)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_runtime_package_never_imports_the_development_tools():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imports(path) if name.split(".")[0] in {"tools", "bench", "tests"}
        )
        for path in (ROOT / "src" / "customer_ml").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_python_models_are_thin_callers_of_the_package():
    for path in (ROOT / "python_models").rglob("*.py"):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert roots <= {"customer_ml", "pyarrow", "json", "__future__"}, (path, roots)
        assert len(path.read_text().splitlines()) <= 40, path


def _meta_keys_read(path: Path) -> list[str | None]:
    """The key of each use of `meta_get` in a Python model: the literal string of a direct call, None for
    any other use (a call with a computed key, or the method passed on)."""
    tree = ast.parse(path.read_text())
    calls = {id(node.func): node for node in ast.walk(tree) if isinstance(node, ast.Call)}
    keys = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "meta_get":
            call = calls.get(id(node))
            literal = call is not None and call.args and isinstance(call.args[0], ast.Constant)
            keys.append(call.args[0].value if literal else None)
    return keys


def test_python_models_read_each_meta_key_with_a_literal_call():
    # dbt hands a Python model only the meta keys it finds in literal dbt.config.meta_get("...") calls;
    # any other read gets None, silently (a cap of None fits on every customer).
    offenders = {
        str(path.relative_to(ROOT)): keys
        for path in (ROOT / "python_models").rglob("*.py")
        if None in (keys := _meta_keys_read(path))
    }
    assert offenders == {}


def test_the_models_train_and_apply_where_neither_dbt_nor_duckdb_is_installed():
    # A GPU machine often has torch, scikit-learn and pyarrow but no dbt or DuckDB: bench/gpu_check.py
    # --features trains and applies the segmentation model there. Blocking those imports in a fresh
    # interpreter shows the modules it needs load without them.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('duckdb', 'dbt', 'plotly'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import customer_ml.registry, customer_ml.segmentation.model, customer_ml.segmentation.evaluation\n"
        "import customer_ml.segmentation.versions\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr

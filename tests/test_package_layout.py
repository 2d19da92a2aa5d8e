"""The runtime package stands alone: nothing in customer_ml imports the development tools (the demo
generator in tools/), and every Python model calls the package rather than holding logic of its own."""

from __future__ import annotations

import ast
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

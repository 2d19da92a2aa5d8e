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

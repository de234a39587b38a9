"""docs/seizure.md names the test behind each promise: every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_named_in_seizure_md_exists():
    text = (ROOT / "docs" / "seizure.md").read_text()
    current = None
    named: list[tuple[str, str]] = []
    # `tests/x.py::name` and the shorthand `::name` for the file named just before
    for path, name in re.findall(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", text):
        if path:
            current = path
        if name:
            named.append((current, name))
    files = set(re.findall(r"`(tests/[\w/]+\.py)", text))
    assert len(named) >= 25 and len(files) >= 12
    for path in files:
        assert (ROOT / path).is_file(), path
    for path, name in named:
        tree = ast.parse((ROOT / path).read_text())
        functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert name in functions, f"{path}::{name} is named in docs/seizure.md but not defined"

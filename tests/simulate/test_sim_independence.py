"""The simulation package stands alone: no import of the linter, the commands or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import llmfleet.features.simulate

FORBIDDEN = ("llmfleet.pipeline.lint", "llmfleet.commands", "llmfleet.cli")
PACKAGE = Path(llmfleet.features.simulate.__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_package_has_modules():
    assert len(list(PACKAGE.glob("*.py"))) >= 8


def test_no_forbidden_imports():
    offenders = {}
    for path in PACKAGE.glob("*.py"):
        bad = sorted(
            m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
        )
        if bad:
            offenders[path.name] = bad
    assert offenders == {}


def test_detector_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("from llmfleet.pipeline.lint.registry import rule\nimport llmfleet.cli\n")
    assert {"llmfleet.pipeline.lint.registry", "llmfleet.cli"} <= imported_modules(sample)

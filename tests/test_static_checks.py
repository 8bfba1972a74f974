"""The code's own checks, run with the real tools (pinned in requirements-dev.txt): ruff (lint
and format), mypy (the fleet model, the rule API and the rules fully typed) and import-linter
(the layers: the model imports nothing from lint, features or the CLI; a rule imports the
model and the rule API only; only the CLI imports click)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llmfleet_testlib import REPO_ROOT, require

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    require(path is not None, f"{name} not found (requirements-dev.txt installs it: make setup)")
    return str(path)


def _run(*command: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(args):
    proc = _run(_tool("ruff"), *args, "tools", "tests", "gateway", "benchmarks")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy():
    proc = _run(_tool("mypy"), "--no-error-summary")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_import_contracts():
    proc = _run(_tool("lint-imports"), "--no-cache")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout

"""The Makefile as a newcomer drives it: the Python check before any venv, no half-built
venv after a failed install, nothing of make's own on stdout so that pipes work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from llmfleet_testlib import REPO_ROOT, overlay_names, require, serving_workload

MAKE = shutil.which("make")
LLMFLEET = REPO_ROOT / ".venv" / "bin" / "llmfleet"


def make(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """make as a user runs it from a shell: not nested in the `make test` that runs pytest
    (a nested make prints "Entering directory" itself, before it reads the Makefile)."""
    require(MAKE is not None, "make is not installed (.ci/run installs it)")
    clean = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(
        [MAKE, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=timeout,
    )


def fake_python(tmp_path: Path, version: str) -> Path:
    fake = tmp_path / "python-fake"
    fake.write_text(f"#!/bin/sh\necho {version}\n")
    fake.chmod(0o755)
    return fake


def test_old_python_is_refused_before_any_venv(tmp_path):
    venv = tmp_path / "venv"
    result = make("setup", f"PYTHON={fake_python(tmp_path, '3.10')}", f"VENV={venv}")
    assert result.returncode == 2
    assert "Python >= 3.11 is needed, but" in result.stderr and "is Python 3.10" in result.stderr
    assert "make PYTHON=python3.12" in result.stderr
    assert result.stdout == ""
    assert not venv.exists()


def test_missing_python_is_a_plain_message(tmp_path):
    result = make("setup", f"PYTHON={tmp_path / 'no-such-python'}", f"VENV={tmp_path / 'venv'}")
    assert result.returncode == 2 and "cannot run" in result.stderr and result.stdout == ""


def test_a_broken_venv_is_detected_and_rebuilt(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".installed-stamp").touch()  # a stamp, but no working python
    result = make("setup", f"PYTHON={fake_python(tmp_path, '3.10')}", f"VENV={venv}")
    assert f"make: {venv} is broken" in result.stderr
    # It went on to rebuild (and stopped at the Python check of the fake interpreter).
    assert result.returncode == 2 and "Python >= 3.11 is needed" in result.stderr
    assert not (venv / ".installed-stamp").exists()


def test_failed_install_leaves_no_venv(tmp_path):
    venv = tmp_path / "venv"
    # No index and no local wheels: pip cannot install anything.
    result = make(
        "setup", f"VENV={venv}", env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path)}, timeout=600
    )
    assert result.returncode == 2
    assert f"make: creating {venv}" in result.stderr  # it says what it installs
    assert "failed (see pip's message above)" in result.stderr
    assert result.stdout == ""
    assert not venv.exists()


def test_build_pipes_into_lint_with_a_bare_overlay_name():
    name = overlay_names()[0]
    build = make("build", f"MODEL={name}")
    assert build.returncode == 0, build.stderr
    assert build.stdout.startswith("apiVersion:")  # nothing of make's own
    # the overlay's vLLM workload (a Deployment, or a multi-node LeaderWorkerSet) and its Service
    workload_kind = serving_workload(name).split()[0]
    assert {d["kind"] for d in yaml.safe_load_all(build.stdout) if d} >= {workload_kind, "Service"}
    lint = subprocess.run(
        [str(LLMFLEET), "lint", "-"],
        input=build.stdout,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert lint.stdout.startswith("lint: 1 input(s)")
    assert make("build", f"MODEL=overlays/{name}").stdout == build.stdout


def test_check_json_through_make_is_json():
    result = make("check", "ARGS=--format json --offline")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["command"] == "check" and report["summary"]["errors"] == 0


def test_build_without_model_is_usage():
    result = make("build")
    assert result.returncode == 2 and "usage: make build MODEL=" in result.stderr
    assert result.stdout == ""

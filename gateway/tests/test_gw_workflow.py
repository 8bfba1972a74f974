"""The image workflow: clean under actionlint and zizmor (the real tools), every action
pinned by commit with its version beside it, no persisted credentials, least privilege."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "gateway-image.yml"


def tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is required (requirements-dev.txt installs it)")
    return found


def test_actionlint_is_clean():
    out = subprocess.run(
        [tool("actionlint"), "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_zizmor_is_clean_even_pedantic():
    out = subprocess.run(
        [tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_pins_credentials_and_permissions():
    text = WORKFLOW.read_text()
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r"\s*#\s*v\d+\.\d+\.\d+", comment), (ref, comment)
    doc = yaml.safe_load(text)
    assert doc["permissions"] == {}
    [job] = doc["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    checkout = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout and all(s["with"]["persist-credentials"] is False for s in checkout)
    build = [s for s in job["steps"] if s.get("uses", "").startswith("docker/build-push-action@")]
    assert build[0]["with"]["sbom"] is True and build[0]["with"]["provenance"] == "mode=max"
    triggers = doc[True] if True in doc else doc["on"]  # YAML 1.1 reads `on` as true
    assert triggers["push"]["branches"] == ["main"] and triggers["push"]["tags"] == ["v*"]

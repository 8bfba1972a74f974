"""Helpers for tests that are not fixtures (a unique module name: gateway/tests is on the
path too, so nothing here may be called ``conftest`` or ``helpers``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip with a reason on a developer machine; fail in CI, where nothing may skip silently."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def overlay_names() -> list[str]:
    overlays = REPO_ROOT / "overlays"
    return sorted(p.name for p in overlays.iterdir()
                  if p.is_dir() and (p / "kustomization.yaml").is_file()) if overlays.is_dir() else []

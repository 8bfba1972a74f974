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


def copy_overlay(repo: Path, source: str, name: str, served_model_name: str) -> Path:
    """Copy overlays/<source> to overlays/<name> as another model: its own name prefix,
    instance label and served model name (in serve.yaml and the PromQL annotation)."""
    import shutil

    import yaml
    target = repo / "overlays" / name
    shutil.copytree(repo / "overlays" / source, target)
    kustomization = yaml.safe_load((target / "kustomization.yaml").read_text())
    kustomization["namePrefix"] = f"{name}-"
    kustomization["labels"][0]["pairs"]["app.kubernetes.io/instance"] = name
    annotations = kustomization["configMapGenerator"][0]["options"]["annotations"]
    annotations["llmfleet.io/served-model-name"] = served_model_name
    (target / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    serve = yaml.safe_load((target / "serve.yaml").read_text())
    serve["served-model-name"] = served_model_name
    (target / "serve.yaml").write_text(yaml.safe_dump(serve, sort_keys=False))
    return target

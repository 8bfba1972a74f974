"""Helpers for tests that are not fixtures (a unique module name: gateway/tests is on the
path too, so nothing here may be called ``conftest`` or ``helpers``)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The JSON schemas vendored in the repository (schemas/README.md): CRDs, SARIF, workflows.
SCHEMAS = REPO_ROOT / "schemas"
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
    return (
        sorted(p.name for p in overlays.iterdir() if p.is_dir() and (p / "kustomization.yaml").is_file())
        if overlays.is_dir()
        else []
    )


#: The multi-node base (LeaderWorkerSet groups); every other overlay builds on base/
#: (one Deployment pod per replica).
MULTINODE_BASE = "base-multinode"


def is_multinode(overlay: str, root: Path = REPO_ROOT) -> bool:
    """The overlay builds on base-multinode/ (a LeaderWorkerSet), not on base/."""
    import yaml

    kustomization = yaml.safe_load((root / "overlays" / overlay / "kustomization.yaml").read_text()) or {}
    return any(Path(str(r)).name == MULTINODE_BASE for r in kustomization.get("resources") or [])


def single_node_overlays(root: Path = REPO_ROOT) -> list[str]:
    """Overlays served by base/'s Deployment, for tests about Deployment behaviour."""
    return [o for o in _overlays(root) if not is_multinode(o, root)]


def multinode_overlays(root: Path = REPO_ROOT) -> list[str]:
    return [o for o in _overlays(root) if is_multinode(o, root)]


def representative_overlays(root: Path = REPO_ROOT) -> list[str]:
    """The first overlay of each serving unit the repository has (Deployment, LeaderWorkerSet),
    for tests that hold for both."""
    return [group[0] for group in (single_node_overlays(root), multinode_overlays(root)) if group]


def _overlays(root: Path) -> list[str]:
    return sorted(p.parent.name for p in (root / "overlays").glob("*/kustomization.yaml"))


def serving_workload(overlay: str, prefix: str | None = None, root: Path = REPO_ROOT) -> str:
    """``"<Kind> <name>"`` of the overlay's vLLM workload as rendered: base/'s Deployment or
    base-multinode/'s LeaderWorkerSet, under the name prefix (default ``<overlay>-``)."""
    import yaml

    source = root / (
        f"{MULTINODE_BASE}/leaderworkerset.yaml" if is_multinode(overlay, root) else "base/deployment.yaml"
    )
    doc = yaml.safe_load(source.read_text())
    return f"{doc['kind']} {overlay + '-' if prefix is None else prefix}{doc['metadata']['name']}"


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


GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` with a throw-away identity; fail the test on a git error."""
    proc = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def line_of(path: Path, pattern: str, after: str | None = None) -> int:
    """1-based line of the first line matching ``pattern`` (after the first matching ``after``)."""
    lines = path.read_text().splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if re.search(after, line)) + 1
    return next(i + 1 for i in range(start, len(lines)) if re.search(pattern, lines[i]))

"""Which overlays the verification components (smoke test, load test) and the simulation's
test glue apply to (a unique module name: see llmfleet_testlib.py)."""

from __future__ import annotations

import yaml

from llmfleet_testlib import REPO_ROOT, overlay_names


def single_node_overlays() -> list[str]:
    """Overlays built on base/ (one Deployment per model), whose values the smoke test, the load
    test and the simulation glue copy. A multi-node overlay (a LeaderWorkerSet) has none."""
    out = []
    for name in overlay_names():
        kustomization = yaml.safe_load((REPO_ROOT / "overlays" / name / "kustomization.yaml").read_text())
        if any(str(r).rstrip("/").endswith("/base") for r in kustomization.get("resources") or []):
            out.append(name)
    return out

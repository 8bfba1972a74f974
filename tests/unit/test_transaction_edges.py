"""llmfleet.infra.transaction edge cases (mutation-testing survivors, issue 26): the interrupt
message names only what the run would touch, and the staged overlay is world-readable."""

from __future__ import annotations

import stat

import pytest

from llmfleet.infra.transaction import OverlayTransaction

# (routes file, message shown when a run is interrupted before commit)
INTERRUPTS = [
    ("", "nothing was written (overlays/m/ is as before)"),
    ("gateway/routes.yaml", "nothing was written (overlays/m/ and gateway/routes.yaml are as before)"),
]


@pytest.mark.parametrize(("routes", "message"), INTERRUPTS)
def test_interrupt_message_names_only_touched_paths(tmp_path, routes, message):
    tx = OverlayTransaction(tmp_path, tmp_path / "overlays", "m", routes)
    assert tx.describe_interrupt() == message


def test_staged_overlay_dir_is_0755(tmp_path):
    tx = OverlayTransaction(tmp_path, tmp_path / "overlays", "m")
    staged = tx.stage({"kustomization.yaml": "resources: []\n"})
    assert stat.S_IMODE(staged.stat().st_mode) == 0o755
    assert (staged / "kustomization.yaml").read_text(encoding="utf-8") == "resources: []\n"

"""Which overlays the verification components (smoke test, load test) and the simulation's
test glue apply to (a unique module name: see llmfleet_testlib.py)."""

from __future__ import annotations

from llmfleet_testlib import single_node_overlays


__all__ = ["single_node_overlays"]

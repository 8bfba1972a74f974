"""probe-liveness at its boundaries (the survivors of issue 26): the failure window
failureThreshold x periodSeconds against min-window-seconds (60), and, without a startupProbe,
initialDelaySeconds + the window against the cold load (llmfleet.model.load_time, scaled with the
model's size)."""

from __future__ import annotations

import pytest

from llmfleet.model.load_time import expected_load
from rule_tables import findings, where

LIVENESS = "/spec/template/spec/containers/0/livenessProbe"
STARTUP = "startupProbe: {httpGet: {path: /health, port: 8000}, failureThreshold: 90, periodSeconds: 10}"


def deployment(liveness: str, startup: str = STARTUP, model: str = "acme/Foo-8B") -> str:
    probes = ", ".join(p for p in (startup, f"livenessProbe: {liveness}") if p)
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: d, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: d}}}}
  template:
    metadata: {{labels: {{app: d}}}}
    spec:
      containers: [{{name: vllm, image: vllm/vllm-openai:v0.33.0, args: [{model}], {probes}}}]
"""


@pytest.mark.parametrize(
    ("threshold", "period", "reported"),
    [
        (6, 10, False),  # 60 s: exactly the minimum
        (5, 12, False),  # 60 s
        (59, 1, True),  # 59 s
        (3, 10, True),  # 30 s (the defaults: failureThreshold 3, periodSeconds 10)
    ],
)
def test_the_failure_window_against_the_minimum(threshold, period, reported):
    probe = (
        f"{{httpGet: {{path: /health, port: 8000}}, failureThreshold: {threshold}, periodSeconds: {period}}}"
    )
    found = findings("probe-liveness", deployment(probe))
    assert where(found) == ([("warning", "Deployment", "d", LIVENESS)] if reported else [])
    if reported:
        assert f"after {threshold * period} s of failures" in found[0][4] and "at least 60 s" in found[0][4]


def test_the_default_window_is_thirty_seconds():
    (row,) = findings("probe-liveness", deployment("{httpGet: {path: /health, port: 8000}}"))
    assert "after 30 s of failures" in row[4]


#: The cold load the rule expects for acme/Foo-8B in this Deployment (no cache volume: the
#: weights are downloaded at every start), from the one definition the rule uses.
LOAD = expected_load(["acme/Foo-8B"], downloads=True)


def _case(delay: int, window: int) -> tuple[int, int, int]:
    """(delay, failureThreshold, periodSeconds) of the shortest 10 s window of at least ``window``."""
    return delay, -(-window // 10), 10


@pytest.mark.parametrize(
    ("delay", "threshold", "period", "severity"),
    [
        (*_case(0, LOAD.certain_s - 10), "error"),  # below the certain part of the load
        (*_case(0, LOAD.certain_s), "warning"),  # certain, but short of the typical load
        (*_case(0, LOAD.typical_s - LOAD.typical_s % 10 + 10), None),  # covers the load
        (*_case(10, LOAD.certain_s - 10), "warning"),  # the initial delay counts
    ],
)
def test_without_a_startup_probe_the_window_must_cover_the_cold_load(delay, threshold, period, severity):
    assert LOAD.known and LOAD.certain_s < LOAD.typical_s
    probe = (
        f"{{httpGet: {{path: /health, port: 8000}}, initialDelaySeconds: {delay}, "
        f"failureThreshold: {threshold}, periodSeconds: {period}}}"
    )
    found = findings("probe-liveness", deployment(probe, startup=""))
    load_rows = [row for row in found if "before the model is loaded" in row[4]]
    if severity is None:
        assert load_rows == []
        return
    assert [(r[0], r[1], r[2], r[3]) for r in load_rows] == [(severity, "Deployment", "d", LIVENESS)]
    assert f"expected ≈ {LOAD.typical_s} s" in load_rows[0][4]


@pytest.mark.parametrize(("delay", "reported"), [(59, False), (60, True)])
def test_an_initial_delay_instead_of_a_startup_probe(delay, reported):
    probe = f"{{httpGet: {{path: /health, port: 8000}}, initialDelaySeconds: {delay}, failureThreshold: 60, periodSeconds: 10}}"
    found = findings("probe-liveness", deployment(probe, startup=""))
    paths = [row[3] for row in found]
    assert (f"{LIVENESS}/initialDelaySeconds" in paths) == reported

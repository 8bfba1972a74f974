"""scaler-name-length, edge by edge: KEDA names its HPA ``keda-hpa-<name>``, a label value of
at most 63 characters, so a ScaledObject name has at most 63 - 9 = 54 (unless
``advanced.horizontalPodAutoscalerConfig.name`` names the HPA)."""

from __future__ import annotations

import pytest

from rule_tables import findings, where


def scaled_object(name: str, advanced: str = "") -> str:
    extra = f", advanced: {advanced}" if advanced else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: target, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: t}}}}
  template:
    metadata: {{labels: {{app: t}}}}
    spec: {{containers: [{{name: c, image: busybox:1.36}}]}}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: {name}, namespace: llm}}
spec: {{scaleTargetRef: {{name: target}}{extra}}}
"""


def named(length: int) -> str:
    return ("s-" + "x" * length)[:length]


@pytest.mark.parametrize(("length", "reported"), [(53, False), (54, False), (55, True), (63, True)])
def test_scaler_name_length_table(length, reported):
    name = named(length)
    found = findings("scaler-name-length", scaled_object(name))
    assert where(found) == ([("error", "ScaledObject", name, "/metadata/name")] if reported else [])
    if reported:
        assert f"has {length} characters: KEDA's HPA keda-hpa-{name} would have {length + 9}" in found[0][4]
        assert found[0][4].endswith("at most 54")


def test_a_named_hpa_lifts_the_limit():
    name = named(60)
    assert (
        findings("scaler-name-length", scaled_object(name, "{horizontalPodAutoscalerConfig: {name: hpa}}"))
        == []
    )


@pytest.mark.parametrize(
    "advanced", ["{horizontalPodAutoscalerConfig: {}}", "{horizontalPodAutoscalerConfig: x}", "x"]
)
def test_an_advanced_block_without_an_hpa_name_keeps_the_limit(advanced):
    assert len(findings("scaler-name-length", scaled_object(named(60), advanced))) == 1

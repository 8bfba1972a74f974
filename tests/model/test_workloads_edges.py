"""Edge cases of llmfleet.model.workloads' replica reading (mutation-testing survivors, issue 26):
the replica range, its source text and JSON pointer a finding names, per workload kind."""

from __future__ import annotations

import textwrap

import pytest

from llmfleet.model import OverlayModel
from llmfleet.pipeline.manifests import load_text

C = "{name: vllm, image: vllm/vllm-openai:v0.33.0}"


def workload_of(text: str):
    resources, findings = load_text(textwrap.dedent(text), "t.yaml")
    assert not findings, [f.message for f in findings]
    [workload] = OverlayModel("t", resources).workloads
    return workload


# (manifest, (min, max, source, path) of the workload's own replicas)
CASES = {
    "cronjob-parallelism": (
        f"""
        apiVersion: batch/v1
        kind: CronJob
        metadata: {{name: c}}
        spec:
          schedule: "* * * * *"
          jobTemplate: {{spec: {{parallelism: 3, template: {{spec: {{containers: [{C}]}}}}}}}}
        """,
        (3, 3, "spec.jobTemplate.spec.parallelism 3", "/spec/jobTemplate/spec/parallelism"),
    ),
    "inferenceservice": (
        f"""
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {{name: i}}
        spec: {{predictor: {{minReplicas: 2, maxReplicas: 4, containers: [{C}]}}}}
        """,
        (2, 4, "spec.predictor.minReplicas/maxReplicas", "/spec/predictor"),
    ),
    "knative-bounded": (
        f"""
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {{name: k}}
        spec:
          template:
            metadata: {{annotations: {{autoscaling.knative.dev/min-scale: "1", autoscaling.knative.dev/max-scale: "5"}}}}
            spec: {{containers: [{C}]}}
        """,
        (
            1,
            5,
            "autoscaling.knative.dev/min-scale/autoscaling.knative.dev/max-scale annotations",
            "/spec/template/metadata/annotations",
        ),
    ),
    "knative-unbounded": (
        f"""
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {{name: k}}
        spec: {{template: {{spec: {{containers: [{C}]}}}}}}
        """,
        (
            0,
            None,
            "autoscaling.knative.dev/min-scale/autoscaling.knative.dev/max-scale annotations",
            "/spec/template/metadata/annotations",
        ),
    ),
    "raycluster": (
        f"""
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata: {{name: r}}
        spec: {{headGroupSpec: {{template: {{spec: {{containers: [{C}]}}}}}}}}
        """,
        (1, 1, "one Ray cluster", ""),
    ),
    "servingruntime": (
        f"""
        apiVersion: serving.kserve.io/v1alpha1
        kind: ServingRuntime
        metadata: {{name: s}}
        spec: {{containers: [{C}]}}
        """,
        (0, 0, "a ServingRuntime runs no pods itself", ""),
    ),
    "podtemplate": (
        f"""
        apiVersion: v1
        kind: PodTemplate
        metadata: {{name: p}}
        template: {{spec: {{containers: [{C}]}}}}
        """,
        (0, 0, "a PodTemplate runs no pods", ""),
    ),
    "daemonset": (
        f"""
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {{name: d}}
        spec: {{template: {{spec: {{containers: [{C}]}}}}}}
        """,
        (None, None, "one per node", ""),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_own_replicas_range_source_and_path(case):
    text, expected = CASES[case]
    r = workload_of(text).replicas
    assert (r.minimum, r.maximum, r.source, r.path) == expected


# RayCluster worker groups: (group yaml, autoscaling, (pods_min, pods_max) of the worker template)
RAY_GROUPS = [
    ("{groupName: g, replicas: 2, minReplicas: 1, maxReplicas: 5}", False, (2, 2)),
    ("{groupName: g, minReplicas: 1, maxReplicas: 5}", True, (1, 5)),
    ("{groupName: g, maxReplicas: 5}", True, (0, 5)),
    ("{groupName: g}", False, (0, 0)),
]


@pytest.mark.parametrize(("group", "autoscaling", "pods"), RAY_GROUPS)
def test_ray_worker_group_pod_range(group, autoscaling, pods):
    text = f"""
    apiVersion: ray.io/v1
    kind: RayCluster
    metadata: {{name: r}}
    spec:
      enableInTreeAutoscaling: {str(autoscaling).lower()}
      headGroupSpec: {{template: {{spec: {{containers: [{C}]}}}}}}
      workerGroupSpecs:
        - {group[:-1]}, template: {{spec: {{containers: [{C}]}}}}}}
    """
    workload = workload_of(text)
    [worker] = [t for t in workload.templates if t.role == "worker:g"]
    assert (worker.pods_min, worker.pods_max) == pods


def test_a_workload_without_template_has_no_templates():
    text = """
    apiVersion: serving.knative.dev/v1
    kind: Service
    metadata: {name: k}
    spec: {}
    """
    assert workload_of(text).templates == []

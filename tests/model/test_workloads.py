"""llmfleet.model.workloads and the accelerator accounting on top: every workload kind's pod
templates at their real paths, Kubernetes' effective requests, GPUs per replica and at
maximum scale."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from llmfleet.model import OverlayModel
from llmfleet.pipeline.manifests import load_text

GPU = "nvidia.com/gpu"


def model_of(text: str) -> OverlayModel:
    resources, findings = load_text(textwrap.dedent(text), "t.yaml")
    assert not findings, [f.message for f in findings]
    return OverlayModel("t", resources)


def container(gpus: int = 1, name: str = "vllm") -> str:
    return f"{{name: {name}, image: vllm/vllm-openai:v0.33.0, resources: {{limits: {{{GPU}: {gpus}}}}}}}"


# (manifest, [(role, spec pointer)], GPUs per replica at max, (min, max) replicas)
KINDS = {
    "Deployment": (
        f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: d}}
        spec:
          replicas: 3
          template: {{spec: {{containers: [{container(2)}]}}}}
        """,
        [("pod", "/spec/template/spec")],
        2,
        (3, 3),
    ),
    "StatefulSet": (
        f"""
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {{name: s}}
        spec:
          template: {{spec: {{containers: [{container(4)}]}}}}
        """,
        [("pod", "/spec/template/spec")],
        4,
        (1, 1),
    ),
    "DaemonSet": (
        f"""
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {{name: ds}}
        spec:
          template: {{spec: {{containers: [{container(1)}]}}}}
        """,
        [("pod", "/spec/template/spec")],
        1,
        (None, None),
    ),
    "ReplicaSet": (
        f"""
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {{name: rs}}
        spec:
          replicas: 2
          template: {{spec: {{containers: [{container(1)}]}}}}
        """,
        [("pod", "/spec/template/spec")],
        1,
        (2, 2),
    ),
    "Job": (
        f"""
        apiVersion: batch/v1
        kind: Job
        metadata: {{name: j}}
        spec:
          parallelism: 2
          template: {{spec: {{containers: [{container(1)}]}}}}
        """,
        [("pod", "/spec/template/spec")],
        1,
        (2, 2),
    ),
    "CronJob": (
        f"""
        apiVersion: batch/v1
        kind: CronJob
        metadata: {{name: cj}}
        spec:
          schedule: "@daily"
          jobTemplate: {{spec: {{template: {{spec: {{containers: [{container(1)}]}}}}}}}}
        """,
        [("pod", "/spec/jobTemplate/spec/template/spec")],
        1,
        (1, 1),
    ),
    "Pod": (
        f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: p}}
        spec: {{containers: [{container(1)}]}}
        """,
        [("pod", "/spec")],
        1,
        (1, 1),
    ),
    "Rollout": (
        f"""
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {{name: r}}
        spec:
          replicas: 2
          template: {{spec: {{containers: [{container(1)}]}}}}
        """,
        [("pod", "/spec/template/spec")],
        1,
        (2, 2),
    ),
    "LeaderWorkerSet": (
        f"""
        apiVersion: leaderworkerset.x-k8s.io/v1
        kind: LeaderWorkerSet
        metadata: {{name: lws}}
        spec:
          replicas: 2
          leaderWorkerTemplate:
            size: 3
            leaderTemplate: {{spec: {{containers: [{container(8)}]}}}}
            workerTemplate: {{spec: {{containers: [{container(8)}]}}}}
        """,
        [
            ("leader", "/spec/leaderWorkerTemplate/leaderTemplate/spec"),
            ("worker", "/spec/leaderWorkerTemplate/workerTemplate/spec"),
        ],
        24,
        (2, 2),
    ),
    "LeaderWorkerSet without a leader template": (
        f"""
        apiVersion: leaderworkerset.x-k8s.io/v1
        kind: LeaderWorkerSet
        metadata: {{name: lws}}
        spec:
          leaderWorkerTemplate:
            size: 2
            workerTemplate: {{spec: {{containers: [{container(4)}]}}}}
        """,
        [("worker", "/spec/leaderWorkerTemplate/workerTemplate/spec")],
        8,
        (1, 1),
    ),
    "InferenceService": (
        f"""
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {{name: isvc}}
        spec:
          predictor:
            minReplicas: 1
            maxReplicas: 3
            model:
              modelFormat: {{name: huggingface}}
              args: [--model_name=m]
              resources: {{limits: {{{GPU}: 2}}}}
        """,
        [("predictor", "/spec/predictor")],
        2,
        (1, 3),
    ),
    "ServingRuntime": (
        f"""
        apiVersion: serving.kserve.io/v1alpha1
        kind: ServingRuntime
        metadata: {{name: sr}}
        spec:
          supportedModelFormats: [{{name: huggingface}}]
          containers: [{container(1, "kserve-container")}]
        """,
        [("runtime", "/spec")],
        1,
        (0, 0),
    ),
    "RayService": (
        f"""
        apiVersion: ray.io/v1
        kind: RayService
        metadata: {{name: rs}}
        spec:
          rayClusterConfig:
            enableInTreeAutoscaling: true
            headGroupSpec: {{template: {{spec: {{containers: [{{name: head, image: rayproject/ray:2.40.0}}]}}}}}}
            workerGroupSpecs:
              - groupName: gpu
                minReplicas: 1
                maxReplicas: 4
                template: {{spec: {{containers: [{container(1, "worker")}]}}}}
        """,
        [
            ("head", "/spec/rayClusterConfig/headGroupSpec/template/spec"),
            ("worker:gpu", "/spec/rayClusterConfig/workerGroupSpecs/0/template/spec"),
        ],
        4,
        (1, 1),
    ),
    "Knative Service": (
        f"""
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {{name: ks}}
        spec:
          template:
            metadata: {{annotations: {{autoscaling.knative.dev/min-scale: "1", autoscaling.knative.dev/max-scale: "5"}}}}
            spec: {{containers: [{container(1)}]}}
        """,
        [("pod", "/spec/template/spec")],
        1,
        (1, 5),
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_pod_templates_gpus_and_replicas(kind):
    text, templates, per_replica, replicas = KINDS[kind]
    model = model_of(text)
    [workload] = model.workloads
    assert [(t.role, t.spec_path) for t in workload.templates] == templates
    for template in workload.templates:
        assert all(c.path.startswith(template.spec_path) or c.section == "model" for c in template.containers)
    [use] = model.accelerator_uses or [None]
    if use is None:  # a ServingRuntime is a template: it holds no GPUs itself
        assert kind == "ServingRuntime" and not workload.runs_pods
        return
    assert use.per_replica_max == per_replica
    assert (use.replicas.minimum, use.replicas.maximum) == replicas


def test_a_core_service_is_not_a_workload():
    model = model_of("""
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec: {selector: {app: x}, template: {spec: {containers: [{name: c}]}}}
        """)
    assert model.workloads == []


def test_effective_request_follows_kubernetes():
    """App containers add up; a native sidecar (init container with restartPolicy Always)
    adds to them; the pod needs the larger of that and the largest init container (plus the
    sidecars started before it)."""
    model = model_of(f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: p}}
        spec:
          initContainers:
            - {{name: download, image: busybox, resources: {{limits: {{{GPU}: 3}}}}}}
            - {{name: proxy, image: envoy, restartPolicy: Always, resources: {{limits: {{{GPU}: 1}}}}}}
            - {{name: warmup, image: busybox, resources: {{limits: {{{GPU}: 2}}}}}}
          containers:
            - {{name: a, image: x, resources: {{requests: {{{GPU}: 1}}, limits: {{{GPU}: 1}}}}}}
            - {{name: b, image: x, resources: {{limits: {{{GPU}: "1"}}}}}}
        """)
    [template] = model.templates
    # app 1 + 1, sidecar +1 = 3; init peaks: download 3, warmup 2 + sidecar 1 = 3 -> 3
    assert template.effective_request(GPU) == Decimal(3)
    assert model.pod_accelerators(template) == {GPU: 3}


@pytest.mark.parametrize("resource", ["amd.com/gpu", "google.com/tpu", "nvidia.com/mig-1g.10gb"])
def test_other_accelerators_count(resource):
    model = model_of(f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: d}}
        spec:
          template: {{spec: {{containers: [{{name: c, image: x, resources: {{limits: {{{resource}: 4}}}}}}]}}}}
        """)
    [use] = model.accelerator_uses
    assert (use.resource_name, use.per_replica_max) == (resource, 4)


def test_keda_defaults_and_hpa_set_the_replica_range():
    model = model_of(f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: d, namespace: ns}}
        spec:
          replicas: 1
          template: {{spec: {{containers: [{container(2)}]}}}}
        ---
        apiVersion: keda.sh/v1alpha1
        kind: ScaledObject
        metadata: {{name: d, namespace: ns}}
        spec: {{scaleTargetRef: {{name: d}}, triggers: []}}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {{name: s, namespace: ns}}
        spec:
          template: {{spec: {{containers: [{container(1)}]}}}}
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {{name: s, namespace: ns}}
        spec: {{scaleTargetRef: {{apiVersion: apps/v1, kind: StatefulSet, name: s}}, maxReplicas: 6}}
        """)
    by_name = {u.workload.name: u for u in model.accelerator_uses}
    assert (by_name["d"].replicas.minimum, by_name["d"].replicas.maximum) == (0, 100)  # KEDA defaults
    assert by_name["d"].at_max == 200 and "(default)" in by_name["d"].replicas.source
    assert (by_name["s"].replicas.minimum, by_name["s"].replicas.maximum) == (1, 6)  # HPA min 1
    assert model.gpus("max") == 206 and model.gpus("min") == 1

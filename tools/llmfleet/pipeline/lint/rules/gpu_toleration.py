"""gpu-toleration: a GPU pod must tolerate the GPU nodes' taint.

GPU node pools carry a ``nvidia.com/gpu`` NoSchedule taint (``cluster.gpu-taint-key``); a pod
requesting ``nvidia.com/gpu`` without a matching toleration stays Pending.  GKE, and clusters
with the ExtendedResourceToleration admission plugin, add that toleration themselves: pods
that select GKE accelerator nodes, or any pod when ``cluster.adds-gpu-tolerations`` is true,
are not reported — except for a toleration whose key looks meant for the GPU taint but is
misspelt (``nvidia/gpu``), which matches nothing: an error; another GPU-looking key (``gpu``)
may be the taint of that cluster: a warning.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from llmfleet.model.accelerators import NVIDIA_GPU
from llmfleet.model.k8s import as_list
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

TOLERATED_EFFECTS = (None, "", "NoSchedule")
#: Node labels that put a pod on GKE GPU or TPU nodes: GKE adds the matching toleration to
#: every pod that requests the resource (ExtendedResourceToleration).
GKE_SELECTION_KEYS = (
    "cloud.google.com/gke-accelerator",
    "cloud.google.com/compute-class",
    "cloud.google.com/gke-tpu-accelerator",
)


def tolerates(toleration: Any, key: str) -> bool:
    if not isinstance(toleration, dict):
        return False
    operator = toleration.get("operator") or "Equal"
    if toleration.get("effect") not in TOLERATED_EFFECTS:
        return False
    if not toleration.get("key"):
        return operator == "Exists"
    return toleration.get("key") == key


def misspelt(toleration: Any, key: str) -> bool:
    """A toleration meant for the GPU taint with another key (``nvidia/gpu``, ``nvidia.com/GPU``)."""
    if not isinstance(toleration, dict) or not toleration.get("key"):
        return False
    other = str(toleration["key"])
    return other != key and ("gpu" in other.lower() or near_miss(other, key))


def near_miss(other: str, key: str) -> bool:
    """A spelling of ``key`` itself (``nvidia/gpu``, ``nvidia.com/GPU``), not another taint
    some clusters use for GPU nodes (``gpu``, ``sku``, ``nvidia.com/gpu.shared``)."""
    return difflib.SequenceMatcher(None, other.lower(), key.lower()).ratio() > 0.8


@rule(
    id="gpu-toleration",
    severity=Severity.ERROR,
    description="A pod requesting GPUs does not tolerate the GPU node taint (or tolerates a misspelt key)",
    remediation="Add a toleration {key: <gpu-taint-key>, operator: Exists, effect: NoSchedule} "
    "(the GPU components do this); on clusters that add it themselves (GKE, the "
    "ExtendedResourceToleration admission plugin) set cluster.adds-gpu-tolerations.",
    rationale="GPU node pools are tainted nvidia.com/gpu=present:NoSchedule so that other pods "
    "stay off them; a GPU pod without the toleration stays Pending. GKE, and clusters "
    "running the ExtendedResourceToleration admission plugin, add the toleration to "
    "pods that request nvidia.com/gpu (docs/reference/kubernetes.md).",
    category="gpu",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        spec:
          tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
          containers: [{name: vllm, resources: {limits: {nvidia.com/gpu: 1}}}]

    Passing (GKE adds the toleration)::

        spec:
          nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4}
          containers: [{name: vllm, resources: {limits: {nvidia.com/gpu: 1}}}]

    Failing (``/spec/template/spec``; an error on this cluster's own GPU nodes, a warning
    where the taint depends on the cluster)::

        spec:
          nodeSelector: {llmfleet.io/gpu-class: l4}
          containers: [{name: vllm, resources: {limits: {nvidia.com/gpu: 1}}}]

    Failing (``/spec/template/spec/tolerations/0/key``)::

        spec:
          nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4}
          tolerations: [{key: nvidia/gpu, operator: Exists, effect: NoSchedule}]
    """
    key = model.cluster.gpu_taint_key
    for template in model.templates:
        if template.workload.platform_scheduling or not template.workload.runs_pods:
            continue  # the operator or the platform's serving object places the pods
        gpus = model.pod_accelerators(template).get(NVIDIA_GPU, 0)
        if gpus <= 0:
            continue
        items = as_list(template.spec.get("tolerations"))
        added = model.cluster.adds_gpu_tolerations or any(
            k in GKE_SELECTION_KEYS for k in model.node_selection(template).keys
        )
        if any(tolerates(t, key) for t in items):
            continue
        wrong = [i for i, t in enumerate(items) if misspelt(t, key)]
        if wrong:
            other = str(items[wrong[0]]["key"])
            certain = near_miss(other, key) and not added
            yield Problem(
                template.resource,
                f"{template.spec_path}/tolerations/{wrong[0]}/key",
                f"the pod of {template.ref} tolerates {other!r}, not the GPU taint {key!r}: "
                + (
                    "the toleration matches no taint"
                    if certain
                    else "unless this cluster taints its GPU nodes with that key, the pod stays Pending"
                ),
                None if certain else Severity.WARNING,
            )
            continue
        if added:
            continue
        path = f"{template.spec_path}/tolerations" if items else template.spec_path
        ours = any(k in model.cluster.gpu_label_keys for k in model.node_selection(template).keys)
        yield Problem(
            template.resource,
            path,
            f"the pod of {template.ref} requests {gpus} GPU(s) but does not tolerate the "
            f"{key!r} NoSchedule taint of GPU nodes: it will stay Pending"
            + (
                ""
                if ours
                else " where GPU nodes are tainted (cluster.gpu-label-keys nodes "
                "are; set cluster.adds-gpu-tolerations where the cluster "
                "adds the toleration)"
            ),
            None if ours else Severity.WARNING,
        )

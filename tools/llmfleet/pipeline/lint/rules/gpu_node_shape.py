"""gpu-node-shape: a GPU pod must fit a node that exists.

A pod is scheduled on one node: its GPUs, and its CPU and memory requests (plus what the
node's DaemonSets take, ``pod_headroom``), must fit the allocatable resources of a node shape
of its GPU class: for example 4 L4 need a g2-standard-48 (GKE) or g6.12xlarge (EKS), and
4 A100 80GB an a2-ultragpu-4g or a p4de.24xlarge.  A pod no shape can hold stays Pending
forever, and the cluster autoscaler cannot help.  The shapes come from
``llmfleet/data/node_shapes.yaml`` (GKE and EKS, with sources), or from
``cluster.node-shapes`` in llmfleet.yaml for the pools this cluster has.  Pods whose GPU
class is unknown, or has no shapes listed, are not judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from llmfleet.catalog.node_shapes import cluster_shapes
from llmfleet.model.accelerators import NVIDIA_GPU
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="gpu-node-shape",
    severity=Severity.ERROR,
    description="A GPU pod's GPU count, CPU and memory requests fit no node shape of its GPU "
    "class (the cluster's, or the catalog's), so it stays Pending",
    remediation="Create a node pool of a shape that holds the pod (docs/deploying.md, node "
    "pools), or lower the pod's GPUs, CPU or memory requests; list the cluster's "
    "shapes in cluster.node-shapes.",
    rationale="The scheduler places a pod on one node; a request larger than every node of "
    "the class leaves it Pending with no autoscaler able to help "
    "(tools/llmfleet/data/node_shapes.yaml; docs/reference/cluster.md).",
    category="gpu",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (4 A100 80GB, 16 CPU, 192 GiB: an a2-ultragpu-4g holds it)::

        nodeSelector: {llmfleet.io/gpu-class: a100-80gb}
        containers:
          - resources:
              requests: {cpu: "16", memory: 192Gi, nvidia.com/gpu: 4}
              limits: {nvidia.com/gpu: 4}

    Failing (``/spec/template/spec/containers/0/resources``; no L4 node has 16 GPUs)::

        nodeSelector: {llmfleet.io/gpu-class: l4}
        containers:
          - resources: {limits: {nvidia.com/gpu: 16}}
    """
    shapes = cluster_shapes(model.cluster.node_shapes)
    for template in model.templates:
        gpus = model.pod_accelerators(template).get(NVIDIA_GPU, 0)
        gpu_class = model.node_selection(template).gpu_class
        if gpus <= 0 or gpu_class is None:
            continue
        candidates = shapes.of_class(gpu_class)
        if not candidates:
            continue
        cpu = template.effective_request("cpu")
        memory = template.effective_request("memory")
        if any(s.fits(gpus, cpu, memory, shapes.headroom) for s in candidates):
            continue
        biggest = max(candidates, key=lambda s: (s.gpus, s.memory, s.cpu))
        holder = next(
            (c for c in template.main_containers if c.request(NVIDIA_GPU) > 0),
            template.main_containers[0] if template.main_containers else None,
        )
        path = holder.resource_path(NVIDIA_GPU).rsplit("/", 2)[0] if holder else template.spec_path
        source = "cluster.node-shapes" if model.cluster.node_shapes else "the catalog's GKE and EKS shapes"
        yield Problem(
            template.resource,
            path,
            f"the pod of {template.ref} needs {gpus} × {gpu_class}, {_cores(cpu)} CPU and "
            f"{float(memory) / 2**30:.1f} GiB (plus {_cores(shapes.headroom[0])} CPU and "
            f"{float(shapes.headroom[1]) / 2**30:.0f} GiB for the node's DaemonSets), more "
            f"than any {gpu_class} node shape of {source} holds (largest: "
            f"{biggest.shown}): it stays Pending",
        )


def _cores(value: Decimal) -> str:
    return f"{float(value):g}"

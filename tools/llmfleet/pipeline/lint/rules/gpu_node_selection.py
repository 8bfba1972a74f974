"""gpu-node-selection: a pod that requests accelerators should say which ones.

A node selection counts when the nodeSelector, or every ORed term of the required node
affinity, names a label that identifies accelerator nodes: this repository's
``llmfleet.io/gpu-class``, GKE's ``cloud.google.com/gke-accelerator`` and compute classes,
NVIDIA GPU Feature Discovery's ``nvidia.com/gpu.product``, Karpenter's GPU labels, or a GPU
instance type (``llmfleet/data/accelerators.yaml``, plus ``cluster.gpu-label-keys``).
A pod whose servers all serve a model small enough for any data-centre GPU (weights under
``small-model-gib``, 8 GiB by default: half of a 16 GB T4, leaving the rest for the KV cache)
need not pick one; the size comes from the catalog or the model's name (for a launcher no
server reading covers, the model a generic ``--model``/``--model-path`` flag names).  Gaudi
(``habana.ai/gaudi``) and TPU resources name their family already.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.servers import model_ids_named, other_servers
from llmfleet.model.vllm.params import estimate
from llmfleet.model.vllm.startup import GIB, bytes_per_parameter
from llmfleet.model.workloads import PodTemplate
from llmfleet.pipeline.lint.api import Option, Options, OverlayModel, Problem, Severity, rule

#: Accelerator resources whose name already fixes the device family (Intel Gaudi, Google TPU
#: slices are chosen by topology selectors of their own): no GPU type to pick.
ONE_FAMILY = ("habana.ai/", "google.com/tpu")


def _small_models_only(model: OverlayModel, template: PodTemplate, limit_gib: float) -> bool:
    """Every server of the pod serves a model of known size under ``limit_gib`` of weights."""
    ids = [s.model_id for s in model.api_servers if s.template is template]
    ids += [o.model_id for o in other_servers(model) if o.template is template]
    if not ids:  # a launcher no engine covers (Dynamo's workers): the model its flags name
        ids = [m for c in template.main_containers for m in model_ids_named(c)]
    if not ids:
        return False
    for model_id in ids:
        size = estimate(model_id) if model_id else None
        if size is None or size.total_b is None:
            return False
        if size.total_b * 1e9 * bytes_per_parameter(model_id) / GIB >= limit_gib:
            return False
    return True


@rule(
    id="gpu-node-selection",
    severity=Severity.WARNING,
    description="A pod requesting accelerators does not select an accelerator type "
    "(nodeSelector or required node affinity on a GPU label)",
    remediation="Add nodeSelector {<gpu label>: <class>} or a required node affinity on it "
    "(llmfleet.io/gpu-class through the GPU component, or a cloud's label such as "
    "cloud.google.com/gke-accelerator: nvidia-l4).",
    rationale="Without a selection the scheduler may place the pod on any node that has the "
    "resource, a T4 as well as an H100: the model may not fit, and capacity planning "
    "and cost cannot tell which GPU the pod uses. Known labels: "
    "tools/llmfleet/data/accelerators.yaml (docs/reference/kubernetes.md).",
    category="gpu",
    options=[
        Option(
            "small-model-gib",
            float,
            8.0,
            "Weights (GiB) under which a model fits any data-centre GPU and no type is asked for.",
            minimum=0,
        )
    ],
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        spec:
          nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4}
          containers: [{name: vllm, resources: {limits: {nvidia.com/gpu: 1}}}]

    Failing (``/spec/template/spec``)::

        spec:
          containers: [{name: vllm, resources: {limits: {nvidia.com/gpu: 1}}}]
    """
    for template in model.templates:
        if template.workload.platform_scheduling or not template.workload.runs_pods:
            continue  # the operator or the platform's serving object places the pods
        requested = model.pod_accelerators(template)
        if not requested or all(name.startswith(ONE_FAMILY) for name in requested):
            continue  # no accelerator, or one whose resource name already fixes the family
        if model.node_selection(template).selects:
            continue
        if _small_models_only(model, template, options["small-model-gib"]):
            continue
        yield Problem(
            template.resource,
            template.spec_path,
            f"the pod of {template.ref} requests accelerators but selects no accelerator "
            "type: no nodeSelector or required node affinity on a GPU label such as "
            f"{', '.join(model.cluster.gpu_label_keys)} or cloud.google.com/gke-accelerator",
        )

"""instance-parallelism: the parallelism a KAITO Workspace asks vLLM for must fit its nodes.

A KAITO ``Workspace`` names a cloud instance type (``resource.instanceType``) instead of a GPU
request, and its vLLM settings in the ConfigMap that ``inference.config`` names
(``inference_config.yaml``, key ``vllm``).  vLLM's tensor parallelism runs inside one node: a
``tensor-parallel-size`` above the GPUs of the instance type cannot start ("... is greater than
the number of available GPUs"), and tensor × pipeline parallelism must fit the nodes
(``resource.count``).  GPUs per instance type: ``llmfleet/data/instance_types.yaml``
(docs/reference/servers.md "Instance types").
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import yaml

from llmfleet.model.k8s import as_dict, dig, to_int
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

CONFIG_KEY = "inference_config.yaml"


@cache
def instance_gpus() -> dict[str, int]:
    text = resources.files("llmfleet").joinpath("data/instance_types.yaml").read_text(encoding="utf-8")
    table = yaml.safe_load(text)["instance-types"]
    return {name: int(entry["gpus"]) for name, entry in table.items()}


def _vllm_settings(model: OverlayModel, name: str, namespace: str) -> dict[str, Any]:
    configmap = model.get("ConfigMap", name, namespace)
    if configmap is None:
        return {}
    text = dig(configmap.data, "data", CONFIG_KEY)
    if not isinstance(text, str):
        return {}
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    settings = as_dict(as_dict(parsed).get("vllm"))
    return {str(k).replace("_", "-"): v for k, v in settings.items()}


@rule(
    id="instance-parallelism",
    severity=Severity.ERROR,
    description="A KAITO Workspace's vLLM tensor (× pipeline) parallelism exceeds the GPUs of its "
    "instance type (per node, or over resource.count nodes)",
    remediation="Lower tensor-parallel-size to the GPUs of one node of the instance type, or pick "
    "an instance type with more GPUs (Standard_NC48ads_A100_v4 has 2, NC96ads 4, ND96 8).",
    rationale="vLLM's tensor parallelism runs on the GPUs of one node; more shards than GPUs "
    "cannot start (docs/reference/servers.md, Instance types).",
    category="gpu",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        resource: {instanceType: Standard_NC48ads_A100_v4}   # 2 GPUs
        inference: {config: params}                          # vllm: {tensor-parallel-size: 2}

    Failing (``/inference/config``)::

        resource: {instanceType: Standard_NC24ads_A100_v4}   # 1 GPU
        inference: {config: params}                          # vllm: {tensor-parallel-size: 2}
    """
    table = instance_gpus()
    for res in model.of_kind("Workspace"):
        if not res.group.startswith("kaito.sh"):
            continue
        instance = dig(res.data, "resource", "instanceType")
        config = dig(res.data, "inference", "config")
        if not isinstance(instance, str) or instance not in table or not isinstance(config, str):
            continue
        settings = _vllm_settings(model, config, res.namespace)
        tp = to_int(settings.get("tensor-parallel-size"), None) or 1
        pp = to_int(settings.get("pipeline-parallel-size"), None) or 1
        per_node = table[instance]
        nodes = to_int(dig(res.data, "resource", "count"), None) or 1
        if tp > per_node or tp * pp > per_node * nodes:
            yield Problem(
                res,
                "/inference/config",
                f"ConfigMap {config!r} asks vLLM for tensor-parallel-size {tp}"
                + (f" × pipeline-parallel-size {pp}" if pp > 1 else "")
                + f", but {instance} has {per_node} GPU(s) per node"
                + (f" ({nodes} nodes)" if nodes > 1 else "")
                + ": vLLM cannot start",
            )

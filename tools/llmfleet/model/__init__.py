"""The fleet model: what a rendered overlay (or a set of files) means, built once per input.

Layers (enforced by import-linter, see pyproject.toml): this package imports nothing from
``llmfleet.pipeline.lint``, the features or the CLI.  Modules:

* :mod:`.k8s`: objects with provenance, JSON pointers, quantities, names, selectors;
* :mod:`.workloads`: pod templates of every workload kind, containers, effective requests;
* :mod:`.accelerators`: accelerator resources and classes from node selection;
* :mod:`.pods`: probes, preStop, grace periods, memory volumes;
* :mod:`.vllm`: vLLM servers and their settings, flags, metrics, images, model sizes;
* :mod:`.scaling`: KEDA ScaledObjects and HPAs with their defaults and targets;
* :mod:`.promql` and :mod:`.monitoring`: PromQL parsed once, rules, monitors, dashboards;
* :mod:`.catalog` and :mod:`.sizing`: the GPU and model catalog and vLLM's memory arithmetic;
* :mod:`.overlay`: :class:`OverlayModel` and :class:`FleetModel`, the facts features need;
* :mod:`.routes`: the model gateway's routes, derived from the fleet.
"""

from llmfleet.model.overlay import AcceleratorUse, ClusterSettings, FleetModel, OverlayModel

__all__ = ["AcceleratorUse", "ClusterSettings", "FleetModel", "OverlayModel"]

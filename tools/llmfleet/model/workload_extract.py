"""The workload an object is: one of the built-in kinds (:mod:`llmfleet.model.workloads`),
else a custom resource of the declarative table (:mod:`llmfleet.model.custom_workloads`)."""

from __future__ import annotations

from llmfleet.model.custom_workloads import custom_reader
from llmfleet.model.k8s import Resource
from llmfleet.model.workloads import WORKLOAD_KINDS, Workload


def extract(res: Resource) -> Workload | None:
    """The workload an object is, or None when it makes no pods."""
    group = res.group.split("/")[0] if res.group else ""
    build = WORKLOAD_KINDS.get((group, res.kind)) or custom_reader(group, res.kind)
    if build is None:
        return None
    return build(res)

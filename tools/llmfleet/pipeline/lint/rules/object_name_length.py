"""object-name-length: names Kubernetes derives from an object must fit their limits.

Beyond the API's own checks on a name (a kubeconform or jsonschema validation does not
see them): a StatefulSet's pods carry ``controller-revision-hash: <name>-<hash>`` (a 52
character name at most), a LeaderWorkerSet's worker StatefulSets are ``<name>-<group>``, a
Job's pods carry ``job-name: <name>``, a Service name is a DNS-1035 label and every label
value has at most 63 characters (docs/reference/cluster.md, "Object name lengths";
``llmfleet.model.names``).  An overlay's namePrefix counts.  ScaledObjects are
scaler-name-length's.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model import names
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="object-name-length",
    severity=Severity.ERROR,
    description="A StatefulSet, LeaderWorkerSet (and its worker StatefulSets), Job or Service "
    "name, or a label value, is longer than Kubernetes allows for the names it "
    "derives from it",
    remediation="Shorten the overlay's name (its namePrefix) or the object's name: a StatefulSet "
    "name at most 52 characters, a LeaderWorkerSet's 52 minus its group suffix, a "
    "Job, Service or label value 63.",
    rationale='Kubernetes then refuses the pods ("must be no more than 63 characters", '
    "kubernetes/kubernetes#64023) or the Service, and the workload never starts "
    '(docs/reference/cluster.md, "Object name lengths").',
    category="names",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        kind: StatefulSet
        metadata: {name: llama-3-1-8b-instruct-cache}

    Failing (``/metadata/name``; 53 characters: the pods' controller-revision-hash label
    would have 64)::

        kind: StatefulSet
        metadata: {name: meta-llama-3-1-8b-instruct-with-a-long-suffix-cache-x}
    """
    groups: dict[str, int] = {}
    for workload in model.workloads:
        if workload.kind == "LeaderWorkerSet":
            maximum = model.replicas(workload).maximum
            groups[workload.name] = maximum or 1
    for item in names.limits(model.resources, groups):
        if item.resource.kind == "ScaledObject" or item.over <= 0:
            continue
        shown = "" if item.name == item.resource.name else f" (derived name {item.name!r})"
        yield Problem(
            item.resource,
            item.path,
            f"{item.resource.kind} {item.resource.name!r}{shown} has {len(item.name)} characters, "
            f"{item.over} over the {item.limit} allowed: {item.why}",
        )

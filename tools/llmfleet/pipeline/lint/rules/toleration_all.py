"""toleration-all: a model server's pods should not tolerate every taint.

A toleration with no ``key`` and ``operator: Exists`` "matches all keys, values and effects
which means this will tolerate everything" (Kubernetes "Taints and Tolerations").  The pods then
also tolerate the ``NoExecute`` taints the node controller puts on a node that stops answering
(``node.kubernetes.io/not-ready``, ``node.kubernetes.io/unreachable``) for ever: the
DefaultTolerationSeconds admission adds its 300 s tolerations only to pods that tolerate neither,
so a pod on a dead node is never evicted and never rescheduled, and the scheduler may place the
pods on nodes tainted for other work.  DaemonSets, which are meant to run on every node, are not
judged; nor is a toleration limited by ``effect: NoSchedule``/``PreferNoSchedule`` or by
``tolerationSeconds``.  A warning: a choice some operators make on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.k8s import as_list
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="toleration-all",
    severity=Severity.WARNING,
    description="A pod template tolerates every taint (no key, operator Exists), including a "
    "failed node's NoExecute taints: its pods are never evicted from a dead node",
    remediation="Tolerate the taints meant for these pods by key (nvidia.com/gpu, ...), or limit "
    "the catch-all with effect: NoSchedule or tolerationSeconds.",
    rationale="A catch-all toleration also tolerates node.kubernetes.io/not-ready and "
    "unreachable without a time limit: a server on a failed node stays bound to it "
    "(Kubernetes 'Taints and Tolerations').",
    category="scheduling",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]

    Failing (``/spec/template/spec/tolerations/0``)::

        tolerations: [{operator: Exists}]
    """
    for template in model.templates:
        if template.workload.kind == "DaemonSet" or not template.workload.runs_pods:
            continue
        for i, item in enumerate(as_list(template.spec.get("tolerations"))):
            if (
                isinstance(item, dict)
                and not item.get("key")
                and item.get("operator") == "Exists"
                and item.get("effect") in (None, "", "NoExecute")
                and item.get("tolerationSeconds") is None
            ):
                yield Problem(
                    template.resource,
                    f"{template.spec_path}/tolerations/{i}",
                    f"the pod of {template.ref} tolerates every taint (no key, operator Exists), "
                    "including node.kubernetes.io/not-ready and unreachable: on a failed node it is "
                    "never evicted, and it may land on nodes tainted for other work",
                )
                break

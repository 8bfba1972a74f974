"""shutdown-prestop: the vLLM container needs a preStop sleep.

While vLLM drains on SIGTERM, ``/health`` stays 200 and the listener stays up: vLLM does not
flip readiness itself, so the pod keeps receiving new requests until the endpoint controller
and the load balancers have removed it (docs/reference/vllm.md §3.4).  A preStop
``sleep`` delays SIGTERM until traffic has moved away; KServe uses 15 s (PR #5496).
kube-score's README recommends the same, and no linter checks it (docs/reference/tooling.md §0).  Accepted:
``lifecycle.preStop.sleep.seconds`` (Kubernetes 1.30+) or ``exec`` running ``sleep N``.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.pods import prestop_sleep
from llmfleet.model.served import served
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="shutdown-prestop",
    severity=Severity.WARNING,
    description="An LLM server container (vLLM, SGLang, TGI, NIM, ...) has no preStop sleep, so it "
    "is sent traffic while it drains",
    remediation="Add lifecycle: {preStop: {sleep: {seconds: 15}}} to the server container.",
    rationale="Endpoints are removed asynchronously after a pod starts terminating; during "
    "that time kube-proxy and gateways still send it requests, which a draining vLLM "
    "refuses. A preStop sleep keeps it serving until they have moved on "
    "(docs/reference/vllm.md §3.4).",
    category="shutdown",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        lifecycle: {preStop: {sleep: {seconds: 15}}}

    Failing (``/spec/template/spec/containers/0``): no ``lifecycle.preStop``; or
    (``.../lifecycle/preStop``) a preStop that does not sleep.
    """
    for item in served(model):
        if item.platform_probes:
            continue  # a runtime template: the serving platform owns the pod's lifecycle
        seconds, path = prestop_sleep(item.container)
        if seconds is None or seconds <= 0:
            yield Problem(
                item.resource,
                path,
                f"container {item.container.name!r} ({item.engine}) has no preStop sleep: it gets "
                "new requests until endpoints are updated, while it drains or stops",
            )

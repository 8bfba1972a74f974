"""scaler-target: a ScaledObject must scale a workload of the same input and namespace.

KEDA's admission webhook does not check that ``scaleTargetRef`` exists; the controller only
marks the ScaledObject ``Ready=False`` (ScaleTargetNotFound) at reconcile time
(docs/reference/tooling.md §8 "Not checked by the webhook").  ``kind`` defaults to
Deployment and ``apiVersion`` to apps/v1 (KEDA ScaleTarget), and the target must live in the
ScaledObject's namespace.  An overlay renders both, so the target must be in the same input.
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import resolve_target


@rule(id="scaler-target", severity=Severity.ERROR,
      description="A ScaledObject's scaleTargetRef names no workload in the same input and "
                  "namespace",
      remediation="Point spec.scaleTargetRef.name (and kind/apiVersion) at the rendered "
                  "Deployment of the overlay; mind name prefixes and suffixes from kustomize.",
      category="scaler")
def check(ctx):
    """Passing::

        kind: ScaledObject
        spec: {scaleTargetRef: {name: vllm-llama}}     # a Deployment vllm-llama in the same ns

    Failing (``/spec/scaleTargetRef``)::

        kind: ScaledObject
        spec: {scaleTargetRef: {name: vllm}}           # no such Deployment
    """
    for scaled in ctx.of_kind("ScaledObject"):
        workload, ref = resolve_target(ctx, scaled)
        if workload is not None:
            continue
        if not ref:
            yield Problem(scaled, "/spec", "the ScaledObject has no spec.scaleTargetRef")
            continue
        kind = ref.get("kind") or "Deployment"
        api = ref.get("apiVersion") or "apps/v1"
        yield Problem(scaled, "/spec/scaleTargetRef",
                      f"scaleTargetRef {api} {kind} {ref.get('name')!r} is not in this input "
                      f"(namespace {scaled.namespace or '<none>'!r}): KEDA reports "
                      "ScaleTargetNotFound and never scales")

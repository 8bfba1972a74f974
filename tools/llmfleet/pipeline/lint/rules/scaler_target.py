"""scaler-target: a ScaledObject must scale a workload of the same input and namespace.

KEDA's admission webhook does not check that ``scaleTargetRef`` exists; the controller only
marks the ScaledObject ``Ready=False`` (ScaleTargetNotFound) at reconcile time
(docs/reference/tooling.md §8 "Not checked by the webhook").  ``kind`` defaults to
Deployment and ``apiVersion`` to apps/v1 (KEDA ScaleTarget), and the target must live in the
ScaledObject's namespace.  An overlay renders both, so the target must be in the same input.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="scaler-target",
    severity=Severity.ERROR,
    description="A ScaledObject's scaleTargetRef names no workload in the same input and namespace",
    remediation="Point spec.scaleTargetRef.name (and kind/apiVersion) at the rendered "
    "Deployment of the overlay; mind name prefixes and suffixes from kustomize.",
    rationale="KEDA reports ScaleTargetNotFound and never scales; with kustomize, a namePrefix "
    "that the ScaledObject's reference does not follow is the usual cause "
    "(docs/reference/tooling.md §8).",
    category="scaler",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        kind: ScaledObject
        spec: {scaleTargetRef: {name: vllm-llama}}     # a Deployment vllm-llama in the same ns

    Failing (``/spec/scaleTargetRef``)::

        kind: ScaledObject
        spec: {scaleTargetRef: {name: vllm}}           # no such Deployment
    """
    for scaler in model.scaled_objects:
        if scaler.target is not None:
            continue
        scaled = scaler.resource
        ref = scaler.target_ref
        if ref.explicit and not model.is_overlay and not model.workloads:
            continue  # a lone ScaledObject file: its target is deployed from elsewhere
        if not ref.explicit:
            yield Problem(scaled, "/spec", "the ScaledObject has no spec.scaleTargetRef")
            continue
        yield Problem(
            scaled,
            "/spec/scaleTargetRef",
            f"scaleTargetRef {ref.api_version} {ref.kind} {ref.name!r} is not in this input "
            f"(namespace {scaled.namespace or '<none>'!r}): KEDA reports "
            "ScaleTargetNotFound and never scales",
        )

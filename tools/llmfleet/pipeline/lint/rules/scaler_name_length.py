"""scaler-name-length: a ScaledObject name must leave room for KEDA's HPA name.

KEDA creates one HorizontalPodAutoscaler per ScaledObject, named ``keda-hpa-<name>``.  The
HPA name is used as a label value (63 characters at most), so a ScaledObject name over 54
characters gives an HPA KEDA cannot create: the ScaledObject never scales
(docs/reference/tooling.md §8).  kustomize's namePrefix from an overlay counts too.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.scaling import KEDA_HPA_PREFIX, KEDA_MAX_NAME
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="scaler-name-length",
    severity=Severity.ERROR,
    description=f"A ScaledObject name is longer than {KEDA_MAX_NAME} characters, so KEDA cannot "
    f"create its {KEDA_HPA_PREFIX}<name> HPA",
    remediation="Shorten the overlay's name (its namePrefix) or the ScaledObject's name, or set "
    "spec.advanced.horizontalPodAutoscalerConfig.name to a name of 63 characters or less.",
    rationale="The HPA's name becomes a label value, limited to 63 characters; KEDA prefixes "
    "keda-hpa- (docs/reference/tooling.md §8).",
    category="scaler",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        kind: ScaledObject
        metadata: {name: llama-3-1-8b-instruct-server}

    Failing (``/metadata/name``)::

        kind: ScaledObject
        metadata: {name: meta-llama-3-1-8b-instruct-with-a-very-long-suffix-server}
    """
    for scaler in model.scaled_objects:
        res = scaler.resource
        custom = (
            res.spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {}).get("name")
            if isinstance(res.spec.get("advanced"), dict)
            and isinstance(res.spec["advanced"].get("horizontalPodAutoscalerConfig"), dict)
            else None
        )
        if custom:
            continue
        if len(res.name) > KEDA_MAX_NAME:
            yield Problem(
                res,
                "/metadata/name",
                f"ScaledObject name {res.name!r} has {len(res.name)} characters: KEDA's HPA "
                f"{KEDA_HPA_PREFIX}{res.name} would have {len(KEDA_HPA_PREFIX) + len(res.name)}, "
                f"over the 63 a label value allows; at most {KEDA_MAX_NAME}",
            )

"""fleet-duplicate-model: overlays in one namespace must not collide.

Across every overlay of ``check``: a served model name served by two overlays (the gateway
and the ``model_name`` metric label cannot tell them apart), an object rendered by two
overlays (two Argo CD Applications would own it), a ScaledObject that scales another
overlay's workload, and a Service, PodMonitor, PodDisruptionBudget or NetworkPolicy whose
selector matches another overlay's pods.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.k8s import dig, selector_matches
from llmfleet.model.scaling import resolve
from llmfleet.pipeline.lint.api import FleetModel, Options, Problem, Severity, rule

SELECTORS = {
    "Service": (("spec", "selector"), "/spec/selector", True),
    "PodMonitor": (("spec", "selector"), "/spec/selector", False),
    "PodDisruptionBudget": (("spec", "selector"), "/spec/selector", False),
    "NetworkPolicy": (("spec", "podSelector"), "/spec/podSelector", False),
}


@rule(
    id="fleet-duplicate-model",
    severity=Severity.ERROR,
    scope="fleet",
    description="Two overlays serve the same model name, share an object name, or one "
    "overlay's selectors match another overlay's pods in the same namespace",
    remediation="Give every overlay its own served-model-name and labels (the overlay's "
    "labels/namePrefix in kustomization.yaml), so its selectors match only its pods.",
    rationale="The gateway routes by model name and the metrics are labelled by it: two "
    "overlays with one name collide; objects of the same name are owned by two Argo CD "
    "Applications that overwrite each other; a shared selector sends one model's "
    "traffic, scraping or disruption budget to another's pods.",
    category="fleet",
)
def check(fleet: FleetModel, options: Options) -> Iterator[Problem]:
    """Passing: overlays ``llama`` and ``mistral`` with distinct served-model-name and
    distinct ``app.kubernetes.io/instance`` labels.

    Failing (``/data/serve.yaml`` of the second overlay's ConfigMap, or a Service's
    ``/spec/selector``): both serve ``served-model-name: llama``, or a Service selecting
    ``{app.kubernetes.io/name: vllm}`` matches the pods of both.
    """
    served: dict[str, str] = {}
    items = sorted(fleet.overlays.items())
    for name, model in items:
        for served_name, server in model.served_models:
            if served_name in served and served[served_name] != name:
                where = server.get("served-model-name") or server.model
                resource = where.resource if where else server.resource
                path = where.path if where else server.container.path
                yield Problem(
                    resource,
                    path,
                    f"overlay {name!r} serves model name {served_name!r}, which overlay "
                    f"{served[served_name]!r} serves too",
                )
            else:
                served.setdefault(served_name, name)
    owners: dict[tuple[str, str, str], str] = {}
    for name, model in items:
        for res in model.resources:
            key = (res.kind, res.namespace, res.name)
            if key in owners and owners[key] != name:
                yield Problem(
                    res,
                    "/metadata/name",
                    f"{res.ref} is also rendered by overlay {owners[key]!r}: two Applications would own it",
                )
            else:
                owners.setdefault(key, name)
    for name, model in items:
        for scaler in model.scaled_objects:
            if scaler.target is not None:
                continue
            for other, other_model in items:
                if other == name:
                    continue
                target = resolve(scaler.target_ref, scaler.resource.namespace, other_model.workloads)
                if target is not None:
                    yield Problem(
                        scaler.resource,
                        "/spec/scaleTargetRef",
                        f"{scaler.resource.ref} scales {target.resource.ref} of overlay {other!r}",
                    )
        for kind, (keys, path, plain) in SELECTORS.items():
            for res in model.of_kind(kind):
                selector = dig(res.data, *keys)
                if plain:
                    selector = {"matchLabels": selector} if isinstance(selector, dict) and selector else None
                if not isinstance(selector, dict):
                    continue
                for other, other_model in items:
                    if other == name:
                        continue
                    hits = [
                        t
                        for t in other_model.templates
                        if t.namespace == res.namespace and selector_matches(selector, t.labels)
                    ]
                    if hits:
                        yield Problem(
                            res,
                            path,
                            f"the selector of {res.ref} also matches the pods of "
                            f"{hits[0].resource.ref} from overlay {other!r}",
                        )

"""fleet-duplicate-model: overlays must not serve the same model or select each other's pods.

Each overlay is one Argo CD Application (docs/reference/tooling.md §9).  Two overlays that serve the same
model name produce the same ``model_name`` metric label (docs/reference/vllm-0.33.md §1.1),
so their autoscaling queries and alerts mix, and a model-routing gateway cannot tell them
apart.  In a shared namespace, an overlay's label selectors (Service, PodMonitor,
PodDisruptionBudget, NetworkPolicy) that also match another overlay's pod template send
traffic to, scrape, or block eviction of the wrong model; a ScaledObject whose
scaleTargetRef names another overlay's workload scales the wrong model (KEDA resolves the
target by name in the namespace: docs/reference/tooling.md §8); and the same kind/name in two overlays
makes two Applications fight over one object.
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.context import dig, selector_matches
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import resolve_target
from llmfleet.vllm.settings import all_settings

SELECTORS = {
    "Service": (("spec", "selector"), "/spec/selector", True),
    "PodMonitor": (("spec", "selector"), "/spec/selector", False),
    "PodDisruptionBudget": (("spec", "selector"), "/spec/selector", False),
    "NetworkPolicy": (("spec", "podSelector"), "/spec/podSelector", False),
}


@rule(id="fleet-duplicate-model", severity=Severity.ERROR, scope="fleet",
      description="Two overlays serve the same model name, share an object name, or one "
                  "overlay's selectors match another overlay's pods in the same namespace",
      remediation="Give every overlay its own served-model-name and labels (the overlay's "
                  "labels/nameSuffix in kustomization.yaml), so its selectors match only its pods.",
      category="fleet")
def check(fleet):
    """Passing: overlays ``llama`` and ``mistral`` with distinct served-model-name and
    distinct ``app.kubernetes.io/instance`` labels.

    Failing (``/data/serve.yaml`` of the second overlay's ConfigMap, or a Service's
    ``/spec/selector``): both serve ``served-model-name: llama``, or a Service selecting
    ``{app.kubernetes.io/name: vllm}`` matches the pods of both.
    """
    served: dict[str, tuple[str, object]] = {}
    for name, ctx in sorted(fleet.overlays.items()):
        for settings in all_settings(ctx):
            model = settings.served_model_name
            if not model:
                continue
            if model in served and served[model][0] != name:
                where = settings.get("served-model-name") or settings.model
                resource = where.resource if where else settings.container.workload.resource
                path = where.path if where else settings.container.path
                yield Problem(resource, path,
                              f"overlay {name!r} serves model name {model!r}, which overlay "
                              f"{served[model][0]!r} serves too")
            else:
                served.setdefault(model, (name, settings))
    owners: dict[tuple[str, str, str], str] = {}
    items = sorted(fleet.overlays.items())
    for name, ctx in items:
        for res in ctx.resources:
            key = (res.kind, res.namespace, res.name)
            if key in owners and owners[key] != name:
                yield Problem(res, "/metadata/name",
                              f"{res.ref} is also rendered by overlay {owners[key]!r}: two "
                              "Applications would own it")
            else:
                owners.setdefault(key, name)
    for name, ctx in items:
        for scaled in ctx.of_kind("ScaledObject"):
            if resolve_target(ctx, scaled)[0] is not None:
                continue
            for other, other_ctx in items:
                target, _ = resolve_target(other_ctx, scaled) if other != name else (None, {})
                if target is not None:
                    yield Problem(scaled, "/spec/scaleTargetRef",
                                  f"{scaled.ref} scales {target.resource.ref} of overlay {other!r}")
        for kind, (keys, path, plain) in SELECTORS.items():
            for res in ctx.of_kind(kind):
                selector = dig(res.data, *keys)
                if plain:
                    selector = {"matchLabels": selector} if isinstance(selector, dict) and selector else None
                if not isinstance(selector, dict):
                    continue
                for other, other_ctx in items:
                    if other == name:
                        continue
                    hits = [w for w in other_ctx.workloads if w.namespace == res.namespace
                            and selector_matches(selector, w.template_labels)]
                    if hits:
                        yield Problem(res, path,
                                      f"the selector of {res.ref} also matches the pods of "
                                      f"{hits[0].resource.ref} from overlay {other!r}")

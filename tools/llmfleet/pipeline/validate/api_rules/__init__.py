"""API validation beyond the schemas: what kube-apiserver's own validation code, a CRD's CEL
rules and the PodSecurity admission plugin would refuse (docs/reference/api-validation.md).

:func:`api_problems` checks one object as the server validates it on create;
:func:`pod_templates` yields the pod templates that Pod Security evaluates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmfleet.pipeline.validate.api_rules import others, workloads
from llmfleet.pipeline.validate.api_rules.metadata import check_object_meta
from llmfleet.pipeline.validate.api_rules.pods import check_pod_spec
from llmfleet.pipeline.validate.api_rules.problems import Problems

_POD_POLICIES = frozenset({"Always", "OnFailure", "Never"})
#: Kinds whose objects are not in a namespace (a namespace on them is ignored by the server).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "PriorityClass",
        "CustomResourceDefinition",
        "IngressClass",
        "GatewayClass",
        "ClusterTriggerAuthentication",
        "ClusterServingRuntime",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
    }
)


def _spec(data: dict[str, Any]) -> dict[str, Any]:
    spec = data.get("spec")
    return spec if isinstance(spec, dict) else {}


def api_problems(data: dict[str, Any], group: str, kind: str) -> Problems:
    problems = Problems()
    check_object_meta(data, group, kind, kind not in CLUSTER_SCOPED, problems)
    spec = _spec(data)
    match (group, kind):
        case ("apps", "Deployment"):
            workloads.check_deployment(spec, problems)
        case ("apps", "StatefulSet" | "ReplicaSet" | "DaemonSet"):
            workloads.check_replicated(spec, problems, kind.lower())
        case ("batch", "Job"):
            workloads.check_job_spec(spec, ("spec",), problems)
        case ("batch", "CronJob"):
            workloads.check_cron_job(spec, problems)
        case ("", "Pod"):
            check_pod_spec(spec, ("spec",), problems, _POD_POLICIES)
        case ("", "PodTemplate"):
            workloads.check_template(data.get("template"), ("template",), problems, _POD_POLICIES)
        case ("policy", "PodDisruptionBudget"):
            others.check_pdb(spec, problems)
        case ("autoscaling", "HorizontalPodAutoscaler"):
            others.check_hpa(spec, problems)
        case ("", "Service"):
            others.check_service(spec, problems)
        case ("", "ConfigMap"):
            others.check_config_map(data, problems)
        case ("", "ResourceQuota"):
            others.check_resource_quota(spec, problems)
        case ("", "PersistentVolumeClaim"):
            others.check_pvc(spec, problems)
        case ("", "Namespace"):
            others.check_namespace(data, problems)
    return problems


def _template_at(data: Any, *path: str) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    node = data
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return (path, node) if isinstance(node, dict) else None


_TEMPLATE_PATHS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("", "ReplicationController"): (("spec", "template"),),
    ("", "PodTemplate"): (("template",),),
    ("apps", "ReplicaSet"): (("spec", "template"),),
    ("apps", "Deployment"): (("spec", "template"),),
    ("apps", "StatefulSet"): (("spec", "template"),),
    ("apps", "DaemonSet"): (("spec", "template"),),
    ("batch", "Job"): (("spec", "template"),),
    ("batch", "CronJob"): (("spec", "jobTemplate", "spec", "template"),),
    # Not evaluated by the admission plugin itself (a custom resource), but every pod the
    # LeaderWorkerSet controller creates from these templates is.
    ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"): (
        ("spec", "leaderWorkerTemplate", "leaderTemplate"),
        ("spec", "leaderWorkerTemplate", "workerTemplate"),
    ),
}


def pod_templates(data: dict[str, Any], group: str, kind: str) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """(path of the template, its metadata, its pod spec) for each pod an object describes."""
    if (group, kind) == ("", "Pod"):
        yield (), data.get("metadata"), data.get("spec")
        return
    for path in _TEMPLATE_PATHS.get((group, kind), ()):
        found = _template_at(data, *path)
        if found is not None:
            yield found[0], found[1].get("metadata"), found[1].get("spec")

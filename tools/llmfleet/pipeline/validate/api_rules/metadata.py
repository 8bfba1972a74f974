"""ObjectMeta as the API server validates it for every object, custom resources included
(k8s.io/apimachinery pkg/api/validation/objectmeta.go ValidateObjectMetaAccessor, and
pkg/apis/meta/v1/validation ValidateLabels), with each kind's own name rule
(docs/reference/api-validation.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmfleet.kube import names
from llmfleet.pipeline.validate.api_rules.problems import Problems

#: 256 KiB: the total size of an object's annotations, keys and values (TotalAnnotationSizeLimitB).
ANNOTATIONS_MAX_BYTES = 256 * 1024

#: API groups served by kube-apiserver itself (everything else is a custom resource here).
BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "certificates.k8s.io",
        "node.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "resource.k8s.io",
        "events.k8s.io",
        "apiregistration.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "storagemigration.k8s.io",
        "internal.apiserver.k8s.io",
    }
)

NameRule = Callable[[str], list[str]]


def _job_name(name: str) -> list[str]:
    # The Job strategy copies the name into the batch.kubernetes.io/job-name label of the
    # template, so a name over 63 characters fails as that label's value.
    return names.dns1123_subdomain(name) or names.label_value(name)


def _cron_job_name(name: str) -> list[str]:
    problems = names.dns1123_subdomain(name)
    return problems + (["must be no more than 52 characters"] if len(name) > 52 else [])


_SUBDOMAIN_KINDS = {
    ("", k)
    for k in (
        "Pod",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "PersistentVolumeClaim",
        "PersistentVolume",
        "ResourceQuota",
        "LimitRange",
        "Endpoints",
        "Node",
        "ReplicationController",
        "PodTemplate",
    )
} | {
    ("apps", "Deployment"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("apps", "ControllerRevision"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "StorageClass"),
}
_NAME_RULES: dict[tuple[str, str], NameRule] = {
    ("", "Namespace"): names.dns1123_label,
    # A DNS-1035 label up to 1.35; RelaxedServiceNameValidation (beta, on by default from
    # 1.36, KEP-5311) accepts a DNS-1123 label: the rule that refuses nothing the server takes.
    ("", "Service"): names.dns1123_label,
    ("apps", "StatefulSet"): names.dns1123_label,
    ("batch", "Job"): _job_name,
    ("batch", "CronJob"): _cron_job_name,
    **{
        ("rbac.authorization.k8s.io", k): names.path_segment_name
        for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
    },
    **dict.fromkeys(_SUBDOMAIN_KINDS, names.dns1123_subdomain),
}


def name_rule(group: str, kind: str) -> NameRule:
    """The kind's name rule; custom resources' names are DNS subdomains
    (apiextensions-apiserver pkg/registry/customresource/validator.go).  A built-in kind not
    listed here (a PodDisruptionBudget: its validation checks the spec only) gets what every
    create checks (apiserver pkg/registry/rest/create.go BeforeCreate): a path segment name."""
    if group not in BUILTIN_GROUPS:
        return names.dns1123_subdomain
    return _NAME_RULES.get((group, kind), names.path_segment_name)


def check_labels(labels: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        key_text = str(key)
        problems.extend((*path, key_text), (f"label key: {m}" for m in names.qualified_name(key_text)))
        if isinstance(value, str):
            problems.extend((*path, key_text), (f"label value: {m}" for m in names.label_value(value)))
        elif value is not None:
            problems.add((*path, key_text), "label value: must be a string (quote it in YAML)")


def check_annotations(annotations: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if not isinstance(annotations, dict):
        return
    total = 0
    for key, value in annotations.items():
        key_text = str(key)
        problems.extend(
            (*path, key_text), (f"annotation key: {m}" for m in names.qualified_name(key_text.lower()))
        )
        if isinstance(value, str):
            total += len(key_text.encode()) + len(value.encode())
        elif value is not None:
            problems.add((*path, key_text), "annotation value: must be a string (quote it in YAML)")
    if total > ANNOTATIONS_MAX_BYTES:
        problems.add(path, f"annotations: may not have more than {ANNOTATIONS_MAX_BYTES} bytes in total")


def check_object_meta(
    data: dict[str, Any], group: str, kind: str, namespaced: bool | None, problems: Problems
) -> None:
    meta = data.get("metadata")
    if not isinstance(meta, dict):
        return
    name = meta.get("name")
    rule = name_rule(group, kind)
    if isinstance(name, str) and name:
        problems.extend(("metadata", "name"), (f"name: {m}" for m in rule(name)))
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and namespace and namespaced is not False:
        problems.extend(
            ("metadata", "namespace"), (f"namespace: {m}" for m in names.dns1123_label(namespace))
        )
    check_labels(meta.get("labels"), ("metadata", "labels"), problems)
    check_annotations(meta.get("annotations"), ("metadata", "annotations"), problems)

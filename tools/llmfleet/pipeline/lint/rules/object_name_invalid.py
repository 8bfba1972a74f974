"""object-name-invalid: the names the API server checks on the objects that serve a model.

``llmfleet validate`` checks every kind's name rule; ``lint`` alone (what a repository that
is not this one runs on its manifests) checks the ones that stop a model server for sure: a
workload, Service, ConfigMap, Secret or PersistentVolumeClaim whose name the API server refuses
(upper case, ``_``, a leading digit where a label is needed), and container names, which must
be DNS-1123 labels (Kubernetes ``pkg/apis/core/validation/validation.go``: Pod, ConfigMap,
Secret, PVC, ServiceAccount names ``NameIsDNSSubdomain``, container names ``IsDNS1123Label``;
``apps`` validation: Deployment, ReplicaSet, DaemonSet subdomains, StatefulSet a DNS-1123
label; Service a DNS-1123 label from 1.36, a DNS-1035 label before; docs/reference/api-validation.md
"Names").  The object, or the pods it makes, is refused at apply.  Names holding template
markers (``$``, ``{{``, ``<``) are filled before apply and not judged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from llmfleet.kube import names
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

NAME_RULES: dict[tuple[str, str], Callable[[str], list[str]]] = {
    ("apps", "StatefulSet"): names.dns1123_label,
    ("", "Service"): names.dns1123_label,
    **dict.fromkeys(
        [
            ("apps", "Deployment"),
            ("apps", "DaemonSet"),
            ("apps", "ReplicaSet"),
            ("", "Pod"),
            ("", "ConfigMap"),
            ("", "Secret"),
            ("", "PersistentVolumeClaim"),
            ("", "ServiceAccount"),
        ],
        names.dns1123_subdomain,
    ),
}
TEMPLATE_MARKS = ("$", "{{", "<")


@rule(
    id="object-name-invalid",
    severity=Severity.ERROR,
    description="A workload, Service, ConfigMap, Secret or claim name, or a container name, that "
    "the API server refuses (upper case, underscores, ...)",
    remediation="Use lower-case letters, digits and '-' (and '.' in subdomain names), starting and "
    "ending with a letter or digit; container names are DNS-1123 labels.",
    rationale="The API server rejects the object (or its pods) at apply: nothing of it runs "
    "(docs/reference/api-validation.md, Names).",
    category="names",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        kind: Deployment
        metadata: {name: tiny-model}

    Failing (``/metadata/name``)::

        kind: Deployment
        metadata: {name: MyTinyModel}
    """
    for res in model.resources:
        check_name = NAME_RULES.get((res.group.split("/")[0] if res.group else "", res.kind))
        if check_name is None or not res.name or any(m in res.name for m in TEMPLATE_MARKS):
            continue
        problems = check_name(res.name)
        if problems:
            yield Problem(res, "/metadata/name", f"{res.kind} name {res.name!r}: {'; '.join(problems)}")
    for workload in model.workloads:
        for container in workload.containers():
            name = container.data.get("name")
            if not isinstance(name, str) or not name or any(m in name for m in TEMPLATE_MARKS):
                continue
            problems = names.dns1123_label(name)
            if problems:
                yield Problem(
                    container.resource,
                    f"{container.path}/name",
                    f"container name {name!r}: {'; '.join(problems)}; the pods are refused",
                )

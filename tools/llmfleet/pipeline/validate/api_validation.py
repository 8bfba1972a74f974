"""The validation step after the schemas: the API server's own checks, a CRD's CEL rules and
Pod Security at each namespace's level (llmfleet.pipeline.validate.api_rules), as findings.

Explicit ``null`` values in mappings are dropped first, as the server does (a JSON null
decodes to an unset field; server-side apply removes the field; CRD schemas prune nulls of
non-nullable fields): see :func:`drop_nulls`; a custom resource gets its schema's defaults
(:meth:`ApiValidator.as_the_server_sees`), before the schema step too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llmfleet.infra.findings import Finding, Severity
from llmfleet.model.k8s import Resource, pointer
from llmfleet.pipeline.builtin_checks import API_VALIDATION, CRD_RULE, POD_SECURITY_ADMISSION
from llmfleet.pipeline.manifests import load_bytes
from llmfleet.pipeline.validate.api_rules import CLUSTER_SCOPED, api_problems, cel_rules, pod_templates
from llmfleet.pipeline.validate.api_rules import pod_security_admission as psa
from llmfleet.pipeline.validate.api_rules.problems import Problems
from llmfleet.pipeline.validate.api_rules.structural import with_defaults
from llmfleet.pipeline.validate.valid_cache import ValidCache
from llmfleet.pipeline.validate.versions import distribution_version

CEL_VERSION = distribution_version("cel-python", "celpy")

#: The PodSecurity admission plugin's default when a namespace sets no level
#: (AdmissionConfiguration defaults: enforce privileged, latest).
DEFAULT_POLICY = ("privileged", psa.LATEST)


def drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def without_nulls(resource: Resource) -> Resource:
    return dataclasses.replace(resource, data=drop_nulls(resource.data))


def _findings(resource: Resource, rule: str, problems: Problems) -> list[Finding]:
    return [
        resource.finding(rule, Severity.ERROR, message, pointer(*path)) for path, message in problems.items
    ]


def namespace_policy(data: dict[str, Any]) -> tuple[str, tuple[int, int]] | None:
    """The (level, version) a Namespace object enforces, or None when it sets no valid one."""
    meta = data.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(labels, dict) or psa.ENFORCE_LABEL not in labels:
        return None
    level = psa.parse_level(labels.get(psa.ENFORCE_LABEL))
    # An invalid level or version is evaluated as restricted / latest (PolicyToEvaluate).
    version = psa.parse_version(labels.get(psa.ENFORCE_VERSION_LABEL, "latest")) or psa.LATEST
    return (level or "restricted", version)


def platform_namespaces(folders: Iterable[Path]) -> dict[str, tuple[str, tuple[int, int]]]:
    """The Namespace objects written in the platform folders' YAML files (read as plain
    files: a Namespace is never generated), by name."""
    found: dict[str, tuple[str, tuple[int, int]]] = {}
    for folder in folders:
        for path in sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")]):
            try:
                resources, _ = load_bytes(path.read_bytes(), str(path))
            except OSError:
                continue
            for resource in resources:
                if resource.kind == "Namespace" and resource.api_version == "v1" and resource.name:
                    policy = namespace_policy(resource.data)
                    if policy is not None:
                        found[resource.name] = policy
    return found


class ApiValidator:
    """Checks objects as the API server would on create; remembers each Namespace's Pod
    Security level across the inputs of one run."""

    def __init__(
        self,
        crd_schema=None,
        namespaces: dict[str, tuple[str, tuple[int, int]]] | None = None,
        known: ValidCache | None = None,
    ):
        #: (apiVersion, kind) -> the CRD's schema dict, or None.
        self.crd_schema = crd_schema
        self.namespaces = dict(namespaces or {})
        #: Custom resources whose CRD rules held in an earlier run (CEL is not even imported
        #: when every object is known): keyed by the schema's digest and the object.
        self.known = known
        self._digests: dict[int, str] = {}

    def _digest(self, schema: dict[str, Any]) -> str:
        if id(schema) not in self._digests:
            text = json.dumps(schema, sort_keys=True, default=str)
            self._digests[id(schema)] = hashlib.sha256(f"crd-rules {CEL_VERSION} {text}".encode()).hexdigest()
        return self._digests[id(schema)]

    def crd_rule_findings(self, resource: Resource, schema: dict[str, Any]) -> list[Finding]:
        key = self.known.key(self._digest(schema), resource.data) if self.known is not None else ""
        if self.known is not None and self.known.known_valid(key):
            return []
        problems = Problems()
        cel_rules.check_custom_resource(schema, resource.data, problems)
        if not problems.items and self.known is not None:
            self.known.remember(key)
        return _findings(resource, CRD_RULE, problems)

    def save(self) -> None:
        if self.known is not None:
            self.known.save()

    def as_the_server_sees(self, resource: Resource) -> Resource:
        """The object as the server validates it: explicit nulls dropped, and a custom
        resource's schema defaults applied (a CRD schema's oneOf may depend on a default)."""
        resource = without_nulls(resource)
        schema = self.crd_schema(resource.api_version, resource.kind) if self.crd_schema else None
        if schema is None:
            return resource
        return dataclasses.replace(resource, data=with_defaults(schema, resource.data))

    def __call__(self, resources: list[Resource]) -> list[Finding]:
        for resource in resources:
            if resource.kind == "Namespace" and resource.api_version == "v1":
                policy = namespace_policy(resource.data)
                if policy is not None and resource.name:
                    self.namespaces[resource.name] = policy
        findings: list[Finding] = []
        for resource in resources:
            findings += self.check(resource)
        return findings

    def check(self, resource: Resource) -> list[Finding]:
        data, group, kind = resource.data, resource.group, resource.kind
        findings = _findings(resource, API_VALIDATION, api_problems(data, group, kind))
        schema = self.crd_schema(resource.api_version, kind) if self.crd_schema else None
        if schema is not None:
            findings += self.crd_rule_findings(resource, schema)
        findings += self.pod_security(resource)
        return findings

    def pod_security(self, resource: Resource) -> list[Finding]:
        if resource.kind in CLUSTER_SCOPED:
            return []
        namespace = resource.namespace or "default"
        level, version = self.namespaces.get(namespace, DEFAULT_POLICY)
        findings = []
        for path, meta, spec in pod_templates(resource.data, resource.group, resource.kind):
            for reason in psa.evaluate(level, version, meta, spec):
                shown = "latest" if version == psa.LATEST else f"v{version[0]}.{version[1]}"
                findings.append(
                    resource.finding(
                        POD_SECURITY_ADMISSION,
                        Severity.ERROR,
                        f'violates PodSecurity "{level}:{shown}" of namespace {namespace!r}: {reason}',
                        pointer(*path, "spec") if path else "/spec",
                    )
                )
        return findings


def crd_schemas(store) -> Any:
    """A lookup of a custom resource's schema in a :class:`SchemaStore` (None for built-in
    kinds, whose schemas carry no CEL rules, and for kinds with no schema)."""
    from llmfleet.pipeline.validate.api_rules.metadata import BUILTIN_GROUPS

    def find(api_version: str, kind: str) -> dict[str, Any] | None:
        if api_version.rpartition("/")[0] in BUILTIN_GROUPS:
            return None
        hit = store.lookup(api_version, kind)
        return hit.schema if hit is not None and isinstance(hit.schema, dict) else None

    return find

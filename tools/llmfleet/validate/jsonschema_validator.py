"""In-process validation with jsonschema against the schemas of a :class:`SchemaStore`."""

from __future__ import annotations

import jsonschema

from llmfleet.findings import Finding, Severity
from llmfleet.manifests import Resource, pointer
from llmfleet.validate.schemas import SchemaStore, SchemaUnavailable

SCHEMA_RULE = "schema"
MISSING_RULE = "schema-missing"
#: At most this many schema errors per object: the first few say what is wrong.
MAX_ERRORS_PER_OBJECT = 20


def _error_findings(resource: Resource, error: jsonschema.ValidationError) -> list[Finding]:
    path = pointer(*error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema or {}).get("properties", {}))
        extras = sorted(k for k in error.instance if k not in allowed)
        if extras:
            return [resource.finding(SCHEMA_RULE, Severity.ERROR,
                                     f"unknown field {extra!r} (not in the {resource.kind} schema)",
                                     path + pointer(extra)) for extra in extras]
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        message = best.message
    else:
        message = error.message
    return [resource.finding(SCHEMA_RULE, Severity.ERROR, _shorten(message), path)]


def _shorten(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def validate_resources(resources: list[Resource], store: SchemaStore,
                       ignore_missing: bool = False) -> list[Finding]:
    findings: list[Finding] = []
    for resource in resources:
        try:
            hit = store.lookup(resource.api_version, resource.kind)
        except SchemaUnavailable as exc:
            findings.append(resource.finding(MISSING_RULE, Severity.ERROR,
                                             f"could not fetch the schema: {exc}"))
            continue
        if hit is None:
            if not ignore_missing:
                findings.append(resource.finding(
                    MISSING_RULE, Severity.ERROR,
                    f"no schema for {resource.kind} ({resource.api_version}) in the Kubernetes "
                    f"{store.kubernetes_version} schemas or any schema location; add a "
                    "--schema-location or pass --ignore-missing-schemas"))
            continue
        errors = sorted(hit.validator.iter_errors(resource.data),
                        key=lambda e: (list(map(str, e.absolute_path)), e.message))
        for error in errors[:MAX_ERRORS_PER_OBJECT]:
            findings.extend(_error_findings(resource, error))
    return findings

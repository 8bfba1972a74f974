"""In-process validation with jsonschema against the schemas of a :class:`SchemaStore`.

A kind with no schema anywhere is reported once per run (``schema-missing``, on its first
object, naming every location tried), not once per object, and with
``--ignore-missing-schemas`` not at all, a failed download included.  Either way its objects
are still checked for what every Kubernetes object must have: apiVersion, kind and an
ObjectMeta ``metadata`` (:meth:`SchemaStore.basic`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from llmfleet.infra.findings import Finding, Severity
from llmfleet.model.secrets import TOKEN, is_sensitive_name, secret_fields, secret_values
from llmfleet.pipeline.builtin_checks import YAML_DEPTH
from llmfleet.pipeline.manifests import Resource, pointer
from llmfleet.pipeline.validate.schemas import SchemaHit, SchemaMiss, SchemaStore
from llmfleet.pipeline.validate.valid_cache import ValidCache

if TYPE_CHECKING:  # imported where an object is validated: not on a run served by the cache
    import jsonschema

SCHEMA_RULE = "schema"
MISSING_RULE = "schema-missing"
#: At most this many schema errors per object: the first few say what is wrong.
MAX_ERRORS_PER_OBJECT = 20


_KINDS = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    dict: "a mapping",
    list: "a list",
    type(None): "null",
}


def _value_free(error: jsonschema.ValidationError) -> str:
    """The schema error without the value it is about (jsonschema's messages quote it)."""
    what, rule = _KINDS.get(type(error.instance), "a value"), error.validator_value
    if error.validator == "type":
        expected = " or ".join(rule) if isinstance(rule, list) else rule
        return f"{what} where the schema wants {expected} (value not shown: it may be secret)"
    if error.validator == "enum" and isinstance(rule, list):
        return f"not one of the allowed values {', '.join(map(repr, rule[:10]))} (value not shown)"
    if error.validator == "pattern":
        return f"does not match the pattern {rule!r} (value not shown)"
    if error.validator in ("minLength", "maxLength", "minimum", "maximum", "format", "const"):
        return f"fails {error.validator} {rule!r} (value not shown)"
    return f"{what} that fails the schema's {error.validator!r} check (value not shown)"


def _secret_location(resource: Resource, tokens: list[Any]) -> bool:
    """A path into the secret data of a kind that holds secrets, or an env var's value whose
    name suggests a credential."""
    for path, field_node in secret_fields(resource.data):
        # Under a mapping, or the field itself when written as a scalar or a list.
        if tuple(tokens[: len(path)]) == path and (
            len(tokens) > len(path) or not isinstance(field_node, dict)
        ):
            return True
    if len(tokens) >= 3 and tokens[-1] == "value" and tokens[-3] == "env":
        node: Any = resource.data
        for token in tokens[:-1]:
            try:
                node = node[token]
            except (KeyError, IndexError, TypeError):
                return False
        return isinstance(node, dict) and is_sensitive_name(node.get("name"))
    return False


def _quotes_secret(resource: Resource, error: jsonschema.ValidationError, message: str) -> bool:
    tokens = list(error.absolute_path)
    if _secret_location(resource, tokens) or TOKEN.search(message):
        return True
    return any(value in message for value in secret_values([resource.data]))


def _error_findings(
    resource: Resource, error: jsonschema.ValidationError, schema_name: str = ""
) -> list[Finding]:
    findings = _raw_error_findings(resource, error, schema_name)
    if any(_quotes_secret(resource, error, f.message) for f in findings):
        return [
            resource.finding(SCHEMA_RULE, Severity.ERROR, _value_free(error), pointer(*error.absolute_path))
        ]
    return findings


def _raw_error_findings(
    resource: Resource, error: jsonschema.ValidationError, schema_name: str = ""
) -> list[Finding]:
    path = pointer(*error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}) if isinstance(error.schema, dict) else {})
        extras = sorted(k for k in error.instance if k not in allowed)
        where = schema_name or f"the {resource.kind} schema"
        if extras:
            return [
                resource.finding(
                    SCHEMA_RULE,
                    Severity.ERROR,
                    f"unknown field {extra!r} (not in {where})",
                    path + pointer(extra),
                )
                for extra in extras
            ]
    if error.validator in ("oneOf", "anyOf") and error.context:
        required = [e for e in error.context if e.validator == "required" and not e.path]
        if required and len(required) == len(error.context):
            names = sorted(
                {
                    m.group(1)
                    for e in required
                    for m in [re.match(r"'([^']+)' is a required property", e.message)]
                    if m
                }
            )
            message = f"needs one of {', '.join(repr(n) for n in names)}"
        else:
            from jsonschema.exceptions import best_match

            message = best_match(error.context).message
    else:
        message = error.message
    return [resource.finding(SCHEMA_RULE, Severity.ERROR, _shorten(message), path)]


def _shorten(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def missing_message(miss: SchemaMiss, kubernetes_version: str, display=str) -> str:
    tried = (
        "; ".join(f"{display(a.location)} ({a.outcome})" for a in miss.attempts)
        or "no schema location is configured"
    )
    if miss.download_failed:
        hint = (
            "no network? put the schema in a local --schema-location (this repository "
            "vendors its CRD schemas under schemas/crds), or pass --ignore-missing-schemas"
        )
    else:
        hint = "add its schema to a --schema-location, or pass --ignore-missing-schemas"
    return (
        f"no schema for {miss.kind} ({miss.api_version}): not a Kubernetes "
        f"{kubernetes_version} built-in kind and no schema location has it, so its objects "
        f"are checked for apiVersion, kind and metadata only (reported once per kind). "
        f"Tried: {tried}. Fix: {hint}"
    )


def _validate(
    resource: Resource, hit: SchemaHit, schema_name: str = "", known: ValidCache | None = None
) -> list[Finding]:
    key = known.key(hit.fingerprint, resource.data) if known is not None else ""
    if known is not None and known.known_valid(key):
        return []
    try:
        errors = sorted(
            hit.validator.iter_errors(resource.data),
            key=lambda e: (list(map(str, e.absolute_path)), e.message),
        )
    except RecursionError:
        return [
            resource.finding(
                YAML_DEPTH, Severity.ERROR, "nests too deeply to be validated against its schema"
            )
        ]
    if not errors and known is not None:
        known.remember(key)
    findings: list[Finding] = []
    for error in errors[:MAX_ERRORS_PER_OBJECT]:
        findings.extend(_error_findings(resource, error, schema_name))
    return findings


def validate_resources(
    resources: list[Resource],
    store: SchemaStore,
    ignore_missing: bool = False,
    reported_missing: set[tuple[str, str]] | None = None,
    display=str,
    known: ValidCache | None = None,
) -> list[Finding]:
    """Findings for ``resources``.  ``reported_missing`` carries the kinds already reported
    as missing across calls (one call per overlay), so that each is reported once per run.
    ``known``: objects that passed in an earlier run are not validated again."""
    if reported_missing is None:
        reported_missing = set()
    findings: list[Finding] = []
    for resource in resources:
        found = store.find(resource.api_version, resource.kind)
        if isinstance(found, SchemaHit):
            findings.extend(_validate(resource, found, known=known))
            continue
        key = (resource.api_version, resource.kind)
        if not ignore_missing and key not in reported_missing:
            reported_missing.add(key)
            findings.append(
                resource.finding(
                    MISSING_RULE, Severity.ERROR, missing_message(found, store.kubernetes_version, display)
                )
            )
        basic = store.basic()
        if basic is not None:
            findings.extend(_validate(resource, basic, "Kubernetes ObjectMeta", known))
    return findings

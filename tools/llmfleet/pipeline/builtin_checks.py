"""Built-in finding ids: what the loader, the renderer, the validators and the lint engine
report themselves.  Registered like rules (id, severity, description, remediation), listed by
``llmfleet rules``, described in SARIF, and documented in docs/rules.md."""

from __future__ import annotations

from dataclasses import dataclass

from llmfleet.infra.findings import Severity


@dataclass(frozen=True)
class BuiltinCheck:
    id: str
    severity: Severity
    description: str
    remediation: str
    category: str
    rationale: str = ""

    scope = "builtin"
    options: tuple[()] = ()


BUILTINS: dict[str, BuiltinCheck] = {}


def _register(
    id: str,
    category: str,
    description: str,
    remediation: str,
    severity: Severity = Severity.ERROR,
    rationale: str = "",
) -> str:
    BUILTINS[id] = BuiltinCheck(id, severity, description, remediation, category, rationale)
    return id


# -- input -------------------------------------------------------------------------------------
INPUT = _register(
    "input",
    "input",
    "An input cannot be read (missing, unreadable, not a regular file, stdin "
    "closed, or over the size limit limits.max-input-bytes)",
    "Pass a readable regular file, a folder, an overlay or - for stdin.",
)
RENDER = _register(
    "render",
    "input",
    "A kustomization does not build (kustomize build fails or times out)",
    "Run `kustomize build <folder>` (or `kubectl kustomize`) and fix the error it prints.",
)
YAML_SYNTAX = _register(
    "yaml-syntax",
    "input",
    "A YAML document does not parse",
    "Fix the YAML at the line shown; the other documents of the stream are still checked.",
)
YAML_ENCODING = _register("yaml-encoding", "input", "The input is not UTF-8", "Save the file as UTF-8.")
YAML_ALIAS_BOMB = _register(
    "yaml-alias-bomb",
    "input",
    "A YAML document expands to too many nodes through aliases (a 'billion laughs' document)",
    "Write the document without recursive aliases.",
    rationale="Kubernetes manifests never need aliases that expand a document a thousand-fold; "
    "the loader counts alias expansions per document and refuses the document, not the file.",
)
YAML_DEPTH = _register(
    "yaml-depth",
    "input",
    "A YAML document nests deeper than the loader's limit (100 levels)",
    "Flatten the document; Kubernetes objects nest a few dozen levels at most.",
    rationale="Deeper documents are refused before the YAML parser composes them (libyaml's "
    "composer overflows the C stack at some ten thousand levels), and the validators, the "
    "YAML dumper and the rules recurse once or more per level.",
)
YAML_TOO_LARGE = _register(
    "yaml-too-large",
    "input",
    "A YAML document has more nodes than the loader's limit (400,000)",
    "Split the document; the largest Kubernetes objects have under 100,000 nodes.",
    rationale="Each composed node costs memory before any check runs; the loader counts the "
    "nodes of a large document from parser events, stopping at the limit, before composing it.",
)
YAML_DUPLICATE_KEY = _register(
    "yaml-duplicate-key",
    "input",
    "A mapping repeats a key (the later value silently wins in most tools)",
    "Remove one of the two keys.",
)
NOT_KUBERNETES = _register(
    "not-kubernetes",
    "input",
    "A document is not a Kubernetes object (no apiVersion or kind, not "
    "a mapping, or a kind that is not a valid name)",
    "Give the document apiVersion and kind, or remove it from the input.",
)
EMPTY_INPUT = _register(
    "empty-input", "input", "The input holds no YAML document", "Pass a file with objects."
)
DUPLICATE_OBJECT = _register(
    "duplicate-object",
    "input",
    "Two objects of one input have the same API group, kind, "
    "namespace and name (the second overwrites the first when applied)",
    "Rename or remove one of them.",
)

# -- schemas -----------------------------------------------------------------------------------
SCHEMA = _register(
    "schema",
    "schema",
    "An object does not match its JSON schema (Kubernetes strict schemas, or the CRD's)",
    "Fix the field at the path shown; unknown fields are typos or fields of another API version.",
)
SCHEMA_MISSING = _register(
    "schema-missing",
    "schema",
    "No schema is known for a kind (reported once per kind), or its schema location could not be read",
    "Add the CRD's schema to schemas/crds (make schemas), "
    "pass --schema-location, or --ignore-missing-schemas.",
)

API_VALIDATION = _register(
    "api-validation",
    "schema",
    "An object breaks a rule of the API server's own validation code that no schema states "
    "(names, labels, quantities, ports, selectors, rollout and disruption bounds, GPU requests)",
    "Fix the field at the path shown; the server would refuse the object with the same message "
    "(docs/reference/api-validation.md cites each rule).",
)
CRD_RULE = _register(
    "crd-rule",
    "schema",
    "A custom resource breaks one of its CRD's x-kubernetes-validations CEL rules",
    "Fix the field the message names; the rule is in the CRD's schema under schemas/crds.",
)
POD_SECURITY_ADMISSION = _register(
    "pod-security-admission",
    "schema",
    "A pod (or a workload's pod template) is forbidden by the Pod Security level its namespace "
    "enforces (pod-security.kubernetes.io/enforce), as the PodSecurity admission plugin decides",
    "Make the pod spec meet the namespace's level (docs/reference/api-validation.md §8), or run "
    "it in a namespace whose level allows it.",
)

# -- the lint engine -----------------------------------------------------------------------------
RULE_CRASHED = _register(
    "rule-crashed",
    "internal",
    "A lint rule failed on this input (a bug in llmfleet, not in the manifests); the other rules still ran",
    "Report it with the input that triggers it.",
)
INVALID_SUPPRESSION = _register(
    "invalid-suppression",
    "lint",
    "An ignore-check.llmfleet.io/<rule> annotation has no reason "
    "(it does not suppress) or names no known rule",
    "Write why the rule does not apply as the annotation's value, with a rule id from `llmfleet rules`.",
    Severity.WARNING,
)

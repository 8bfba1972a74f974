"""Fields whose values the API server restricts to a fixed set, or shapes, although the
schemas (kubernetes-validate's, from the OpenAPI document) state no enum for them
(pkg/apis/core/validation/validation.go v1.36: validatePullPolicy, validateDNSPolicy,
ValidateTolerations, validateTaintEffect, ValidateEnv with IsRelaxedEnvVarName,
validateHTTPGetAction, validateSeccompProfileField; pkg/apis/apps/validation
ValidateDeploymentStrategy, ValidateStatefulSetSpec; pkg/apis/policy/validation).
An empty value is defaulted before validation where the server defaults it, so only a
non-empty unknown value is reported.  docs/reference/api-validation.md §5."""

from __future__ import annotations

from typing import Any

from llmfleet.kube import names
from llmfleet.pipeline.validate.api_rules.problems import Problems

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
#: Lt and Gt need the alpha TaintTolerationComparisonOperators gate: not refused here.
TOLERATION_OPERATORS = ("Equal", "Exists", "Lt", "Gt")
HTTP_SCHEMES = ("HTTP", "HTTPS")
SECCOMP_TYPES = ("RuntimeDefault", "Unconfined", "Localhost")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
SESSION_AFFINITIES = ("None", "ClientIP")
TRAFFIC_POLICIES = ("Cluster", "Local")
DEPLOYMENT_STRATEGIES = ("Recreate", "RollingUpdate")
POD_MANAGEMENT_POLICIES = ("OrderedReady", "Parallel")
STATEFUL_SET_STRATEGIES = ("RollingUpdate", "OnDelete")
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
VOLUME_MODES = ("Block", "Filesystem")
EVICTION_POLICIES = ("IfHealthyBudget", "AlwaysAllow")


def one_of(value: Any, allowed: tuple[str, ...], path: tuple[Any, ...], problems: Problems) -> None:
    if isinstance(value, str) and value and value not in allowed:
        problems.add(path, f"Unsupported value: must be one of {', '.join(allowed)}")


def check_env(env: Any, path: tuple[Any, ...], problems: Problems) -> None:
    for i, var in enumerate(env if isinstance(env, list) else []):
        name = var.get("name") if isinstance(var, dict) else None
        if isinstance(name, str) and name and any(ord(c) > 126 or ord(c) < 32 or c == "=" for c in name):
            problems.add(
                (*path, i, "name"),
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            )


def check_tolerations(tolerations: Any, path: tuple[Any, ...], problems: Problems) -> None:
    for i, toleration in enumerate(tolerations if isinstance(tolerations, list) else []):
        if not isinstance(toleration, dict):
            continue
        where = (*path, i)
        key, operator = toleration.get("key") or "", toleration.get("operator") or ""
        effect, value = toleration.get("effect") or "", toleration.get("value") or ""
        if isinstance(key, str) and key:
            problems.extend((*where, "key"), names.qualified_name(key))
        if not key and operator != "Exists":
            problems.add((*where, "operator"), "operator must be Exists when `key` is empty")
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            problems.add((*where, "effect"), "effect must be 'NoExecute' when `tolerationSeconds` is set")
        if operator in ("", "Equal") and isinstance(value, str):
            problems.extend((*where, "operator"), names.label_value(value))
        elif operator == "Exists" and value:
            problems.add((*where, "operator"), "value must be empty when `operator` is 'Exists'")
        one_of(operator, TOLERATION_OPERATORS, (*where, "operator"), problems)
        one_of(effect, TAINT_EFFECTS, (*where, "effect"), problems)


def check_seccomp(profile: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if not isinstance(profile, dict):
        return
    kind = profile.get("type")
    one_of(kind, SECCOMP_TYPES, (*path, "type"), problems)
    if kind == "Localhost" and not profile.get("localhostProfile"):
        problems.add((*path, "localhostProfile"), "must be set when seccomp type is Localhost")
    elif kind in ("RuntimeDefault", "Unconfined") and profile.get("localhostProfile") is not None:
        problems.add((*path, "localhostProfile"), "can only be set when seccomp type is Localhost")

"""Compute resources of a container as the API server validates them
(pkg/apis/core/validation/validation.go validateResourceRequirements,
ValidateResourceQuantityValue, validateContainerResourceName; pkg/apis/core/helper
IsExtendedResourceName, IsOvercommitAllowed): docs/reference/api-validation.md §4."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llmfleet.kube import names
from llmfleet.pipeline.validate.api_rules import quantity
from llmfleet.pipeline.validate.api_rules.problems import Problems

_STANDARD_CONTAINER = frozenset({"cpu", "memory", "ephemeral-storage"})
_HUGEPAGES = "hugepages-"


def is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def is_extended(name: str) -> bool:
    if is_native(name) or name.startswith("requests."):
        return False
    return not names.qualified_name("requests." + name)


def overcommit_allowed(name: str) -> bool:
    return is_native(name) and not name.startswith(_HUGEPAGES)


def _integer_resource(name: str) -> bool:
    return is_extended(name)


def _name_problems(name: str) -> list[str]:
    problems = names.qualified_name(name)
    if problems:
        return [f"resource name: {p}" for p in problems]
    if "/" not in name:
        if name not in _STANDARD_CONTAINER and not name.startswith(_HUGEPAGES):
            return ["must be a standard resource for containers"]
    elif not is_native(name) and not is_extended(name):
        return ["doesn't follow extended resource name standard"]
    return []


def parsed_quantities(values: Any, path: tuple[Any, ...], problems: Problems) -> dict[str, Decimal]:
    """The parseable quantities of a resource list; a malformed one is a problem."""
    found: dict[str, Decimal] = {}
    if not isinstance(values, dict):
        return found
    for name, value in values.items():
        if value is None:
            continue
        try:
            amount = quantity.parse(value)
        except quantity.QuantityError as exc:
            problems.add((*path, name), str(exc))
            continue
        if amount < 0:
            problems.add((*path, name), "must be greater than or equal to 0")
        found[str(name)] = amount
    return found


def check_requirements(requirements: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if not isinstance(requirements, dict):
        return
    limits = parsed_quantities(requirements.get("limits"), (*path, "limits"), problems)
    requests = parsed_quantities(requirements.get("requests"), (*path, "requests"), problems)
    for section, values in (("limits", limits), ("requests", requests)):
        for name, amount in values.items():
            where = (*path, section, name)
            problems.extend(where, _name_problems(name))
            if _integer_resource(name) and amount != amount.to_integral_value():
                problems.add(where, "must be an integer")
    raw = requirements.get("limits")
    raw_limits: dict[str, Any] = raw if isinstance(raw, dict) else {}
    for name, amount in requests.items():
        where = (*path, "requests", name)
        if name in limits:
            if amount != limits[name] and not overcommit_allowed(name):
                problems.add(
                    where,
                    f"must be equal to {name} limit (a request of a resource that cannot be overcommitted)",
                )
            elif amount > limits[name]:
                problems.add(where, f"must be less than or equal to {name} limit")
        elif name not in raw_limits and not overcommit_allowed(name):
            problems.add((*path, "limits"), f"Limit must be set for non overcommitable resources ({name})")

"""What the API server does with a custom resource's structural schema besides the JSON
schema keywords (apiextensions-apiserver pkg/apiserver/schema/defaulting/algorithm.go and
pkg/apiserver/schema/listtype/validation.go): it applies the schema's ``default`` values
before validating, and it refuses duplicates in a list declared ``x-kubernetes-list-type: set``
or ``map`` (items unique by their ``x-kubernetes-list-map-keys``).
docs/reference/api-validation.md §9."""

from __future__ import annotations

import copy
import json
from typing import Any

from llmfleet.pipeline.validate.api_rules.problems import Problems


def with_defaults(schema: Any, value: Any) -> Any:
    """A copy of ``value`` with the schema's defaults filled in where a field is absent."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        result = dict(value)
        properties = schema.get("properties")
        if isinstance(properties, dict):
            for key, child in properties.items():
                if key not in result and isinstance(child, dict) and "default" in child:
                    result[key] = copy.deepcopy(child["default"])
                if key in result:
                    result[key] = with_defaults(child, result[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in result:
                if not isinstance(properties, dict) or key not in properties:
                    result[key] = with_defaults(extra, result[key])
        return result
    if isinstance(value, list):
        return [with_defaults(schema.get("items"), item) for item in value]
    return value


def _key(item: Any, keys: list[str] | None) -> str:
    if keys is not None and isinstance(item, dict):
        item = {k: item.get(k) for k in keys}
    return json.dumps(item, sort_keys=True, default=str)


def check_list_types(
    schema: dict[str, Any], value: list[Any], path: tuple[Any, ...], problems: Problems
) -> None:
    list_type = schema.get("x-kubernetes-list-type")
    if list_type not in ("set", "map"):
        return
    keys = schema.get("x-kubernetes-list-map-keys") if list_type == "map" else None
    if list_type == "map" and not isinstance(keys, list):
        return
    seen: set[str] = set()
    for i, item in enumerate(value):
        key = _key(item, keys)
        if key in seen:
            problems.add((*path, i), "Duplicate value" + (f" (same {', '.join(keys)})" if keys else ""))
        seen.add(key)

"""kubeconform's schema-location templates, expanded the way kubeconform does.

Source: yannh/kubeconform ``pkg/registry/registry.go`` (v0.8.0), summarised in
docs/reference/tooling.md §1.2: ``{{.Group}}`` is the first segment of apiVersion (the
version itself for core kinds), ``{{.ResourceKind}}`` the lower-cased kind,
``{{.ResourceAPIVersion}}`` the last segment of apiVersion, ``{{.KindSuffix}}``
``-<first label of group>-<version>``, ``{{.StrictSuffix}}`` ``-strict`` in strict mode, and
``{{.NormalizedKubernetesVersion}}`` ``v<x.y.z>`` (or ``master``).  A location that does not
end in ``json`` gets kubeconform's standalone layout appended.
"""

from __future__ import annotations

import re

DEFAULT_LOCATION = (
    "https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/"
    "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
    "{{ .ResourceKind }}{{ .KindSuffix }}.json"
)
STANDALONE_SUFFIX = (
    "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/"
    "{{ .ResourceKind }}{{ .KindSuffix }}.json"
)
_VARIABLE = re.compile(r"{{\s*\.(\w+)\s*}}")
VERSION_RE = re.compile(r"^(master|\d+\.\d+\.\d+)$")


def template_variables(api_version: str, kind: str, kubernetes_version: str, strict: bool) -> dict[str, str]:
    group, _, version = api_version.rpartition("/")
    if not group:  # core kinds: kubeconform puts the version in Group (a known quirk)
        group = version
    group_first_label = group.split(".")[0]
    kind_suffix = f"-{group_first_label.lower()}-{version}" if "/" in api_version else f"-{version}"
    return {
        "Group": group,
        "ResourceKind": kind.lower(),
        "ResourceAPIVersion": version,
        "KindSuffix": kind_suffix,
        "StrictSuffix": "-strict" if strict else "",
        "NormalizedKubernetesVersion": (
            kubernetes_version if kubernetes_version == "master" else "v" + kubernetes_version
        ),
    }


def normalise(location: str) -> str:
    if location == "default":
        return DEFAULT_LOCATION
    if not location.endswith("json"):
        return location.rstrip("/") + STANDALONE_SUFFIX
    return location


def expand(location: str, variables: dict[str, str]) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in variables:
            raise ValueError(f"unknown template variable {{{{.{name}}}}} in schema location {location!r}")
        return variables[name]

    return _VARIABLE.sub(substitute, normalise(location))

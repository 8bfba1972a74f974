"""Whether ``apiVersion`` and ``kind`` are names Kubernetes could serve, checked before
either reaches a schema file name or a schema URL.

The rules are the API server's for a group/version/kind (docs/reference/tooling.md §10): the
group is a DNS-1123 subdomain, the version a DNS-1035 label, and the kind, lower-cased, a
DNS-1035 label; ``apiVersion`` holds at most one ``/``.
"""

from __future__ import annotations

import re

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = re.compile(rf"^{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_MAX, LABEL_MAX = 253, 63


def _shown(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def kind_problem(kind: str) -> str | None:
    if len(kind) > LABEL_MAX or not DNS1035_LABEL.match(kind.lower()) or not kind.isascii():
        return (
            f"kind {_shown(kind)} is not a valid kind name (letters, digits and '-', starting "
            f"with a letter, at most {LABEL_MAX} characters)"
        )
    return None


def api_version_problem(api_version: str) -> str | None:
    if api_version.count("/") > 1:
        return f"apiVersion {_shown(api_version)} is not GROUP/VERSION or VERSION"
    group, _, version = api_version.rpartition("/")
    if "/" in api_version and (not group or len(group) > SUBDOMAIN_MAX or not DNS1123_SUBDOMAIN.match(group)):
        return (
            f"apiVersion {_shown(api_version)}: the group is not a DNS subdomain (lower-case "
            f"letters, digits, '-' and '.', at most {SUBDOMAIN_MAX} characters)"
        )
    if not version or len(version) > LABEL_MAX or not DNS1035_LABEL.match(version):
        return (
            f"apiVersion {_shown(api_version)}: the version is not a DNS label (lower-case "
            f"letters, digits and '-', starting with a letter, at most {LABEL_MAX} characters)"
        )
    return None


def name_problem(api_version: str, kind: str) -> str | None:
    """Why ``apiVersion``/``kind`` cannot name a Kubernetes type, or None."""
    return api_version_problem(api_version) or kind_problem(kind)

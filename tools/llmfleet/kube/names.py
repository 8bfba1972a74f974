"""The API server's name and value validators (k8s.io/apimachinery
pkg/util/validation/validation.go): each returns the problems, empty when the value is valid.
docs/reference/api-validation.md §1 cites them."""

from __future__ import annotations

import re

_QNAME_CHAR = r"[A-Za-z0-9]"
_QUALIFIED_NAME = re.compile(rf"^({_QNAME_CHAR}[-A-Za-z0-9_.]*)?{_QNAME_CHAR}$")
QUALIFIED_NAME_MAX = 63
_LABEL_VALUE = re.compile(rf"^(({_QNAME_CHAR}[-A-Za-z0-9_.]*)?{_QNAME_CHAR})?$")
LABEL_VALUE_MAX = 63
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_LABEL_MAX = 63
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_SUBDOMAIN_MAX = 253
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL_MAX = 63
_PORT_NAME_CHARS = re.compile(r"^[-a-z0-9]+$")
_PORT_NAME_LETTER = re.compile(r"[a-z]")
PORT_NAME_MAX = 15
_PERCENT = re.compile(r"^[0-9]+%$")
_CONFIG_MAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _length(value: str, limit: int) -> list[str]:
    return [f"must be no more than {limit} characters"] if len(value) > limit else []


def dns1123_label(value: str) -> list[str]:
    problems = _length(value, DNS1123_LABEL_MAX)
    if not _DNS1123_LABEL.match(value):
        problems.append(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character"
        )
    return problems


def dns1123_subdomain(value: str) -> list[str]:
    problems = _length(value, DNS1123_SUBDOMAIN_MAX)
    if not _DNS1123_SUBDOMAIN.match(value):
        problems.append(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character"
        )
    return problems


def dns1035_label(value: str) -> list[str]:
    problems = _length(value, DNS1035_LABEL_MAX)
    if not _DNS1035_LABEL.match(value):
        problems.append(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
            "with an alphabetic character, and end with an alphanumeric character"
        )
    return problems


def qualified_name(value: str) -> list[str]:
    """IsQualifiedName: an optional DNS-subdomain prefix and '/', then a name of at most 63
    characters (alphanumerics, '-', '_' or '.', starting and ending alphanumeric)."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
        problems = []
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            problems = ["prefix part must be non-empty"]
        else:
            problems = [f"prefix part {p}" for p in dns1123_subdomain(prefix)]
    else:
        return [
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character, with an optional DNS subdomain prefix "
            "and '/'"
        ]
    if not name:
        problems.append("name part must be non-empty")
    else:
        if len(name) > QUALIFIED_NAME_MAX:
            problems.append(f"name part must be no more than {QUALIFIED_NAME_MAX} characters")
        if not _QUALIFIED_NAME.match(name):
            problems.append(
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                "start and end with an alphanumeric character"
            )
    return problems


def label_value(value: str) -> list[str]:
    problems = _length(value, LABEL_VALUE_MAX)
    if not _LABEL_VALUE.match(value):
        problems.append(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', "
            "'_' or '.', and must start and end with an alphanumeric character"
        )
    return problems


def port_name(value: str) -> list[str]:
    """IsValidPortName: an IANA_SVC_NAME (RFC 6335)."""
    problems = _length(value, PORT_NAME_MAX)
    if not _PORT_NAME_CHARS.match(value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(value):
        problems.append("must contain at least one letter (a-z)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def port_number(value: int) -> list[str]:
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]


def percent(value: str) -> list[str]:
    return (
        [] if _PERCENT.match(value) else ["a valid percent string must be a numeric string followed by '%'"]
    )


def config_map_key(value: str) -> list[str]:
    problems = _length(value, DNS1123_SUBDOMAIN_MAX)
    if not _CONFIG_MAP_KEY.match(value):
        problems.append("a valid config key must consist of alphanumeric characters, '-', '_' or '.'")
    if value in (".", "..") or value.startswith(".."):
        problems.append("must not be '.' or '..' and must not start with '..'")
    return problems


def c_identifier(value: str) -> list[str]:
    return [] if _C_IDENTIFIER.match(value) else ["a valid C identifier must start with a letter or '_'"]


def path_segment_name(value: str) -> list[str]:
    """ValidatePathSegmentName (RBAC object names): anything but '.', '..', '/' and '%'."""
    if value in (".", ".."):
        return [f"may not be {value!r}"]
    return [f"may not contain {c!r}" for c in "/%" if c in value]

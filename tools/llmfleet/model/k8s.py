"""Kubernetes basics, each in one place: objects with provenance, JSON pointers, quantities,
names, label selectors and kustomize's name hash suffix."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmfleet.infra.findings import Finding, Severity

# Re-exported: the rules read objects through this one module.
from llmfleet.kube import names
from llmfleet.kube.pointers import as_dict, as_list, dig, escape_pointer_token, pointer  # noqa: F401  (re-exported)
from llmfleet.kube.quantity import parse_quantity, quantity_int, to_float, to_int  # noqa: F401  (re-exported)

# --- objects --------------------------------------------------------------------------------


@dataclass
class Resource:
    """One Kubernetes object and where it came from."""

    data: dict[str, Any]
    file: str
    doc_index: int = 0
    overlay: str = ""
    lines: dict[str, int] = field(default_factory=dict, repr=False)
    #: For rendered overlays: maps a JSON pointer to the (file, line) in the repository that
    #: the field came from, or None where it cannot be traced (see ``llmfleet.pipeline.field_sources``).
    locate: Callable[[str], tuple[str, int] | None] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Resource({self.ref!r}, file={self.file!r})"

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", "") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", "") or "")

    @property
    def labels(self) -> dict[str, Any]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, Any]:
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    @property
    def ref(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """(group, kind, namespace, name): what the API server keys an object on."""
        return (self.group, self.kind, self.namespace, self.name)

    def line_of(self, at: str) -> int:
        """Line of the deepest ancestor of ``at`` that has a known position."""
        while True:
            if at in self.lines:
                return self.lines[at]
            if not at:
                return 0
            at = at.rpartition("/")[0]

    def source_of(self, path: str) -> tuple[str, int]:
        """The file and line a finding at ``path`` should point at."""
        if self.locate is not None:
            traced = self.locate(path)
            if traced is not None:
                return traced
        return self.file, self.line_of(path)

    def finding(self, rule: str, severity: Severity, message: str, path: str = "", **extra: Any) -> Finding:
        file, line = self.source_of(path)
        return Finding(
            rule=rule,
            severity=severity,
            message=message,
            overlay=self.overlay,
            file=file,
            line=line,
            kind=self.kind,
            api_version=self.api_version,
            name=self.name,
            namespace=self.namespace,
            path=path,
            extra=extra,
        )


# --- names ----------------------------------------------------------------------------------


def is_dns1123_label(name: str) -> bool:
    return not names.dns1123_label(name)


def is_dns1123_subdomain(name: str) -> bool:
    return not names.dns1123_subdomain(name)


#: kustomize's name hash suffix: ``-`` and 10 characters of the hex digest with 0 1 3 a e
#: replaced by g h k m t (kustomize api/hasher/hasher.go, ``encode``).
HASH_SUFFIX = re.compile(r"-[bcdfghkmt2456789]{10}$")
HASHED_KINDS = frozenset({"ConfigMap", "Secret"})


def strip_hash_suffix(name: str) -> str:
    return HASH_SUFFIX.sub("", name)


def same_generated_name(a: str, b: str) -> bool:
    """Two ConfigMap/Secret names that differ at most by a kustomize hash suffix."""
    return a == b or strip_hash_suffix(a) == b or strip_hash_suffix(b) == a


# --- label selectors ------------------------------------------------------------------------


def label_selector(selector: Any) -> dict[str, Any] | None:
    """A LabelSelector (matchLabels/matchExpressions) from either form; a plain map (Service,
    ReplicationController) becomes ``{"matchLabels": map}``.  None when empty or not one."""
    if not isinstance(selector, dict) or not selector:
        return None
    if "matchLabels" in selector or "matchExpressions" in selector:
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            return None
        return selector
    return {"matchLabels": selector}


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Does a selector (either form) match these labels?  An empty or missing selector matches
    nothing here: the rules ask "which pods does this object pick", and Kubernetes objects
    that treat an empty selector as "everything" are reported on their own."""
    normal = label_selector(selector)
    if normal is None:
        return False
    match_labels = as_dict(normal.get("matchLabels"))
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expr in as_list(normal.get("matchExpressions")):
        if not isinstance(expr, dict):
            return False
        key, op, values = str(expr.get("key")), expr.get("operator"), as_list(expr.get("values"))
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True

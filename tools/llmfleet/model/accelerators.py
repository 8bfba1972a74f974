"""Accelerators: which extended resources are accelerators, how many a pod holds, and which
accelerator class its node selection lands it on.  The knowledge is data
(``llmfleet/data/accelerators.yaml``); this module only applies it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from llmfleet import DATA_DIR
from llmfleet.kube import safe_yaml
from llmfleet.model.k8s import as_dict, as_list, dig

DATA_FILE = DATA_DIR / "accelerators.yaml"
NVIDIA_GPU = "nvidia.com/gpu"


@dataclass(frozen=True)
class AcceleratorResource:
    name: str  # the extended resource, e.g. nvidia.com/gpu
    vendor: str  # nvidia, amd, google, intel, aws
    kind: str  # gpu, tpu, hpu, neuron


@dataclass(frozen=True)
class LabelRule:
    key: str
    identity: bool = False
    any_value: bool = False
    values: tuple[tuple[str, str], ...] = ()
    patterns: tuple[tuple[re.Pattern[str], str], ...] = ()

    def class_of(self, value: str) -> str | None:
        text = str(value).strip()
        for known, gpu_class in self.values:
            if known == text:
                return gpu_class
        for pattern, gpu_class in self.patterns:
            if pattern.fullmatch(text):
                return gpu_class
        if self.identity and text:
            return text
        return None


@dataclass(frozen=True)
class Table:
    resources: dict[str, AcceleratorResource]
    prefixes: tuple[tuple[str, AcceleratorResource], ...]
    labels: dict[str, LabelRule]
    hint: re.Pattern[str]


@lru_cache(maxsize=1)
def table() -> Table:
    raw = safe_yaml.load(DATA_FILE.read_text(encoding="utf-8"))
    resources = {
        name: AcceleratorResource(name, str(v["vendor"]), str(v["kind"]))
        for name, v in raw["resources"].items()
    }
    prefixes = tuple(
        (prefix, AcceleratorResource(prefix + "*", str(v["vendor"]), str(v["kind"])))
        for prefix, v in (raw.get("resource_prefixes") or {}).items()
    )
    labels = {}
    for key, spec in raw["labels"].items():
        labels[key] = LabelRule(
            key,
            identity=bool(spec.get("identity")),
            any_value=bool(spec.get("any_value")),
            values=tuple((str(k), str(v)) for k, v in (spec.get("values") or {}).items()),
            patterns=tuple(
                (re.compile(str(p), re.IGNORECASE), str(v)) for p, v in (spec.get("patterns") or {}).items()
            ),
        )
    words = "|".join(re.escape(str(w)) for w in raw.get("hint_words") or [])
    hint = re.compile(rf"(?i)(^|[^a-z0-9])({words})([^a-z0-9]|$)" if words else r"(?!)")
    return Table(resources, prefixes, labels, hint)


def accelerator_resource(name: str) -> AcceleratorResource | None:
    known = table()
    if name in known.resources:
        return known.resources[name]
    for prefix, res in known.prefixes:
        if name.startswith(prefix):
            return AcceleratorResource(name, res.vendor, res.kind)
    return None


def is_accelerator(name: str) -> bool:
    return accelerator_resource(name) is not None


def resource_names(specs: Iterable[dict[str, Any]]) -> list[str]:
    """Accelerator resource names requested or limited anywhere in these containers."""
    found: dict[str, None] = {}
    for container in specs:
        for section in ("requests", "limits"):
            for name in as_dict(dig(container, "resources", section)):
                if is_accelerator(str(name)):
                    found[str(name)] = None
    return list(found)


def whole(value: Decimal) -> int:
    """Accelerator counts are whole numbers; a fraction (invalid for extended resources)
    counts as the next whole device."""
    integral = int(value)
    return integral if value == integral else integral + 1


# --- node selection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSelection:
    """What a pod's node selection says about accelerators.

    ``every_term`` is True when the pod can only land on accelerator nodes: its nodeSelector
    pins an accelerator label, or every ORed term of its required node affinity does.
    ``classes`` are the accelerator classes it may land on (empty: unknown), ``keys`` the
    labels used and ``unmapped`` the (key, value) pairs whose class is unknown."""

    every_term: bool
    classes: tuple[str, ...]
    keys: tuple[str, ...]
    unmapped: tuple[tuple[str, str], ...]

    @property
    def selects(self) -> bool:
        return self.every_term

    @property
    def gpu_class(self) -> str | None:
        """The one class the pod lands on, or None (unknown, or several)."""
        return self.classes[0] if len(self.classes) == 1 else None


def label_rules(extra_keys: Sequence[str] = ()) -> dict[str, LabelRule]:
    """The known accelerator labels plus the cluster's own (``cluster.gpu-label-keys`` in
    llmfleet.yaml), whose values are class names."""
    rules = dict(table().labels)
    for key in extra_keys:
        rules.setdefault(key, LabelRule(key, identity=True, any_value=True))
    return rules


def _judge(
    rules: dict[str, LabelRule], key: str, values: Sequence[str], operator: str
) -> tuple[bool, list[str], list[tuple[str, str]]]:
    """(selects accelerator nodes, classes, unmapped values) of one requirement."""
    rule = rules.get(key)
    if rule is None:
        # An unknown label that names an accelerator in its key or value: a pool of them.
        hint = table().hint
        named = bool(hint.search(key)) or any(hint.search(str(v)) for v in values)
        return named and operator in ("In", "=", "Exists"), [], []
    if operator == "Exists":
        return rule.any_value, [], []
    if operator not in ("In", "="):
        return False, [], []
    classes: list[str] = []
    unmapped: list[tuple[str, str]] = []
    for value in values:
        gpu_class = rule.class_of(value)
        if gpu_class:
            classes.append(gpu_class)
        else:
            unmapped.append((key, str(value)))
    hint = table().hint
    selects = bool(values) and (
        rule.any_value or not unmapped or all(hint.search(value) for _, value in unmapped)
    )
    return selects, classes, unmapped


def node_selection(spec: dict[str, Any], extra_keys: Sequence[str] = ()) -> NodeSelection:
    rules = label_rules(extra_keys)
    classes: list[str] = []
    keys: list[str] = []
    unmapped: list[tuple[str, str]] = []
    pinned = False
    for key, value in as_dict(spec.get("nodeSelector")).items():
        selects, found, missing = _judge(rules, str(key), [str(value)], "In")
        if selects or found:
            pinned = pinned or selects
            keys.append(str(key))
        classes += found
        unmapped += missing
    terms = as_list(
        dig(
            spec,
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        )
    )
    every = bool(terms)
    for term in terms:
        term_selects = False
        for expr in as_list(dig(term, "matchExpressions")):
            if not isinstance(expr, dict):
                continue
            key = str(expr.get("key") or "")
            values = [str(v) for v in as_list(expr.get("values"))]
            selects, found, missing = _judge(rules, key, values, str(expr.get("operator") or ""))
            if selects or found:
                keys.append(key)
            term_selects = term_selects or selects
            classes += found
            unmapped += missing
        every = every and term_selects
    return NodeSelection(
        pinned or every,
        tuple(dict.fromkeys(classes)),
        tuple(dict.fromkeys(keys)),
        tuple(dict.fromkeys(unmapped)),
    )

"""The other kinds the repository ships, as the API server validates them:
PodDisruptionBudget (pkg/apis/policy/validation), HorizontalPodAutoscaler
(pkg/apis/autoscaling/validation), Service, ConfigMap, ResourceQuota,
PersistentVolumeClaim (pkg/apis/core/validation), and a Namespace's Pod Security labels
(k8s.io/pod-security-admission api/helpers.go PolicyToEvaluate, checked by the admission
plugin on namespace create and update).  docs/reference/api-validation.md §7."""

from __future__ import annotations

from typing import Any

from llmfleet.kube import names
from llmfleet.pipeline.validate.api_rules import enums, pod_security_admission, quantity
from llmfleet.pipeline.validate.api_rules.pods import check_port_num_or_name
from llmfleet.pipeline.validate.api_rules.problems import Problems, is_int
from llmfleet.pipeline.validate.api_rules.resources import parsed_quantities
from llmfleet.pipeline.validate.api_rules.selectors import check_selector
from llmfleet.pipeline.validate.api_rules.workloads import int_or_percent

MAX_STABILIZATION_WINDOW_S = 3600
MAX_PERIOD_S = 1800


def check_pdb(spec: dict[str, Any], problems: Problems) -> None:
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        problems.add(("spec",), "minAvailable and maxUnavailable cannot be both set")
    for key in ("minAvailable", "maxUnavailable"):
        if spec.get(key) is not None:
            int_or_percent(spec[key], ("spec", key), problems)
    check_selector(spec.get("selector"), ("spec", "selector"), problems)
    enums.one_of(
        spec.get("unhealthyPodEvictionPolicy"),
        enums.EVICTION_POLICIES,
        ("spec", "unhealthyPodEvictionPolicy"),
        problems,
    )


def _scaling_rules(rules: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if not isinstance(rules, dict):
        return
    window = rules.get("stabilizationWindowSeconds")
    if is_int(window) and window < 0:
        problems.add((*path, "stabilizationWindowSeconds"), "must be greater than or equal to zero")
    elif is_int(window) and window > MAX_STABILIZATION_WINDOW_S:
        problems.add(
            (*path, "stabilizationWindowSeconds"),
            f"must be less than or equal to {MAX_STABILIZATION_WINDOW_S}",
        )
    select = rules.get("selectPolicy")
    if isinstance(select, str) and select not in ("Max", "Min", "Disabled"):
        problems.add((*path, "selectPolicy"), "Unsupported value: must be one of Disabled, Max, Min")
    policies = rules.get("policies")
    for i, policy in enumerate(policies if isinstance(policies, list) else []):
        if not isinstance(policy, dict):
            continue
        where = (*path, "policies", i)
        if isinstance(policy.get("type"), str) and policy["type"] not in ("Pods", "Percent"):
            problems.add((*where, "type"), "Unsupported value: must be one of Percent, Pods")
        if is_int(policy.get("value")) and policy["value"] <= 0:
            problems.add((*where, "value"), "must be greater than zero")
        period = policy.get("periodSeconds")
        if is_int(period) and period <= 0:
            problems.add((*where, "periodSeconds"), "must be greater than zero")
        elif is_int(period) and period > MAX_PERIOD_S:
            problems.add((*where, "periodSeconds"), f"must be less than or equal to {MAX_PERIOD_S}")
    tolerance = rules.get("tolerance")
    if tolerance is not None:
        try:
            if quantity.parse(tolerance) < 0:
                problems.add((*path, "tolerance"), "must be greater than or equal to 0")
        except quantity.QuantityError as exc:
            problems.add((*path, "tolerance"), str(exc))


def check_hpa(spec: dict[str, Any], problems: Problems) -> None:
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    # minReplicas 0 needs the HPAScaleToZero feature gate (alpha, off by default).
    if is_int(low) and low < 1:
        problems.add(("spec", "minReplicas"), "must be greater than or equal to 1")
    if is_int(high) and high < 1:
        problems.add(("spec", "maxReplicas"), "must be greater than or equal to 1")
    if is_int(low) and is_int(high) and high < low:
        problems.add(("spec", "maxReplicas"), "must be greater than or equal to `minReplicas`")
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction in ("scaleUp", "scaleDown"):
            _scaling_rules(behavior.get(direction), ("spec", "behavior", direction), problems)


def check_service(spec: dict[str, Any], problems: Problems) -> None:
    enums.one_of(spec.get("type"), enums.SERVICE_TYPES, ("spec", "type"), problems)
    enums.one_of(spec.get("sessionAffinity"), enums.SESSION_AFFINITIES, ("spec", "sessionAffinity"), problems)
    enums.one_of(
        spec.get("internalTrafficPolicy"), enums.TRAFFIC_POLICIES, ("spec", "internalTrafficPolicy"), problems
    )
    ports = spec.get("ports")
    if not isinstance(ports, list):
        return
    seen: set[str] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        where = ("spec", "ports", i)
        name = port.get("name")
        if len(ports) > 1 and not name:
            problems.add((*where, "name"), "Required value (a Service with several ports names each)")
        elif isinstance(name, str) and name:
            problems.extend((*where, "name"), names.dns1123_label(name))
            if name in seen:
                problems.add((*where, "name"), "Duplicate value")
            seen.add(name)
        if is_int(port.get("port")):
            problems.extend((*where, "port"), names.port_number(port["port"]))
        target = port.get("targetPort")
        # An unset or zero targetPort is defaulted to the port.
        if target not in (None, 0, ""):
            check_port_num_or_name(target, (*where, "targetPort"), problems)
        node_port = port.get("nodePort")
        if is_int(node_port) and node_port != 0:
            problems.extend((*where, "nodePort"), names.port_number(node_port))


def check_config_map(data: dict[str, Any], problems: Problems) -> None:
    text, binary = data.get("data"), data.get("binaryData")
    text = text if isinstance(text, dict) else {}
    binary = binary if isinstance(binary, dict) else {}
    for section, values in (("data", text), ("binaryData", binary)):
        for key in values:
            problems.extend((section, str(key)), names.config_map_key(str(key)))
    for key in set(text) & set(binary):
        problems.add(("data", str(key)), "duplicate of key present in binaryData")


def check_resource_quota(spec: dict[str, Any], problems: Problems) -> None:
    parsed_quantities(spec.get("hard"), ("spec", "hard"), problems)


def check_pvc(spec: dict[str, Any], problems: Problems) -> None:
    modes = spec.get("accessModes")
    for i, mode in enumerate(modes if isinstance(modes, list) else []):
        enums.one_of(mode, enums.ACCESS_MODES, ("spec", "accessModes", i), problems)
    enums.one_of(spec.get("volumeMode"), enums.VOLUME_MODES, ("spec", "volumeMode"), problems)
    resources = spec.get("resources")
    if isinstance(resources, dict):
        for section in ("requests", "limits"):
            parsed_quantities(resources.get(section), ("spec", "resources", section), problems)


def check_namespace(data: dict[str, Any], problems: Problems) -> None:
    meta = data.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(labels, dict):
        return
    for mode in pod_security_admission.MODE_LABELS:
        where = ("metadata", "labels")
        if (
            mode in labels
            and isinstance(labels[mode], str)
            and pod_security_admission.parse_level(labels[mode]) is None
        ):
            problems.add((*where, mode), "must be one of privileged, baseline, restricted")
        version = f"{mode}-version"
        if (
            version in labels
            and isinstance(labels[version], str)
            and pod_security_admission.parse_version(labels[version]) is None
        ):
            problems.add((*where, version), 'must be "latest" or "v1.x"')

"""A pod spec (in a Pod or any pod template) as the API server validates it
(pkg/apis/core/validation/validation.go ValidatePodSpec, validateContainers,
validateContainerPorts, ValidatePortNumOrName, validateProbe, ValidateVolumes):
docs/reference/api-validation.md §5."""

from __future__ import annotations

from typing import Any

from llmfleet.kube import names
from llmfleet.pipeline.validate.api_rules import enums, quantity
from llmfleet.pipeline.validate.api_rules.problems import Problems, is_int
from llmfleet.pipeline.validate.api_rules.resources import check_requirements

_PROTOCOLS = frozenset({"TCP", "UDP", "SCTP"})
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def check_port_num_or_name(value: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if is_int(value):
        problems.extend(path, names.port_number(value))
    elif isinstance(value, str):
        problems.extend(path, names.port_name(value))


def _check_handler(handler: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if not isinstance(handler, dict):
        return
    kinds = [k for k in ("exec", "httpGet", "tcpSocket", "grpc", "sleep") if handler.get(k) is not None]
    if len(kinds) > 1:
        problems.add((*path, kinds[1]), "may not specify more than 1 handler type")
    for kind in ("httpGet", "tcpSocket"):
        action = handler.get(kind)
        if isinstance(action, dict):
            check_port_num_or_name(action.get("port"), (*path, kind, "port"), problems)
    http = handler.get("httpGet")
    if isinstance(http, dict):
        enums.one_of(http.get("scheme"), enums.HTTP_SCHEMES, (*path, "httpGet", "scheme"), problems)
    grpc = handler.get("grpc")
    if isinstance(grpc, dict) and is_int(grpc.get("port")):
        problems.extend((*path, "grpc", "port"), names.port_number(grpc["port"]))


def _check_probe(probe: Any, path: tuple[Any, ...], problems: Problems, single_success: bool) -> None:
    if not isinstance(probe, dict):
        return
    _check_handler(probe, path, problems)
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        value = probe.get(key)
        if is_int(value) and value < 0:
            problems.add((*path, key), "must be greater than or equal to 0")
    success = probe.get("successThreshold")
    # 0 is defaulted to 1 before validation.
    if single_success and is_int(success) and success not in (0, 1):
        problems.add((*path, "successThreshold"), "must be 1")


def _check_ports(ports: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if not isinstance(ports, list):
        return
    seen: set[str] = set()
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        where = (*path, i)
        name = port.get("name")
        if isinstance(name, str) and name:
            found = names.port_name(name)
            problems.extend((*where, "name"), found)
            if not found and name in seen:
                problems.add((*where, "name"), "Duplicate value")
            seen.add(name)
        number = port.get("containerPort")
        if is_int(number):
            if number == 0:
                problems.add((*where, "containerPort"), "Required value")
            else:
                problems.extend((*where, "containerPort"), names.port_number(number))
        host = port.get("hostPort")
        if is_int(host) and host != 0:
            problems.extend((*where, "hostPort"), names.port_number(host))
        protocol = port.get("protocol")
        if isinstance(protocol, str) and protocol not in _PROTOCOLS:
            problems.add((*where, "protocol"), "Unsupported value: must be one of SCTP, TCP, UDP")


def _check_container(
    container: dict[str, Any], path: tuple[Any, ...], volumes: set[str] | None, problems: Problems, init: bool
) -> None:
    name = container.get("name")
    if isinstance(name, str):
        problems.extend((*path, "name"), names.dns1123_label(name))
    enums.one_of(container.get("imagePullPolicy"), enums.PULL_POLICIES, (*path, "imagePullPolicy"), problems)
    enums.one_of(
        container.get("terminationMessagePolicy"),
        enums.TERMINATION_MESSAGE_POLICIES,
        (*path, "terminationMessagePolicy"),
        problems,
    )
    enums.check_env(container.get("env"), (*path, "env"), problems)
    security = container.get("securityContext")
    if isinstance(security, dict):
        enums.check_seccomp(
            security.get("seccompProfile"), (*path, "securityContext", "seccompProfile"), problems
        )
    _check_ports(container.get("ports"), (*path, "ports"), problems)
    check_requirements(container.get("resources"), (*path, "resources"), problems)
    for probe in _PROBES:
        _check_probe(container.get(probe), (*path, probe), problems, probe != "readinessProbe")
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            _check_handler(lifecycle.get(hook), (*path, "lifecycle", hook), problems)
    mounts = container.get("volumeMounts")
    if volumes is not None and isinstance(mounts, list):
        for i, mount in enumerate(mounts):
            if (
                isinstance(mount, dict)
                and isinstance(mount.get("name"), str)
                and mount["name"] not in volumes
            ):
                problems.add(
                    (*path, "volumeMounts", i, "name"), "Not found: no volume of this name in the pod"
                )


def _volume_names(spec: dict[str, Any], path: tuple[Any, ...], problems: Problems) -> set[str] | None:
    volumes = spec.get("volumes", [])
    if volumes is None:
        return set()
    if not isinstance(volumes, list):
        return None
    found: set[str] = set()
    for i, volume in enumerate(volumes):
        if not isinstance(volume, dict) or not isinstance(volume.get("name"), str):
            return None
        name = volume["name"]
        problems.extend((*path, "volumes", i, "name"), names.dns1123_label(name))
        if name in found:
            problems.add((*path, "volumes", i, "name"), "Duplicate value")
        found.add(name)
        empty_dir = volume.get("emptyDir")
        if isinstance(empty_dir, dict) and empty_dir.get("sizeLimit") is not None:
            try:
                if quantity.parse(empty_dir["sizeLimit"]) < 0:
                    problems.add(
                        (*path, "volumes", i, "emptyDir", "sizeLimit"), "must be greater than or equal to 0"
                    )
            except quantity.QuantityError as exc:
                problems.add((*path, "volumes", i, "emptyDir", "sizeLimit"), str(exc))
    return found


def _wrapped_int64(value: int) -> int:
    """An integer as server-side apply stores it in an int64 field: wrapped, two's complement
    (a v1.36 server turned 2**63 into -2**63; docs/reference/api-validation.md §2)."""
    return (value + 2**63) % 2**64 - 2**63


def _check_sleep_actions(spec: dict[str, Any], path: tuple[Any, ...], problems: Problems) -> None:
    """validateSleepAction: a lifecycle sleep lies between 0 and the grace period (default 30)."""
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if not is_int(grace):
        return
    grace = _wrapped_int64(grace)
    for field in _CONTAINER_LISTS:
        containers = spec.get(field)
        for i, container in enumerate(containers if isinstance(containers, list) else []):
            lifecycle = container.get("lifecycle") if isinstance(container, dict) else None
            for hook in ("postStart", "preStop"):
                handler = lifecycle.get(hook) if isinstance(lifecycle, dict) else None
                sleep = handler.get("sleep") if isinstance(handler, dict) else None
                seconds = sleep.get("seconds") if isinstance(sleep, dict) else None
                if is_int(seconds) and (seconds < 0 or seconds > grace):
                    problems.add(
                        (*path, field, i, "lifecycle", hook, "sleep"),
                        f"must be non-negative and less than terminationGracePeriodSeconds ({grace})",
                    )


def check_pod_spec(
    spec: Any, path: tuple[Any, ...], problems: Problems, restart_policies: frozenset[str] | None = None
) -> None:
    if not isinstance(spec, dict):
        return
    volumes = _volume_names(spec, path, problems)
    names_seen: set[str] = set()
    for field in _CONTAINER_LISTS:
        containers = spec.get(field)
        if not isinstance(containers, list):
            continue
        for i, container in enumerate(containers):
            if not isinstance(container, dict):
                continue
            where = (*path, field, i)
            _check_container(container, where, volumes, problems, init=field == "initContainers")
            name = container.get("name")
            if isinstance(name, str):
                if name in names_seen:
                    problems.add((*where, "name"), "Duplicate value")
                names_seen.add(name)
    policy = spec.get("restartPolicy", "Always")  # the default
    if restart_policies is not None and isinstance(policy, str) and policy not in restart_policies:
        problems.add(
            (*path, "restartPolicy"),
            f"Unsupported value: must be one of {', '.join(sorted(restart_policies))}",
        )
    enums.one_of(spec.get("dnsPolicy"), enums.DNS_POLICIES, (*path, "dnsPolicy"), problems)
    enums.check_tolerations(spec.get("tolerations"), (*path, "tolerations"), problems)
    security = spec.get("securityContext")
    if isinstance(security, dict):
        enums.check_seccomp(
            security.get("seccompProfile"), (*path, "securityContext", "seccompProfile"), problems
        )
    _check_sleep_actions(spec, path, problems)
    deadline = spec.get("activeDeadlineSeconds")
    if is_int(deadline) and deadline <= 0:
        problems.add((*path, "activeDeadlineSeconds"), "must be between 1 and 2147483647, inclusive")

"""The Pod Security Standards as the PodSecurity admission plugin evaluates a pod
(k8s.io/pod-security-admission v0.36.3, policy/check_*.go): each check has a level and
applies from a minimum policy version; a higher level includes the lower one's checks, and a
restricted check that overrides a baseline one replaces it.  docs/reference/api-validation.md §8.

A check takes the pod's metadata and spec (plain dicts, as read from YAML) and returns why it
forbids the pod, or None."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from llmfleet.model.pod_security_standards import BASELINE_CAPABILITIES, RESTRICTED_VOLUMES
from llmfleet.pipeline.validate.api_rules.problems import is_int

LEVELS = ("privileged", "baseline", "restricted")
LATEST = (1, 10_000)
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
MODE_LABELS = tuple(f"pod-security.kubernetes.io/{m}" for m in ("enforce", "audit", "warn"))
_VERSION = re.compile(r"^v1\.([0-9]|[1-9][0-9]*)$")

Check = Callable[[dict[str, Any], dict[str, Any]], "str | None"]


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from (c for c in _l(spec.get(field)) if isinstance(c, dict))


def _security(container: dict[str, Any]) -> dict[str, Any]:
    return _d(container.get("securityContext"))


def _names(items: list[dict[str, Any]]) -> str:
    return ", ".join(repr(str(c.get("name", ""))) for c in items)


def _user_namespace(spec: dict[str, Any]) -> bool:
    """relaxPolicyForUserNamespacePod: from 1.35 a pod with hostUsers=false skips the user
    checks."""
    return spec.get("hostUsers") is False


def _windows(spec: dict[str, Any]) -> bool:
    return _d(spec.get("os")).get("name") == "windows"


# -- baseline ------------------------------------------------------------------------------------


def host_namespaces(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    used = [k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True]
    return f"host namespaces ({', '.join(f'{k}=true' for k in used)})" if used else None


def privileged(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    bad = [c for c in containers(spec) if _security(c).get("privileged") is True]
    return (
        f"privileged (containers {_names(bad)} must not set securityContext.privileged=true)" if bad else None
    )


def capabilities_baseline(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    bad = [
        c
        for c in containers(spec)
        if any(a not in BASELINE_CAPABILITIES for a in _l(_d(_security(c).get("capabilities")).get("add")))
    ]
    return f"non-default capabilities (containers {_names(bad)})" if bad else None


def host_path_volumes(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    bad = [v for v in _l(spec.get("volumes")) if isinstance(v, dict) and v.get("hostPath") is not None]
    return f"hostPath volumes ({_names(bad)})" if bad else None


def host_ports(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    bad = [
        c
        for c in containers(spec)
        if any(is_int(_d(p).get("hostPort")) and _d(p)["hostPort"] != 0 for p in _l(c.get("ports")))
    ]
    return f"hostPort (containers {_names(bad)} use hostPorts)" if bad else None


def _apparmor_ok(profile: Any) -> bool:
    return _d(profile).get("type") in ("RuntimeDefault", "Localhost") if profile is not None else True


def app_armor(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    bad = not _apparmor_ok(_d(spec.get("securityContext")).get("appArmorProfile"))
    bad |= any(not _apparmor_ok(_security(c).get("appArmorProfile")) for c in containers(spec))
    for key, value in _d(meta.get("annotations")).items():
        if str(key).startswith("container.apparmor.security.beta.kubernetes.io/") and isinstance(value, str):
            bad |= not (value in ("", "runtime/default") or value.startswith("localhost/"))
    return "forbidden AppArmor profile" if bad else None


def _selinux(allowed: frozenset[str]) -> Check:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
        options = [_d(spec.get("securityContext")).get("seLinuxOptions")]
        options += [_security(c).get("seLinuxOptions") for c in containers(spec)]
        for opts in options:
            if isinstance(opts, dict) and (
                opts.get("type", "") not in allowed or opts.get("user") or opts.get("role")
            ):
                return "forbidden securityContext.seLinuxOptions"
        return None

    return check


_SELINUX_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
_SELINUX_1_31 = _SELINUX_1_0 | {"container_engine_t"}


def _proc_mount(relax: bool) -> Check:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
        if relax and _user_namespace(spec):
            return None
        bad = [c for c in containers(spec) if _security(c).get("procMount") not in (None, "Default")]
        return f"procMount (containers {_names(bad)})" if bad else None

    return check


def seccomp_baseline(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    profiles = [_d(spec.get("securityContext")).get("seccompProfile")]
    profiles += [_security(c).get("seccompProfile") for c in containers(spec)]
    if any(isinstance(p, dict) and p.get("type") not in ("RuntimeDefault", "Localhost") for p in profiles):
        return "seccompProfile type must be RuntimeDefault or Localhost"
    return None


_SYSCTLS_1_0 = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    }
)
_SYSCTLS_1_27 = _SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
_SYSCTLS_1_29 = _SYSCTLS_1_27 | {
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
_SYSCTLS_1_32 = _SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}


def _sysctls(allowed: frozenset[str]) -> Check:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
        bad = [
            str(_d(s).get("name"))
            for s in _l(_d(spec.get("securityContext")).get("sysctls"))
            if _d(s).get("name") not in allowed
        ]
        return f"forbidden sysctls ({', '.join(bad)})" if bad else None

    return check


def windows_host_process(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    options = [_d(spec.get("securityContext")).get("windowsOptions")]
    options += [_security(c).get("windowsOptions") for c in containers(spec)]
    return "hostProcess" if any(_d(o).get("hostProcess") is True for o in options) else None


def host_probes(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    for c in containers(spec):
        handlers = [_d(c.get(p)) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [_d(_d(c.get("lifecycle")).get(h)) for h in ("postStart", "preStop")]
        for handler in handlers:
            if any(_d(handler.get(a)).get("host") for a in ("httpGet", "tcpSocket")):
                return f"probe or lifecycle host (container {c.get('name')!r})"
    return None


# -- restricted ----------------------------------------------------------------------------------


def restricted_volumes(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
    bad = []
    for volume in _l(spec.get("volumes")):
        if not isinstance(volume, dict):
            continue
        sources = [k for k, v in volume.items() if k != "name" and v is not None]
        # A volume with no source is defaulted to an emptyDir before admission.
        if sources and not any(s in RESTRICTED_VOLUMES for s in sources):
            bad.append(volume)
    return f"restricted volume types (volumes {_names(bad)})" if bad else None


def _allow_privilege_escalation(skip_windows: bool) -> Check:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
        if skip_windows and _windows(spec):
            return None
        bad = [c for c in containers(spec) if _security(c).get("allowPrivilegeEscalation") is not False]
        return (
            (
                f"allowPrivilegeEscalation != false (containers {_names(bad)} must set "
                "securityContext.allowPrivilegeEscalation=false)"
            )
            if bad
            else None
        )

    return check


def _run_as_non_root(relax: bool) -> Check:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
        if relax and _user_namespace(spec):
            return None
        pod = _d(spec.get("securityContext")).get("runAsNonRoot")
        if pod is False:
            return "runAsNonRoot != true (pod sets securityContext.runAsNonRoot=false)"
        bad = [
            c
            for c in containers(spec)
            if _security(c).get("runAsNonRoot") is False
            or (_security(c).get("runAsNonRoot") is None and pod is not True)
        ]
        return f"runAsNonRoot != true (containers {_names(bad)})" if bad else None

    return check


def _run_as_user(relax: bool) -> Check:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
        if relax and _user_namespace(spec):
            return None
        users = [_d(spec.get("securityContext")).get("runAsUser")]
        users += [_security(c).get("runAsUser") for c in containers(spec)]
        return "runAsUser=0" if any(is_int(u) and u == 0 for u in users) else None

    return check


def _seccomp_restricted(skip_windows: bool) -> Check:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
        if skip_windows and _windows(spec):
            return None
        bad = seccomp_baseline(meta, spec)
        if bad:
            return bad
        pod_set = isinstance(_d(spec.get("securityContext")).get("seccompProfile"), dict)
        missing = [c for c in containers(spec) if not isinstance(_security(c).get("seccompProfile"), dict)]
        if missing and not pod_set:
            return (
                f"seccompProfile (pod or containers {_names(missing)} must set "
                'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
            )
        return None

    return check


def _capabilities_restricted(skip_windows: bool) -> Check:
    def check(meta: dict[str, Any], spec: dict[str, Any]) -> str | None:
        if skip_windows and _windows(spec):
            return None
        problems = []
        for c in containers(spec):
            caps = _d(_security(c).get("capabilities"))
            if "ALL" not in _l(caps.get("drop")):
                problems.append(
                    f'container {c.get("name")!r} must set securityContext.capabilities.drop=["ALL"]'
                )
            if any(a != "NET_BIND_SERVICE" for a in _l(caps.get("add"))):
                problems.append(f"container {c.get('name')!r} may add only NET_BIND_SERVICE")
        return f"unrestricted capabilities ({'; '.join(problems)})" if problems else None

    return check


@dataclass(frozen=True)
class Versioned:
    id: str
    level: str
    #: (minimum version, check, ids of the checks it overrides) from the oldest.
    versions: tuple[tuple[tuple[int, int], Check, tuple[str, ...]], ...]


def _v(
    minor: int, check: Check, overrides: tuple[str, ...] = ()
) -> tuple[tuple[int, int], Check, tuple[str, ...]]:
    return ((1, minor), check, overrides)


CHECKS = (
    Versioned("hostNamespaces", "baseline", (_v(0, host_namespaces),)),
    Versioned("privileged", "baseline", (_v(0, privileged),)),
    Versioned("capabilities_baseline", "baseline", (_v(0, capabilities_baseline),)),
    Versioned("hostPathVolumes", "baseline", (_v(0, host_path_volumes),)),
    Versioned("hostPorts", "baseline", (_v(0, host_ports),)),
    Versioned("appArmorProfile", "baseline", (_v(0, app_armor),)),
    Versioned("seLinuxOptions", "baseline", (_v(0, _selinux(_SELINUX_1_0)), _v(31, _selinux(_SELINUX_1_31)))),
    Versioned("procMount", "baseline", (_v(0, _proc_mount(False)), _v(35, _proc_mount(True)))),
    Versioned("seccompProfile_baseline", "baseline", (_v(19, seccomp_baseline),)),
    Versioned(
        "sysctls",
        "baseline",
        (
            _v(0, _sysctls(_SYSCTLS_1_0)),
            _v(27, _sysctls(_SYSCTLS_1_27)),
            _v(29, _sysctls(_SYSCTLS_1_29)),
            _v(32, _sysctls(_SYSCTLS_1_32)),
        ),
    ),
    Versioned("windowsHostProcess", "baseline", (_v(0, windows_host_process),)),
    Versioned("hostProbesAndHostLifecycle", "baseline", (_v(34, host_probes),)),
    Versioned("restrictedVolumes", "restricted", (_v(0, restricted_volumes, ("hostPathVolumes",)),)),
    Versioned(
        "allowPrivilegeEscalation",
        "restricted",
        (
            _v(8, _allow_privilege_escalation(False)),
            _v(25, _allow_privilege_escalation(True)),
        ),
    ),
    Versioned("runAsNonRoot", "restricted", (_v(0, _run_as_non_root(False)), _v(35, _run_as_non_root(True)))),
    Versioned("runAsUser", "restricted", (_v(23, _run_as_user(False)), _v(35, _run_as_user(True)))),
    Versioned(
        "seccompProfile_restricted",
        "restricted",
        (
            _v(19, _seccomp_restricted(False), ("seccompProfile_baseline",)),
            _v(25, _seccomp_restricted(True), ("seccompProfile_baseline",)),
        ),
    ),
    Versioned(
        "capabilities_restricted",
        "restricted",
        (
            _v(22, _capabilities_restricted(False), ("capabilities_baseline",)),
            _v(25, _capabilities_restricted(True), ("capabilities_baseline",)),
        ),
    ),
    Versioned("procMount_restricted", "restricted", (_v(35, _proc_mount(False), ("procMount",)),)),
)


def parse_level(value: Any) -> str | None:
    return value if value in LEVELS else None


def parse_version(value: Any) -> tuple[int, int] | None:
    if value == "latest":
        return LATEST
    match = _VERSION.match(value) if isinstance(value, str) else None
    return (1, int(match.group(1))) if match else None


def evaluate(level: str, version: tuple[int, int], meta: Any, spec: Any) -> list[str]:
    """Why the pod is forbidden at ``level`` and ``version``: empty when it is allowed."""
    if level == "privileged" or not isinstance(spec, dict):
        return []
    wanted = LEVELS[: LEVELS.index(level) + 1]
    chosen: dict[str, Check] = {}
    overridden: set[str] = set()
    for item in CHECKS:
        if item.level not in wanted:
            continue
        applicable = [v for v in item.versions if v[0] <= version]
        if not applicable:
            continue
        _, check, overrides = applicable[-1]
        chosen[item.id] = check
        overridden.update(overrides)
    meta = _d(meta)
    return [r for cid, check in chosen.items() if cid not in overridden and (r := check(meta, spec))]

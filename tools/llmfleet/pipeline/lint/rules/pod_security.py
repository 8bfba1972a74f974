"""pod-security: vLLM pods should meet the Pod Security Standards "restricted" profile.

The fields and allowed values are those of the PSA implementation
(docs/reference/tooling.md §5, kubernetes/pod-security-admission policy/check_*.go):
Baseline (hostProcess, hostNetwork/hostPID/hostIPC, privileged, capabilities.add, hostPath
volumes, hostPort, AppArmor, SELinux type/user/role, procMount, seccomp not Unconfined,
sysctls, probe/lifecycle host) plus Restricted (volume types, allowPrivilegeEscalation: false
set explicitly, runAsNonRoot: true on the pod or every container, runAsUser ≠ 0, seccomp
RuntimeDefault/Localhost required, capabilities.drop includes ALL and add only
NET_BIND_SERVICE).  Containers, initContainers and ephemeralContainers are checked; Windows
pods are exempt from the capability, escalation and seccomp checks.

vLLM specifics (docs/reference/vllm.md §2.3, §5.6): the vllm/vllm-openai image runs as
root; its ``vllm`` user is UID 2000 (GID 0), so use runAsUser: 2000, and give HOME/HF_HOME,
VLLM_CACHE_ROOT, TRITON_CACHE_DIR and TORCHINDUCTOR_CACHE_DIR writable volumes, or vLLM fails
with ``PermissionError: '/.cache'``.  The rule reports a ``runAsNonRoot`` pod whose vLLM
container has no writable HOME or HF_HOME.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmfleet.model.k8s import as_list, dig, to_int
from llmfleet.model.pod_security_standards import BASELINE_CAPABILITIES, RESTRICTED_VOLUMES
from llmfleet.model.vllm import images
from llmfleet.model.workloads import Container, PodTemplate
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
)
SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
SECCOMP_OK = ("RuntimeDefault", "Localhost")
APPARMOR_OK = ("RuntimeDefault", "Localhost")
CONTAINER_SECTIONS = ("initContainers", "containers", "ephemeralContainers")
CACHE_ENV = ("HOME", "HF_HOME")


def _containers(spec: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    for section in CONTAINER_SECTIONS:
        items = spec.get(section)
        for i, container in enumerate(items if isinstance(items, list) else []):
            if isinstance(container, dict):
                yield section, i, container


def _baseline_sc(sc: dict[str, Any], base: str) -> Iterator[tuple[str, str]]:
    """Baseline checks shared by the pod and container securityContext."""
    if dig(sc, "windowsOptions", "hostProcess") is True:
        yield f"{base}/windowsOptions/hostProcess", "windowsOptions.hostProcess must not be true"
    selinux = sc.get("seLinuxOptions")
    if isinstance(selinux, dict):
        if selinux.get("type", "") not in SELINUX_TYPES:
            yield f"{base}/seLinuxOptions/type", f"seLinuxOptions.type {selinux.get('type')!r} is not allowed"
        for key in ("user", "role"):
            if selinux.get(key):
                yield f"{base}/seLinuxOptions/{key}", f"seLinuxOptions.{key} must not be set"
    seccomp = dig(sc, "seccompProfile", "type")
    if seccomp is not None and seccomp not in SECCOMP_OK:
        yield f"{base}/seccompProfile/type", f"seccompProfile.type {seccomp!r} is not allowed"
    apparmor = dig(sc, "appArmorProfile", "type")
    if apparmor is not None and apparmor not in APPARMOR_OK:
        yield f"{base}/appArmorProfile/type", f"appArmorProfile.type {apparmor!r} is not allowed"
    if to_int(sc.get("runAsUser"), None) == 0:
        yield f"{base}/runAsUser", "runAsUser 0 (root) is not allowed"


def violations(template: PodTemplate) -> Iterator[tuple[str, str]]:
    spec = template.spec
    sp = template.spec_path
    windows = dig(spec, "os", "name") == "windows"
    host_users_off = spec.get("hostUsers") is False
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            yield f"{sp}/{key}", f"{key} must not be true"
    pod_sc: dict[str, Any] = spec["securityContext"] if isinstance(spec.get("securityContext"), dict) else {}
    yield from _baseline_sc(pod_sc, f"{sp}/securityContext")
    sysctls = pod_sc.get("sysctls")
    for i, item in enumerate(sysctls if isinstance(sysctls, list) else []):
        if isinstance(item, dict) and item.get("name") not in SAFE_SYSCTLS:
            yield f"{sp}/securityContext/sysctls/{i}", f"sysctl {item.get('name')!r} is not allowed"
    for i, volume in enumerate(as_list(spec.get("volumes"))):
        if not isinstance(volume, dict):
            continue
        kinds = [k for k in volume if k != "name"]
        bad = [k for k in kinds if k not in RESTRICTED_VOLUMES]
        if bad:
            yield f"{sp}/volumes/{i}", f"volume {volume.get('name')!r} of type {bad[0]} is not allowed"
    annotations = template.annotations
    if annotations:
        for key, value in annotations.items():
            if (
                str(key).startswith("container.apparmor.security.beta.kubernetes.io/")
                and value not in ("runtime/default", "")
                and not str(value).startswith("localhost/")
            ):
                yield sp, f"AppArmor annotation {key}: {value!r} is not allowed"
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    pod_seccomp = dig(pod_sc, "seccompProfile", "type") in SECCOMP_OK
    for section, i, container in _containers(spec):
        base = f"{sp}/{section}/{i}"
        name = container.get("name")
        sc: dict[str, Any] = (
            container["securityContext"] if isinstance(container.get("securityContext"), dict) else {}
        )
        scp = f"{base}/securityContext"
        if sc.get("privileged") is True:
            yield f"{scp}/privileged", f"container {name!r}: privileged must not be true"
        yield from ((p, f"container {name!r}: {m}") for p, m in _baseline_sc(sc, scp))
        if sc.get("procMount") not in (None, "Default") and not host_users_off:
            yield f"{scp}/procMount", f"container {name!r}: procMount must be Default"
        for j, port in enumerate(as_list(container.get("ports"))):
            if isinstance(port, dict) and to_int(port.get("hostPort"), 0):
                yield f"{base}/ports/{j}/hostPort", f"container {name!r}: hostPort must not be set"
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            for handler in ("httpGet", "tcpSocket"):
                if dig(container, kind, handler, "host"):
                    yield (
                        f"{base}/{kind}/{handler}/host",
                        f"container {name!r}: {kind}.{handler}.host must not be set",
                    )
        adds = dig(sc, "capabilities", "add")
        for cap in adds if isinstance(adds, list) else []:
            if cap not in BASELINE_CAPABILITIES or (not windows and cap != "NET_BIND_SERVICE"):
                yield f"{scp}/capabilities/add", f"container {name!r}: capability {cap!r} may not be added"
                break
        if windows:
            continue
        if sc.get("allowPrivilegeEscalation") is not False:
            yield (
                f"{scp}/allowPrivilegeEscalation" if "allowPrivilegeEscalation" in sc else scp,
                f"container {name!r}: allowPrivilegeEscalation must be set to false",
            )
        if (
            not host_users_off
            and sc.get("runAsNonRoot") is not True
            and not (pod_non_root and sc.get("runAsNonRoot") is None)
        ):
            yield (
                f"{scp}/runAsNonRoot" if "runAsNonRoot" in sc else scp,
                f"container {name!r}: runAsNonRoot must be true (on the pod or the container)"
                + (f"; {image_hint(container)}" if image_hint(container) else ""),
            )
        if dig(sc, "seccompProfile", "type") not in SECCOMP_OK and not (
            pod_seccomp and dig(sc, "seccompProfile", "type") is None
        ):
            yield scp, f"container {name!r}: seccompProfile.type must be RuntimeDefault or Localhost"
        drops = dig(sc, "capabilities", "drop")
        if not (isinstance(drops, list) and "ALL" in drops):
            yield scp, f"container {name!r}: capabilities.drop must include ALL"


def image_hint(container: dict[str, Any]) -> str:
    """What to run as, for an image whose user is known: UID 2000 is the ``vllm`` user of the
    vllm/vllm-openai image (docs/reference/vllm.md §2.3); other images are named only."""
    image = images.parse(str(container.get("image") or ""))
    if image.serves_by_default:
        return f"image {image.reference} runs as root by default: set runAsUser: 2000 (its vllm user)"
    if image.reference:
        return f"image {image.reference}: set runAsUser to a non-root UID it supports"
    return ""


@rule(
    id="pod-security",
    severity=Severity.WARNING,
    description="A vLLM pod violates the Pod Security Standards restricted profile, or runs "
    "non-root without a writable HOME/HF_HOME",
    remediation="securityContext: {runAsNonRoot: true, runAsUser: 2000, seccompProfile: {type: "
    "RuntimeDefault}}; per container allowPrivilegeEscalation: false, capabilities: "
    "{drop: [ALL]}; set HOME/HF_HOME, VLLM_CACHE_ROOT, TRITON_CACHE_DIR and "
    "TORCHINDUCTOR_CACHE_DIR to writable volumes (emptyDir or the cache PVC).",
    rationale="A namespace that enforces the restricted profile rejects such pods; and vLLM "
    "running as non-root writes its caches under HOME, which is / in the image "
    "(docs/reference/tooling.md §2; docs/reference/vllm.md §5.6).",
    category="security",
    foreign="info",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        securityContext: {runAsNonRoot: true, runAsUser: 2000, seccompProfile: {type: RuntimeDefault}}
        containers:
          - name: vllm
            env: [{name: HF_HOME, value: /cache/hf}]
            volumeMounts: [{name: cache, mountPath: /cache}]
            securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}

    Failing (``/spec/template/spec/containers/0/securityContext``): no securityContext at all.
    """
    seen = set()
    for server in model.servers:
        template = server.template
        if id(template) in seen:
            continue
        seen.add(id(template))
        for path, message in violations(template):
            yield Problem(server.resource, path, message)
        pod_sc = template.spec.get("securityContext")
        non_root = isinstance(pod_sc, dict) and (
            pod_sc.get("runAsNonRoot") is True or (to_int(pod_sc.get("runAsUser"), None) or 0) > 0
        )
        for other in model.servers:
            if other.template is not template:
                continue
            container = other.container
            csc = container.data.get("securityContext")
            if not (non_root or (isinstance(csc, dict) and csc.get("runAsNonRoot") is True)):
                continue
            if not _writable_home(container):
                yield Problem(
                    server.resource,
                    f"{container.path}/env" if container.env else container.path,
                    f"container {container.name!r} runs as non-root but neither HOME nor "
                    "HF_HOME points into a mounted volume: vLLM and Hugging Face fail "
                    "with PermissionError on '/.cache'",
                )


def _writable_home(container: Container) -> bool:
    mounts = [
        str(m.get("mountPath", "")).rstrip("/") for m in container.volume_mounts if not m.get("readOnly")
    ]
    for name in CACHE_ENV:
        found = container.env_var(name)
        if found is None:
            continue
        value = str(found[1].get("value") or "")
        if value and any(value == m or value.startswith(m + "/") for m in mounts if m):
            return True
    return False

"""Pod behaviour the rules reason about: probe windows, the preStop sleep, grace periods and
memory-backed volumes (Kubernetes API reference, core/v1 Probe, Lifecycle, PodSpec)."""

from __future__ import annotations

import re
from typing import Any

from llmfleet.model.k8s import dig, to_int
from llmfleet.model.workloads import Container, PodTemplate

#: Probe field defaults (core/v1 Probe).
PROBE_DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "failureThreshold": 3,
    "timeoutSeconds": 1,
    "successThreshold": 1,
}
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
#: terminationGracePeriodSeconds default (core/v1 PodSpec).
DEFAULT_GRACE_S = 30


def probe_field(probe: dict[str, Any], name: str) -> int:
    value = to_int(probe.get(name), PROBE_DEFAULTS[name])
    return PROBE_DEFAULTS[name] if value is None or value < 0 else value


def probe_window(probe: dict[str, Any]) -> int:
    """Seconds a probe tolerates failure before it acts:
    initialDelaySeconds + failureThreshold × periodSeconds."""
    return probe_field(probe, "initialDelaySeconds") + probe_field(probe, "failureThreshold") * probe_field(
        probe, "periodSeconds"
    )


def prestop_sleep(container: Container) -> tuple[int | None, str]:
    """Seconds of the preStop sleep (``sleep.seconds``, or ``exec`` running ``sleep N``) and
    the pointer of what set it (or of the container)."""
    pre = dig(container.data, "lifecycle", "preStop")
    base = f"{container.path}/lifecycle/preStop"
    if not isinstance(pre, dict):
        return None, container.path
    seconds = to_int(dig(pre, "sleep", "seconds"), None)
    if seconds is not None:
        return seconds, f"{base}/sleep/seconds"
    command = dig(pre, "exec", "command")
    if isinstance(command, list):
        words: list[str] = []
        for part in command:
            words.extend(str(part).replace(";", " ; ").replace("&&", " && ").split())
        for i, word in enumerate(words):
            if word.rsplit("/", 1)[-1] == "sleep" and i + 1 < len(words):
                value = re.fullmatch(r"(\d+)s?", words[i + 1])
                if value:
                    return int(value.group(1)), f"{base}/exec/command"
    return None, base


def grace_period(template: PodTemplate) -> tuple[int, bool]:
    """(terminationGracePeriodSeconds, written explicitly)."""
    value = to_int(template.spec.get("terminationGracePeriodSeconds"), None)
    return (DEFAULT_GRACE_S, False) if value is None else (value, True)


def memory_volume_at(container: Container, mount_path: str) -> dict[str, Any] | None:
    """The ``emptyDir: {medium: Memory}`` volume mounted at ``mount_path``, or None."""
    for mount in container.volume_mounts:
        if str(mount.get("mountPath", "")).rstrip("/") != mount_path.rstrip("/"):
            continue
        found = container.template.volume(str(mount.get("name") or ""))
        if found and dig(found[1], "emptyDir", "medium") == "Memory":
            return found[1]
    return None


def mounted_volume(container: Container, mount_path: str) -> dict[str, Any] | None:
    """The volume mounted exactly at ``mount_path`` or at a parent of it, or None."""
    best: tuple[int, dict[str, Any]] | None = None
    target = mount_path.rstrip("/") or "/"
    for mount in container.volume_mounts:
        path = str(mount.get("mountPath", "")).rstrip("/") or "/"
        if target == path or target.startswith(path + "/"):
            found = container.template.volume(str(mount.get("name") or ""))
            if found and (best is None or len(path) > best[0]):
                best = (len(path), found[1])
    return best[1] if best else None

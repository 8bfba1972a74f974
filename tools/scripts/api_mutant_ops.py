"""The building blocks of the mutation operators in ``api_mutant_table.py``: where a pod spec
or container is in an object, and small functions that change one thing in a copy of an
object (returning False when the object has nothing to change)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Data = dict[str, Any]


def _group(data: Data) -> str:
    return str(data.get("apiVersion", "")).rpartition("/")[0]


def pod_specs(data: Data) -> Iterator[Data]:
    """The pod specs of an object's pod templates (Deployment, Job, LeaderWorkerSet, ...)."""
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    kind = data.get("kind")
    candidates = []
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        candidates.append(spec.get("template"))
    if kind == "LeaderWorkerSet":
        lwt = spec.get("leaderWorkerTemplate") or {}
        candidates += [lwt.get("leaderTemplate"), lwt.get("workerTemplate")]
    for template in candidates:
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            yield template["spec"]


def first_container(data: Data) -> Data | None:
    for spec in pod_specs(data):
        for container in spec.get("containers") or []:
            return container
    return None


def _builtin_workload(data: Data) -> bool:
    return data.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")


def _set_label(value: Any, key: str = "llmfleet.io/mutant") -> Callable[[Data], bool]:
    def mutate(data: Data) -> bool:
        data.setdefault("metadata", {}).setdefault("labels", {})
        if not isinstance(data["metadata"]["labels"], dict):
            return False
        data["metadata"]["labels"][key] = value
        return True

    return mutate


def _set_annotation(key: str, value: Any) -> Callable[[Data], bool]:
    def mutate(data: Data) -> bool:
        data.setdefault("metadata", {}).setdefault("annotations", {})
        data["metadata"]["annotations"][key] = value
        return True

    return mutate


def _rename(name: str, kinds: tuple[str, ...] | None = None) -> Callable[[Data], bool]:
    def mutate(data: Data) -> bool:
        if kinds is not None and data.get("kind") not in kinds:
            return False
        data["metadata"]["name"] = name
        return True

    return mutate


def _rename_except(name: str, kinds: tuple[str, ...]) -> Callable[[Data], bool]:
    def mutate(data: Data) -> bool:
        if data.get("kind") in kinds:
            return False
        data["metadata"]["name"] = name
        return True

    return mutate


def _container(change: Callable[[Data], bool], builtin_only: bool = True) -> Callable[[Data], bool]:
    def mutate(data: Data) -> bool:
        if builtin_only and not _builtin_workload(data):
            return False
        container = first_container(data)
        return container is not None and change(container)

    return mutate


def _pod(change: Callable[[Data], bool], builtin_only: bool = False) -> Callable[[Data], bool]:
    def mutate(data: Data) -> bool:
        if builtin_only and not _builtin_workload(data):
            return False
        specs = list(pod_specs(data))
        return bool(specs) and change(specs[0])

    return mutate


def _resources(section: str, name: str, value: Any) -> Callable[[Data], bool]:
    def change(container: Data) -> bool:
        container.setdefault("resources", {}).setdefault(section, {})[name] = value
        return True

    return change


def _gpu(change: Callable[[Data, Data], bool]) -> Callable[[Data], bool]:
    def mutate(data: Data) -> bool:
        if not _builtin_workload(data):
            return False
        container = first_container(data)
        resources = (container or {}).get("resources") or {}
        limits = resources.get("limits") or {}
        if "nvidia.com/gpu" not in limits:
            return False
        return change(container or {}, resources)

    return mutate


def _first_port(change: Callable[[Data], bool]) -> Callable[[Data], bool]:
    def on_container(container: Data) -> bool:
        ports = container.get("ports") or []
        return bool(ports) and change(ports[0])

    return _container(on_container)


def _security(key: str, value: Any) -> Callable[[Data], bool]:
    def change(container: Data) -> bool:
        container.setdefault("securityContext", {})[key] = value
        return True

    return change


def _pod_field(key: str, value: Any) -> Callable[[Data], bool]:
    def change(spec: Data) -> bool:
        spec[key] = value
        return True

    return change


def _kind(kind: str, change: Callable[[Data], bool]) -> Callable[[Data], bool]:
    def mutate(data: Data) -> bool:
        return data.get("kind") == kind and change(data)

    return mutate


def _spec(key: str, value: Any) -> Callable[[Data], bool]:
    def change(data: Data) -> bool:
        data.setdefault("spec", {})[key] = value
        return True

    return change


def _rolling(max_surge: Any, max_unavailable: Any) -> Callable[[Data], bool]:
    def change(data: Data) -> bool:
        rolling: Data = {}
        if max_surge is not None:
            rolling["maxSurge"] = max_surge
        if max_unavailable is not None:
            rolling["maxUnavailable"] = max_unavailable
        data["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
        return True

    return change


def _pdb_both(data: Data) -> bool:
    spec = data["spec"]
    spec["minAvailable"], spec["maxUnavailable"] = 1, 1
    return True


def _pdb_max_only(data: Data) -> bool:
    spec = data["spec"]
    spec.pop("minAvailable", None)
    spec["maxUnavailable"] = "50%"
    return True


def _selector_mismatch(data: Data) -> bool:
    if data.get("kind") not in ("Deployment", "StatefulSet"):
        return False
    labels = (data["spec"].get("selector") or {}).get("matchLabels")
    if not labels:
        return False
    key = sorted(labels)[0]
    labels[key] = str(labels[key]) + "-other"
    return True


def _namespace_label(key: str, value: str) -> Callable[[Data], bool]:
    return _kind("Namespace", _set_label(value, key))


def _service_port(key: str, value: Any) -> Callable[[Data], bool]:
    def change(data: Data) -> bool:
        ports = data["spec"].get("ports") or []
        if not ports:
            return False
        ports[0][key] = value
        return True

    return _kind("Service", change)


def _scaled(key: str, value: Any) -> Callable[[Data], bool]:
    return _kind("ScaledObject", _spec(key, value))


def _scaled_min_over_max(data: Data) -> bool:
    if data.get("kind") != "ScaledObject":
        return False
    data["spec"]["minReplicaCount"], data["spec"]["maxReplicaCount"] = 5, 3
    return True


def _scaled_window(value: int) -> Callable[[Data], bool]:
    def change(data: Data) -> bool:
        behavior = ((data["spec"].get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get(
            "behavior"
        )
        if not isinstance(behavior, dict) or "scaleDown" not in behavior:
            return False
        behavior["scaleDown"]["stabilizationWindowSeconds"] = value
        return True

    return _kind("ScaledObject", change)


def _custom_resource(change: Callable[[Data], bool]) -> Callable[[Data], bool]:
    def mutate(data: Data) -> bool:
        group = _group(data)
        return "." in group and not group.endswith(".k8s.io") and change(data)

    return mutate


def _null_field(data: Data) -> bool:
    data["metadata"]["annotations"] = None
    return True


def _null_in_pod(spec: Data) -> bool:
    spec["nodeSelector"] = None
    return True


def _config_map_key(key: str) -> Callable[[Data], bool]:
    def change(data: Data) -> bool:
        data.setdefault("data", {})[key] = "x"
        return True

    return _kind("ConfigMap", change)


def _add_volume(volume: Data) -> Callable[[Data], bool]:
    def change(spec: Data) -> bool:
        spec.setdefault("volumes", []).append(volume)
        return True

    return change


def _mount_unknown(container: Data) -> bool:
    container.setdefault("volumeMounts", []).append({"name": "no-such-volume", "mountPath": "/x"})
    return True


def _duplicate_port_name(container: Data) -> bool:
    ports = container.get("ports") or []
    if not ports or not ports[0].get("name"):
        return False
    ports.append({"name": ports[0]["name"], "containerPort": 9999, "protocol": "TCP"})
    return True


def _probe_port(value: Any) -> Callable[[Data], bool]:
    def change(container: Data) -> bool:
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            action = (container.get(probe) or {}).get("httpGet")
            if isinstance(action, dict):
                action["port"] = value
                return True
        return False

    return change


def _liveness_success(value: int) -> Callable[[Data], bool]:
    def change(container: Data) -> bool:
        if not isinstance(container.get("livenessProbe"), dict):
            return False
        container["livenessProbe"]["successThreshold"] = value
        return True

    return change


def _job_restart(value: str) -> Callable[[Data], bool]:
    def change(data: Data) -> bool:
        data["spec"]["template"]["spec"]["restartPolicy"] = value
        return True

    return _kind("Job", change)


def _quota(value: Any) -> Callable[[Data], bool]:
    def change(data: Data) -> bool:
        hard = data["spec"].get("hard") or {}
        if not hard:
            return False
        hard[sorted(hard)[0]] = value
        return True

    return _kind("ResourceQuota", change)


def _pvc_storage(value: Any) -> Callable[[Data], bool]:
    def change(data: Data) -> bool:
        data["spec"].setdefault("resources", {}).setdefault("requests", {})["storage"] = value
        return True

    return _kind("PersistentVolumeClaim", change)


def _set_in_container(key: str, value: Any) -> Callable[[Data], bool]:
    def change(container: Data) -> bool:
        container[key] = value
        return True

    return change


def _add_env(name: str) -> Callable[[Data], bool]:
    def change(container: Data) -> bool:
        container.setdefault("env", []).append({"name": name, "value": "x"})
        return True

    return change


def _add_toleration(toleration: Data) -> Callable[[Data], bool]:
    def change(spec: Data) -> bool:
        spec.setdefault("tolerations", []).append(toleration)
        return True

    return change


def _probe_scheme(value: str) -> Callable[[Data], bool]:
    def change(container: Data) -> bool:
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            action = (container.get(probe) or {}).get("httpGet")
            if isinstance(action, dict):
                action["scheme"] = value
                return True
        return False

    return change


def _host_port(container: Data) -> bool:
    ports = container.get("ports") or []
    if not ports:
        return False
    ports[0]["hostPort"] = 8080
    return True


def _pvc_access_mode(value: str) -> Callable[[Data], bool]:
    def change(data: Data) -> bool:
        data["spec"]["accessModes"] = [value]
        return True

    return _kind("PersistentVolumeClaim", change)

"""The server's --config file: found in a ConfigMap volume and read as vLLM reads it."""

from __future__ import annotations

from typing import Any

from llmfleet.kube import safe_yaml
from llmfleet.model.k8s import Resource, as_list, dig, escape_pointer_token
from llmfleet.model.vllm import flags as vflags
from llmfleet.model.vllm.expansion import ConfigMapFinder
from llmfleet.model.vllm.server import Setting, VllmServer
from llmfleet.model.workloads import Container


def locate_file(
    container: Container, path: str, find_configmap: ConfigMapFinder
) -> tuple[Resource | None, str, str]:
    """``(ConfigMap, data key, problem)`` of the file at ``path`` in ``container``."""
    best: tuple[int, dict[str, Any], str] | None = None
    for mount in container.volume_mounts:
        mount_path = str(mount.get("mountPath") or "").rstrip("/")
        if not mount_path:
            continue
        sub_path = mount.get("subPath")
        if sub_path:
            if path == mount_path:
                best = (len(mount_path), mount, str(sub_path))
            continue
        if path.startswith(mount_path + "/") and (best is None or len(mount_path) > best[0]):
            best = (len(mount_path), mount, path[len(mount_path) + 1 :])
    if best is None:
        return None, "", f"no volumeMount of container {container.name!r} contains {path}"
    _, mount, relative = best
    volume = container.template.volume(str(mount.get("name") or ""))
    if volume is None:
        return None, "", f"the volumeMount {mount.get('name')!r} names no volume of the pod"
    _, vol = volume
    sources = []
    if isinstance(vol.get("configMap"), dict):
        sources.append(vol["configMap"])
    for src in as_list(dig(vol, "projected", "sources")):
        if isinstance(src, dict) and isinstance(src.get("configMap"), dict):
            sources.append(src["configMap"])
    if not sources:
        return None, "", f"volume {vol.get('name')!r} is not a ConfigMap volume"
    for source in sources:
        key = relative
        items = source.get("items")
        if isinstance(items, list) and items:
            mapped = [it for it in items if isinstance(it, dict) and it.get("path") == relative]
            if not mapped:
                continue
            key = str(mapped[0].get("key") or "")
        cm = find_configmap(str(source.get("name") or ""), container.template.namespace)
        if cm is None:
            continue
        data = cm.data.get("data")
        if isinstance(data, dict) and key in data:
            return cm, key, ""
    names = ", ".join(repr(s.get("name")) for s in sources)
    return None, "", f"ConfigMap {names} with key for {relative!r} is not in this input"


def _read_config(server: VllmServer, find_configmap: ConfigMapFinder) -> None:
    config = server.get("config")
    if config is None or not isinstance(config.value, str) or not config.resolved:
        return
    server.config_path = config.value
    cm, key, problem = locate_file(server.container, config.value, find_configmap)
    if cm is None:
        server.config_problem = problem
        return
    pointer = f"/data/{escape_pointer_token(key)}"
    server.config_resource, server.config_pointer = cm, pointer
    try:
        data = safe_yaml.load(str(cm.data["data"][key]))
    except safe_yaml.UnsafeYAML as exc:
        server.config_problem = f"{cm.ref} {pointer} is not YAML: {exc}"
        return
    if data is None:
        return
    if not isinstance(data, dict):
        server.config_problem = f"{cm.ref} {pointer} is not a YAML mapping of options"
        return
    for raw_key, value in data.items():
        written = str(raw_key)
        option = vflags.normalise("--" + written)
        found = vflags.lookup(option, server.version)
        name = (found.canonical if found else vflags.base_option(option))[2:]
        setting = Setting(name, value, cm, pointer, "config", written, known=found is not None)
        if value is False:
            # load_config_file adds `--key` for true and nothing for false (0.33.0).
            server.config_ignored.append(setting)
            continue
        if found is not None and found.negates and value is True:
            setting.value = False  # "disable-x: true" in the file sets enable-x to False
        server.config.append(setting)
        if name == "model" and server.model is None:
            server.model = setting

"""The project configuration (``llmfleet.yaml`` at the repository root) and its defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from llmfleet.errors import UsageError

CONFIG_FILE = "llmfleet.yaml"
DEFAULT_KUBERNETES_VERSION = "1.33.0"
#: kubeconform's "default" location (yannh/kubernetes-json-schema), also the default here.
DEFAULT_SCHEMA_LOCATION = "default"


@dataclass
class LintSettings:
    gpu_taint_key: str = "nvidia.com/gpu"
    gpu_label_keys: list[str] = field(default_factory=lambda: [
        "llmfleet.io/gpu-class", "cloud.google.com/gke-accelerator", "nvidia.com/gpu.product"])
    disabled_rules: list[str] = field(default_factory=list)
    #: The model gateway's committed routing table (relative to the root; "" = no gateway).
    gateway_routes_file: str = ""


@dataclass
class Config:
    root: Path
    overlays_dir: str = "overlays"
    platform: list[str] = field(default_factory=lambda: ["platform"])
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    schema_locations: list[str] = field(default_factory=list)
    lint: LintSettings = field(default_factory=LintSettings)
    source: Path | None = None

    @property
    def overlays_path(self) -> Path:
        return self.root / self.overlays_dir

    def overlay_dirs(self) -> list[Path]:
        """Every overlay: a direct sub-folder of ``overlays/`` holding a kustomization."""
        base = self.overlays_path
        if not base.is_dir():
            return []
        return sorted(p for p in base.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and find_kustomization(p))

    def platform_dirs(self) -> list[Path]:
        return [self.root / p for p in self.platform if find_kustomization(self.root / p)]

    def resolve_location(self, location: str) -> str:
        """Relative local schema locations are relative to the config file's folder."""
        if location == "default" or location.startswith(("http://", "https://")):
            return location
        path = Path(location)
        if not path.is_absolute():
            path = (self.root / path)
        return os.path.normpath(str(path))


KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` with an ``llmfleet.yaml``; else ``start``."""
    env = os.environ.get("LLMFLEET_ROOT")
    if env:
        return Path(env).resolve()
    start = (start or Path.cwd()).resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return start


def load_config(root: Path | None = None) -> Config:
    root = find_root(root)
    path = root / CONFIG_FILE
    config = Config(root=root)
    if not path.is_file():
        return config
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the configuration: {exc}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: the configuration must be a mapping")
    config.source = path
    config.overlays_dir = str(raw.get("overlays", config.overlays_dir))
    platform = raw.get("platform", config.platform)
    config.platform = [platform] if isinstance(platform, str) else list(platform or [])
    validate = raw.get("validate") or {}
    config.kubernetes_version = str(validate.get("kubernetes-version", config.kubernetes_version))
    config.schema_locations = [str(x) for x in validate.get("schema-locations", []) or []]
    lint = raw.get("lint") or {}
    settings = config.lint
    settings.gpu_taint_key = str(lint.get("gpu-taint-key", settings.gpu_taint_key))
    if lint.get("gpu-label-keys"):
        settings.gpu_label_keys = [str(x) for x in lint["gpu-label-keys"]]
    settings.disabled_rules = [str(x) for x in lint.get("disabled-rules", []) or []]
    settings.gateway_routes_file = str(lint.get("gateway-routes-file", "") or "")
    return config

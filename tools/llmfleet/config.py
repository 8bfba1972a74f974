"""The project configuration (``llmfleet.yaml`` at the repository root) and its defaults."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from llmfleet.errors import UsageError

CONFIG_FILE = "llmfleet.yaml"
DEFAULT_KUBERNETES_VERSION = "1.33.0"
#: kubeconform's "default" location (yannh/kubernetes-json-schema), also the default here.
DEFAULT_SCHEMA_LOCATION = "default"
#: kubeconform's template for the kubeconform/CRDs-catalog layout (docs/reference/tooling.md §1.3).
CATALOG_LAYOUT = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
#: datreeio/CRDs-catalog, pinned to the commit the vendored copies come from (schemas/sources.yaml).
CATALOG_LOCATION = ("https://raw.githubusercontent.com/datreeio/CRDs-catalog/"
                    "7b1e26ef9deea49293714d204c1a2270aab1178f/" + CATALOG_LAYOUT)
#: The CRD schemas vendored in this repository (schemas/crds), when llmfleet runs from a
#: checkout of it (``pip install -e .``, as ``make setup`` does).
VENDORED_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "crds"


def default_schema_locations() -> list[str]:
    """Used when llmfleet.yaml (or its ``schema-locations``) is absent: the vendored CRD
    schemas of this checkout, then the pinned remote catalog."""
    found = [str(VENDORED_SCHEMAS) + "/" + CATALOG_LAYOUT] if VENDORED_SCHEMAS.is_dir() else []
    return [*found, CATALOG_LOCATION]


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
    schema_locations: list[str] = field(default_factory=default_schema_locations)
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


def resolve_overlay_arg(config: Config, raw: str, cwd: Path | None = None) -> Path:
    """An overlay named on the command line: a folder (relative to the current folder or to
    the repository root, e.g. ``overlays/<name>``) or a bare overlay name (``<name>``).
    Raises UsageError naming the close matches when it is none of them."""
    cwd = cwd or Path.cwd()
    given = Path(raw)
    candidates = [given if given.is_absolute() else cwd / given]
    if not given.is_absolute():
        candidates += [config.root / given, config.overlays_path / given]
    for candidate in candidates:
        if candidate.is_dir() and find_kustomization(candidate):
            return candidate if candidate != cwd / given else given
    names = [d.name for d in config.overlay_dirs()]
    wanted = given.name or raw
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
    if given.is_dir() or (cwd / given).is_dir():
        problem = f"{raw}: a folder with no kustomization.yaml"
    else:
        problem = f"{raw}: no such overlay (neither a folder nor {config.overlays_dir}/{wanted})"
    if close:
        hint = "did you mean " + ", ".join(close) + "?"
    elif names:
        hint = "overlays: " + ", ".join(names)
    else:
        hint = f"no overlays under {config.overlays_dir}/"
    raise UsageError(f"{problem}; {hint}")


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
    if "schema-locations" in validate:
        config.schema_locations = [str(x) for x in validate.get("schema-locations") or []]
    lint = raw.get("lint") or {}
    settings = config.lint
    settings.gpu_taint_key = str(lint.get("gpu-taint-key", settings.gpu_taint_key))
    if lint.get("gpu-label-keys"):
        settings.gpu_label_keys = [str(x) for x in lint["gpu-label-keys"]]
    settings.disabled_rules = [str(x) for x in lint.get("disabled-rules", []) or []]
    settings.gateway_routes_file = str(lint.get("gateway-routes-file", "") or "")
    return config

"""The project configuration (``llmfleet.yaml`` at the repository root) and its defaults.

The file is validated against ``llmfleet/data/llmfleet.schema.json``: an unknown key or a
value of the wrong type is a usage error naming the file and the key.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from llmfleet import DATA_DIR, REPOSITORY_DIR
from llmfleet.infra import procs
from llmfleet.infra.errors import UsageError
from llmfleet.kube import safe_yaml
from llmfleet.model.overlay import ClusterSettings

CONFIG_FILE = "llmfleet.yaml"
SCHEMA_FILE = DATA_DIR / "llmfleet.schema.json"
DEFAULT_KUBERNETES_VERSION = "1.33.0"
#: kubeconform's "default" location (yannh/kubernetes-json-schema), also the default here.
DEFAULT_SCHEMA_LOCATION = "default"
#: kubeconform's template for the kubeconform/CRDs-catalog layout (docs/reference/tooling.md §1.3).
CATALOG_LAYOUT = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
#: datreeio/CRDs-catalog, pinned to the commit the vendored copies come from (schemas/sources.yaml).
CATALOG_LOCATION = (
    "https://raw.githubusercontent.com/datreeio/CRDs-catalog/"
    "7b1e26ef9deea49293714d204c1a2270aab1178f/" + CATALOG_LAYOUT
)
#: The CRD schemas vendored in this repository (schemas/crds), when llmfleet runs from a
#: checkout of it (``pip install -e .``, as ``make setup`` does).
VENDORED_SCHEMAS = REPOSITORY_DIR / "schemas" / "crds"


def default_schema_locations() -> list[str]:
    """Used when llmfleet.yaml (or its ``schema-locations``) is absent: the vendored CRD
    schemas of this checkout, then the pinned remote catalog."""
    found = [str(VENDORED_SCHEMAS) + "/" + CATALOG_LAYOUT] if VENDORED_SCHEMAS.is_dir() else []
    return [*found, CATALOG_LOCATION]


@dataclass(frozen=True)
class Limits:
    """Bounds on input and on external tools (``limits:`` in llmfleet.yaml)."""

    render_timeout_s: float = procs.DEFAULT_TIMEOUTS["kustomize"]
    git_timeout_s: float = procs.DEFAULT_TIMEOUTS["git"]
    promtool_timeout_s: float = procs.DEFAULT_TIMEOUTS["promtool"]
    kubeconform_timeout_s: float = procs.DEFAULT_TIMEOUTS["kubeconform"]
    max_input_bytes: int = 256 * 1024 * 1024
    #: Seconds a ``new-model`` or ``gateway-routes`` run waits for another one to finish.
    lock_timeout_s: float = 600.0

    def apply(self) -> None:
        """Make these the timeouts of every external tool run (:mod:`llmfleet.infra.procs`)."""
        procs.configure(
            {
                "kustomize": self.render_timeout_s,
                "git": self.git_timeout_s,
                "promtool": self.promtool_timeout_s,
                "kubeconform": self.kubeconform_timeout_s,
            }
        )


@dataclass
class Config:
    root: Path
    overlays_dir: str = "overlays"
    platform: list[str] = field(default_factory=lambda: ["platform"])
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    schema_locations: list[str] = field(default_factory=default_schema_locations)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    #: The model gateway's committed routing table (relative to the root; "" = no gateway).
    routes_file: str = ""
    disabled_rules: list[str] = field(default_factory=list)
    enabled_rules: list[str] = field(default_factory=list)
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    source: Path | None = None
    #: The schema check of the configuration file, when it was deferred (load_config).
    pending_schema_check: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def check_schema(self) -> None:
        """Run the deferred schema check, once (a UsageError naming the field, as
        load_config would have raised)."""
        check, self.pending_schema_check = self.pending_schema_check, None
        if check is not None:
            check()

    @property
    def overlays_path(self) -> Path:
        return self.root / self.overlays_dir

    def overlay_dirs(self) -> list[Path]:
        """Every overlay: a direct sub-folder of ``overlays/`` holding a kustomization."""
        base = self.overlays_path
        if not base.is_dir():
            return []
        return sorted(
            p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and find_kustomization(p)
        )

    def platform_dirs(self) -> list[Path]:
        return [self.root / p for p in self.platform if find_kustomization(self.root / p)]

    def resolve_location(self, location: str) -> str:
        """Relative local schema locations are relative to the config file's folder."""
        if location == "default" or location.startswith(("http://", "https://")):
            return location
        path = Path(location)
        if not path.is_absolute():
            path = self.root / path
        return os.path.normpath(str(path))

    def overlay_name(self, directory: Path) -> str:
        """An overlay's name (its folder under ``overlays/``), else its path from the root."""
        try:
            directory.resolve().relative_to(self.overlays_path.resolve())
            return directory.name
        except ValueError:
            return display_path(directory, self.root)

    def resolve_overlay_arg(self, raw: str, cwd: Path | None = None) -> Path:
        return resolve_overlay_arg(self, raw, cwd)


def display_path(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except (ValueError, OSError, RuntimeError):  # outside the root, a name too long, a link loop
        return str(path)


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


def cache_root(root: Path) -> Path:
    """The cache folder: ``.llmfleet-cache/`` at the repository root, or
    ``$LLMFLEET_CACHE_DIR``."""
    env = os.environ.get("LLMFLEET_CACHE_DIR")
    return Path(env) if env else root / ".llmfleet-cache"


@lru_cache(maxsize=1)
def _schema_text() -> str:
    return SCHEMA_FILE.read_text(encoding="utf-8")


def _known_valid_marker(raw: dict[str, Any], root: Path, use_cache: bool) -> Path | None:
    """Where a configuration known to pass the schema is remembered (its content, the
    schema's and jsonschema's version): a run whose renders and validations come from the
    cache does not import jsonschema.  None without a cache (--no-cache, LLMFLEET_NO_CACHE=1)."""
    if not use_cache or os.environ.get("LLMFLEET_NO_CACHE") == "1":
        return None
    from llmfleet.pipeline.validate.versions import distribution_version

    hasher = hashlib.sha256(f"llmfleet-config-1\0{distribution_version('jsonschema')}\0".encode())
    hasher.update(_schema_text().encode("utf-8"))
    hasher.update(json.dumps(raw, sort_keys=True, default=str).encode("utf-8", "surrogatepass"))
    return cache_root(root) / "validate" / f"config-{hasher.hexdigest()}"


def _check_schema(raw: dict[str, Any], path: Path, use_cache: bool = True) -> None:
    marker = _known_valid_marker(raw, path.parent, use_cache)
    if marker is not None and marker.is_file():
        return
    import jsonschema

    errors = sorted(
        jsonschema.Draft202012Validator(json.loads(_schema_text())).iter_errors(raw),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    if not errors:
        if marker is not None:
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
            except OSError:
                pass  # a cache that cannot be written is only slower
        return
    error = errors[0]
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema or {}).get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        prefix = f"{where}." if error.absolute_path else ""
        raise UsageError(f"{path}: unknown key {prefix}{extra[0]} (known here: {', '.join(allowed)})")
    raise UsageError(f"{path}: {where}: {error.message}")


def load_config(root: Path | None = None, use_cache: bool = True, defer_schema_check: bool = False) -> Config:
    """The repository's configuration.  With ``defer_schema_check``, a configuration not
    known to be valid is checked against its schema when :meth:`Config.check_schema` is
    called (``check`` starts its renders first: importing jsonschema is a tenth of a cold
    run); a value that cannot even be read is checked at once, so the error is the
    schema's."""
    root = find_root(root)
    path = root / CONFIG_FILE
    config = Config(root=root)
    if not path.is_file():
        config.limits.apply()
        return config
    try:
        raw = safe_yaml.load(path.read_text(encoding="utf-8")) or {}
    except (safe_yaml.UnsafeYAML, UnicodeDecodeError, OSError) as exc:
        raise UsageError(f"{path}: cannot read the configuration: {exc}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: the configuration must be a mapping")
    if not defer_schema_check:
        _check_schema(raw, path, use_cache)
        return _from_raw(config, raw, path)
    try:
        config = _from_raw(config, raw, path)
    except Exception:
        _check_schema(raw, path, use_cache)
        raise
    config.pending_schema_check = functools.partial(_check_schema, raw, path, use_cache)
    return config


def _from_raw(config: Config, raw: dict[str, Any], path: Path) -> Config:
    config.source = path
    config.overlays_dir = str(raw.get("overlays", config.overlays_dir))
    platform = raw.get("platform", config.platform)
    config.platform = [platform] if isinstance(platform, str) else list(platform or [])
    validate = raw.get("validate") or {}
    config.kubernetes_version = str(validate.get("kubernetes-version", config.kubernetes_version))
    if "schema-locations" in validate:
        config.schema_locations = [str(x) for x in validate.get("schema-locations") or []]
    cluster = raw.get("cluster") or {}
    defaults = ClusterSettings()
    config.cluster = ClusterSettings(
        gpu_taint_key=str(cluster.get("gpu-taint-key", defaults.gpu_taint_key)),
        gpu_label_keys=tuple(str(x) for x in cluster.get("gpu-label-keys", defaults.gpu_label_keys)),
        adds_gpu_tolerations=bool(cluster.get("adds-gpu-tolerations", defaults.adds_gpu_tolerations)),
        node_shapes=tuple(cluster.get("node-shapes") or ()),
        kubernetes_version=str(cluster.get("kubernetes-version") or config.kubernetes_version),
        cloud=str(cluster.get("cloud") or ""),
    )
    config.routes_file = str((raw.get("gateway") or {}).get("routes-file", "") or "")
    lint = raw.get("lint") or {}
    config.disabled_rules = [str(x) for x in lint.get("disabled-rules", []) or []]
    config.enabled_rules = [str(x) for x in lint.get("enabled-rules", []) or []]
    config.rule_options = {str(k): dict(v or {}) for k, v in (lint.get("rules") or {}).items()}
    limits = raw.get("limits") or {}
    base = Limits()
    config.limits = Limits(
        render_timeout_s=float(limits.get("render-timeout-seconds", base.render_timeout_s)),
        git_timeout_s=float(limits.get("git-timeout-seconds", base.git_timeout_s)),
        promtool_timeout_s=float(limits.get("promtool-timeout-seconds", base.promtool_timeout_s)),
        kubeconform_timeout_s=float(limits.get("kubeconform-timeout-seconds", base.kubeconform_timeout_s)),
        max_input_bytes=int(limits.get("max-input-bytes", base.max_input_bytes)),
        lock_timeout_s=float(limits.get("lock-timeout-seconds", base.lock_timeout_s)),
    )
    config.limits.apply()
    return config

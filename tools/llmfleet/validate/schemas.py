"""Find, load and cache JSON schemas: each schema is read and its validator built once per run.

Built-in kinds use the strict schemas that the ``kubernetes-validate`` package ships (the
same layout as kubeconform's ``-local-strict`` folders, with a shared ``_definitions.json``).
Other kinds (CRDs) come from the configured schema locations, tried in order; remote ones
are downloaded once and kept in a cache folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import importlib_resources
import jsonschema
from referencing import Registry, Resource as RefResource

from llmfleet.validate import locations

DOWNLOAD_TIMEOUT_S = 30


class SchemaUnavailable(Exception):
    """A schema location failed in a way that is not "not found" (network, bad JSON)."""


@dataclass(frozen=True)
class SchemaHit:
    validator: jsonschema.protocols.Validator
    source: str


def bundled_versions() -> list[str]:
    root = importlib_resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    found = []
    for entry in root.iterdir():
        match = re.match(r"^v(\d+)\.(\d+)\.0-local-strict$", entry.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2))))
    return [f"{a}.{b}" for a, b in sorted(found)]


def pick_bundled_version(kubernetes_version: str) -> str | None:
    """The newest bundled major.minor that is not newer than the requested one."""
    if kubernetes_version == "master":
        versions = bundled_versions()
        return versions[-1] if versions else None
    major, minor = (int(x) for x in kubernetes_version.split(".")[:2])
    usable = [v for v in bundled_versions() if tuple(int(x) for x in v.split(".")) <= (major, minor)]
    return usable[-1] if usable else None


class SchemaStore:
    def __init__(self, kubernetes_version: str, schema_locations: list[str], cache_dir: Path | None,
                 strict: bool = True):
        self.kubernetes_version = kubernetes_version
        self.locations = schema_locations
        self.cache_dir = cache_dir
        self.strict = strict
        self._lock = threading.Lock()
        self._validators: dict[tuple[str, str], SchemaHit | None] = {}
        self._bundled_dir = None
        self._registry: Registry | None = None
        version = pick_bundled_version(kubernetes_version)
        if version:
            suffix = "-local-strict" if strict else "-local"
            self._bundled_dir = (importlib_resources.files("kubernetes_validate")
                                 .joinpath("kubernetes-json-schema").joinpath(f"v{version}.0{suffix}"))
        self.bundled_version = version

    def _definitions_registry(self) -> Registry:
        if self._registry is None:
            definitions = json.loads(self._bundled_dir.joinpath("_definitions.json").read_text())
            self._registry = RefResource.from_contents(definitions) @ Registry()
        return self._registry

    def lookup(self, api_version: str, kind: str) -> SchemaHit | None:
        """The validator for a kind, or None when no location has its schema."""
        key = (api_version, kind)
        with self._lock:
            if key not in self._validators:
                self._validators[key] = self._find(api_version, kind)
            return self._validators[key]

    def _find(self, api_version: str, kind: str) -> SchemaHit | None:
        bundled = self._bundled(api_version, kind)
        if bundled:
            return bundled
        variables = locations.template_variables(api_version, kind, self.kubernetes_version,
                                                 self.strict)
        for location in self.locations:
            if location == "default":
                continue  # kubeconform's default registry holds the built-ins bundled above
            target = locations.expand(location, variables)
            schema = self._load(target)
            if schema is not None:
                cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
                return SchemaHit(cls(schema), target)
        return None

    def _bundled(self, api_version: str, kind: str) -> SchemaHit | None:
        if self._bundled_dir is None:
            return None
        # kubernetes-validate's naming: group reduced to its first label (apps/v1 -> apps-v1).
        group, _, version = api_version.rpartition("/")
        if group and "." in group and not group.endswith(".k8s.io"):
            return None  # a CRD group; never a built-in
        prefix = f"{group.split('.')[0]}-" if group else ""
        entry = self._bundled_dir.joinpath(f"{kind.lower()}-{prefix}{version}.json")
        if not entry.is_file():
            return None
        schema = json.loads(entry.read_text())
        if "x-kubernetes-group-version-kind" in schema:
            gvks = schema["x-kubernetes-group-version-kind"]
            if not any(g.get("group", "") == group and g.get("version") == version for g in gvks):
                return None
        validator = jsonschema.Draft202012Validator(schema, registry=self._definitions_registry())
        return SchemaHit(validator, f"kubernetes-validate v{self.bundled_version} {entry.name}")

    def _load(self, target: str) -> dict | None:
        if target.startswith(("http://", "https://")):
            return self._download(target)
        path = Path(target)
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # kubeconform moves on from non-JSON content too

    def _download(self, url: str) -> dict | None:
        cached = self.cache_dir / (hashlib.sha256(url.encode()).hexdigest() + ".json") \
            if self.cache_dir else None
        if cached is not None and cached.is_file():
            return json.loads(cached.read_text())
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise SchemaUnavailable(f"{url}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SchemaUnavailable(f"{url}: {getattr(exc, 'reason', exc)}") from None
        try:
            schema = json.loads(body)
        except json.JSONDecodeError:
            return None
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_bytes(body)
            tmp.replace(cached)
        return schema


@lru_cache(maxsize=8)
def shared_store(kubernetes_version: str, schema_locations: tuple[str, ...], cache_dir: str | None,
                 strict: bool = True) -> SchemaStore:
    return SchemaStore(kubernetes_version, list(schema_locations),
                       Path(cache_dir) if cache_dir else None, strict)

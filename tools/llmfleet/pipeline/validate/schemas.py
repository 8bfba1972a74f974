"""Find, load and cache JSON schemas: each schema is read and its validator built once per run.

Built-in kinds use the strict schemas that the ``kubernetes-validate`` package ships (the
same layout as kubeconform's ``-local-strict`` folders, with a shared ``_definitions.json``).
Other kinds (CRDs) come from the configured schema locations, tried in order: local folders
(the repository's vendored ``schemas/crds``) and remote ones, downloaded once and kept in a
cache folder.  Offline (``offline=True``, set by ``--offline`` or ``LLMFLEET_OFFLINE=1``) a
remote location is used only from that cache.  A kind that no location has is a
:class:`SchemaMiss` that says what was tried; a failed download is one of those outcomes,
never an exception, and a host that failed once is not asked again in the same run.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from llmfleet.pipeline.validate import go_regex, locations
from llmfleet.pipeline.validate.versions import distribution_version

if TYPE_CHECKING:  # jsonschema is imported when an object is validated (not on a cache hit)
    import jsonschema
    from referencing import Registry

#: Per socket operation (connect, each read), not for the whole download.
DOWNLOAD_TIMEOUT_S = 15
OFFLINE_ENV = "LLMFLEET_OFFLINE"
#: Kubernetes' ObjectMeta in kubernetes-validate's ``_definitions.json`` (its ``$id``).
OBJECT_META_REF = (
    "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
)


def offline_from_env() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


class DownloadFailed(Exception):
    """A remote location failed in a way that is not "not found" (network, HTTP 5xx)."""


class SchemaHit:
    """A kind's schema: where it came from, a fingerprint of its content, and its validator,
    built on first use (a run whose objects are all known valid never builds it)."""

    def __init__(
        self,
        source: str,
        fingerprint: str,
        build: Callable[[], jsonschema.protocols.Validator],
        schema: dict | None = None,
    ):
        self.source = source
        #: The schema itself, for a CRD (its CEL rules and defaults are read without
        #: building a validator, so without importing jsonschema).
        self.schema = schema
        #: Changes whenever the schema's content (or the package that ships it) changes.
        self.fingerprint = fingerprint
        self._build = build
        self._validator: jsonschema.protocols.Validator | None = None
        self._lock = threading.Lock()

    @property
    def validator(self) -> jsonschema.protocols.Validator:
        with self._lock:
            if self._validator is None:
                self._validator = self._build()
            return self._validator


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Attempt:
    location: str  # the expanded location: a path or a URL
    outcome: str  # "not found", "download failed: ...", "not tried (offline)", ...


@dataclass(frozen=True)
class SchemaMiss:
    """No location had the kind's schema: what was tried, in order."""

    api_version: str
    kind: str
    attempts: tuple[Attempt, ...]

    @property
    def download_failed(self) -> bool:
        return any(a.outcome.startswith("download failed") for a in self.attempts)


def _tolerant_pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    compiled = go_regex.compile_pattern(pattern)
    if compiled is not None and not compiled.search(instance):
        import jsonschema

        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _tolerant_pattern_properties(validator, patterns, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = go_regex.compile_pattern(pattern)
        if compiled is None:
            continue
        for key, value in instance.items():
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


#: The integer format whose range is checked: an int32 field (a built-in field's Go type; for
#: a CRD kube-openapi's IsValueValidAgainstRange).  Not int64: a real v1.36 server took
#: terminationGracePeriodSeconds 2**63 through server-side apply, wrapped to a negative value
#: (docs/reference/api-validation.md §2).
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1)}


def _integer_format(validator, format, instance, schema):
    bounds = _INT_RANGES.get(format)
    if bounds is None or not validator.is_type(instance, "integer") or isinstance(instance, float):
        return
    if not bounds[0] <= instance <= bounds[1]:
        import jsonschema

        yield jsonschema.ValidationError(f"out of range for {format} (from {bounds[0]} to {bounds[1]})")


def _draft_2020_12(schema: dict, registry: Registry) -> jsonschema.protocols.Validator:
    import jsonschema

    ranged = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"format": _integer_format})
    return ranged(schema, registry=registry)


def crd_validator(schema: dict) -> jsonschema.protocols.Validator:
    """A validator for a CRD schema whose ``pattern`` keywords are Go regular expressions
    (llmfleet.pipeline.validate.go_regex): RE2-only syntax is translated, never a crash."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    tolerant = jsonschema.validators.extend(
        cls,
        {
            "pattern": _tolerant_pattern,
            "patternProperties": _tolerant_pattern_properties,
            "format": _integer_format,
        },
    )
    return tolerant(schema)


@lru_cache(maxsize=1)
def _bundled_root() -> Path | None:
    """kubernetes-validate's schema folder, found without importing the package (its
    ``__init__`` imports jsonschema, which a run served by the cache does not need)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "kubernetes-json-schema"
        if folder.is_dir():
            return folder
    return None


def bundled_versions() -> list[str]:
    root = _bundled_root()
    found = []
    for entry in root.iterdir() if root is not None else ():
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
    def __init__(
        self,
        kubernetes_version: str,
        schema_locations: list[str],
        cache_dir: Path | None,
        strict: bool = True,
        offline: bool = False,
    ):
        self.kubernetes_version = kubernetes_version
        self.locations = schema_locations
        self.cache_dir = cache_dir
        self.strict = strict
        self.offline = offline
        self._lock = threading.Lock()  # guards _found and _basic (held while finding)
        self._hosts_lock = threading.Lock()  # guards _failed_hosts
        self._found: dict[tuple[str, str], SchemaHit | SchemaMiss] = {}
        self._failed_hosts: dict[str, str] = {}
        self._bundled_dir = None
        self._registry: Registry | None = None
        self._basic: SchemaHit | None = None
        version = pick_bundled_version(kubernetes_version)
        root = _bundled_root()
        if version and root is not None:
            suffix = "-local-strict" if strict else "-local"
            self._bundled_dir = root / f"v{version}.0{suffix}"
        self.bundled_version = version

    def _definitions_registry(self) -> Registry:
        if self._registry is None:
            assert self._bundled_dir is not None, "only bundled schemas refer to the definitions"
            from referencing import Registry
            from referencing import Resource as RefResource

            definitions = json.loads(self._bundled_dir.joinpath("_definitions.json").read_text())
            self._registry = RefResource.from_contents(definitions) @ Registry()
        return self._registry

    def find(self, api_version: str, kind: str) -> SchemaHit | SchemaMiss:
        """The kind's validator, or what was tried when no location has its schema."""
        key = (api_version, kind)
        with self._lock:
            if key not in self._found:
                self._found[key] = self._find(api_version, kind)
            return self._found[key]

    def lookup(self, api_version: str, kind: str) -> SchemaHit | None:
        """The validator for a kind, or None when no location has its schema."""
        found = self.find(api_version, kind)
        return found if isinstance(found, SchemaHit) else None

    def basic(self) -> SchemaHit | None:
        """For a kind with no schema: apiVersion and kind are strings and metadata is a
        Kubernetes ObjectMeta (strict, from the bundled definitions) with a name or a
        generateName, as the API server requires of every object."""
        if self._bundled_dir is None:
            return None
        with self._lock:
            if self._basic is None:
                schema = {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "required": ["apiVersion", "kind", "metadata"],
                    "properties": {
                        "apiVersion": {"type": "string", "minLength": 1},
                        "kind": {"type": "string", "minLength": 1},
                        "metadata": {
                            "$ref": OBJECT_META_REF,
                            "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
                        },
                    },
                }
                source = f"kubernetes-validate v{self.bundled_version} ObjectMeta"
                self._basic = SchemaHit(
                    source,
                    _digest(f"{self._package_identity()} {json.dumps(schema, sort_keys=True)}"),
                    lambda: _draft_2020_12(schema, self._definitions_registry()),
                )
            return self._basic

    def _find(self, api_version: str, kind: str) -> SchemaHit | SchemaMiss:
        bundled = self._bundled(api_version, kind)
        if bundled:
            return bundled
        variables = locations.template_variables(api_version, kind, self.kubernetes_version, self.strict)
        attempts: list[Attempt] = []
        for location in self.locations:
            if location == "default":
                continue  # kubeconform's default registry holds the built-ins bundled above
            target = locations.expand(location, variables)
            schema, text, outcome = self._load(target)
            if schema is not None:
                return SchemaHit(
                    target, _digest(f"crd {text}"), functools.partial(crd_validator, schema), schema
                )
            attempts.append(Attempt(target, outcome))
        return SchemaMiss(api_version, kind, tuple(attempts))

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
        text = entry.read_text()
        schema = json.loads(text)
        if "x-kubernetes-group-version-kind" in schema:
            gvks = schema["x-kubernetes-group-version-kind"]
            if not any(g.get("group", "") == group and g.get("version") == version for g in gvks):
                return None
        # The kind's file refers to the shared _definitions.json of the same package version.
        return SchemaHit(
            f"kubernetes-validate v{self.bundled_version} {entry.name}",
            _digest(f"{self._package_identity()} {entry.name} {text}"),
            lambda: _draft_2020_12(schema, self._definitions_registry()),
        )

    def _package_identity(self) -> str:
        return (
            f"kubernetes-validate {distribution_version('kubernetes-validate')} "
            f"v{self.bundled_version} strict={self.strict}"
        )

    def _load(self, target: str) -> tuple[dict | None, str, str]:
        """(schema, its text, "") or (None, "", why not)."""
        if target.startswith(("http://", "https://")):
            return self._remote(target)
        path = Path(target)
        if not path.is_file():
            return None, "", "not found"
        try:
            text = path.read_text(encoding="utf-8")
            return json.loads(text), text, ""
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None, "", "not JSON"  # kubeconform moves on from non-JSON content too
        except OSError as exc:
            return None, "", f"cannot read: {exc.strerror}"

    def _cached_path(self, url: str) -> Path | None:
        if not self.cache_dir:
            return None
        return self.cache_dir / (hashlib.sha256(url.encode()).hexdigest() + ".json")

    def _remote(self, url: str) -> tuple[dict | None, str, str]:
        cached = self._cached_path(url)
        if cached is not None and cached.is_file():
            try:
                text = cached.read_text(encoding="utf-8")
                return json.loads(text), text, ""
            except (json.JSONDecodeError, UnicodeDecodeError, OSError):
                pass  # a damaged cache entry: download it again
        if self.offline:
            return None, "", f"not tried: offline ({OFFLINE_ENV}=1 or --offline) and not in the cache"
        host = urllib.parse.urlsplit(url).netloc
        with self._hosts_lock:
            earlier = self._failed_hosts.get(host)
        if earlier:
            return None, "", f"download failed: {earlier} (not retried)"
        try:
            body = self._download(url)
        except DownloadFailed as exc:
            with self._hosts_lock:
                self._failed_hosts.setdefault(host, str(exc))
            return None, "", f"download failed: {exc}"
        if body is None:
            return None, "", "not found (HTTP 404)"
        try:
            text = body.decode("utf-8")
            schema = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None, "", "not JSON"
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
                tmp.write_bytes(body)
                tmp.replace(cached)
            except OSError:
                pass  # an unwritable cache only costs a download next time
        return schema, text, ""

    @staticmethod
    def _download(url: str) -> bytes | None:
        """The body, None on 404; DownloadFailed on anything else."""
        import urllib.error
        import urllib.request  # with http.client and ssl: only when a schema is downloaded

        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise DownloadFailed(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DownloadFailed(str(getattr(exc, "reason", exc))) from None


@lru_cache(maxsize=8)
def shared_store(
    kubernetes_version: str,
    schema_locations: tuple[str, ...],
    cache_dir: str | None,
    strict: bool = True,
    offline: bool = False,
) -> SchemaStore:
    return SchemaStore(
        kubernetes_version, list(schema_locations), Path(cache_dir) if cache_dir else None, strict, offline
    )

"""Built-in kinds' schemas laid out for kubeconform, from the package llmfleet already has.

kubeconform's default location is a remote repository (yannh/kubernetes-json-schema): with no
network every built-in kind would be "schema-missing" after its HTTP retries. The same
schemas ship with ``kubernetes-validate`` (its ``v<x.y>.0-local-strict`` folders), but each
kind's file there refers to a shared ``/api/_definitions.json`` by an absolute ``$ref``, which
kubeconform would try to download. So, for the kinds of one run, this writes standalone
copies (the kind's schema with the definitions it reaches written in place), named as
kubeconform's ``{{ .ResourceKind }}{{ .KindSuffix }}.json`` template expects, into a cache
folder keyed by the package version; kubeconform then reads them as a local location.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from llmfleet.pipeline.validate import locations, schemas
from llmfleet.pipeline.validate.versions import distribution_version

DEFINITIONS_REF = "/api/_definitions.json#/$defs/"
LOCAL_REF = "#/$defs/"
#: The template kubeconform expands for each object (locations.template_variables).
FILE_TEMPLATE = "{{ .ResourceKind }}{{ .KindSuffix }}.json"
#: Part of the cache key: change it when standalone() writes something different.
LAYOUT = "inlined-1"


def bundled_folder(kubernetes_version: str) -> Path | None:
    version = schemas.pick_bundled_version(kubernetes_version)
    root = schemas._bundled_root()
    if version is None or root is None:
        return None
    folder = root / f"v{version}.0-local-strict"
    return folder if folder.is_dir() else None


def _inline(node: object, definitions: dict[str, dict], stack: tuple[str, ...], kept: set[str]) -> object:
    """Replace each ``$ref`` by the definition it names (kubeconform reports only the first
    level of a validation error's causes: behind a ``$ref`` a wrong field would show as
    "validation failed" at its parent). A definition that refers to itself stays a ``$ref``."""
    if isinstance(node, list):
        return [_inline(v, definitions, stack, kept) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith((DEFINITIONS_REF, LOCAL_REF)):
        name = ref.rpartition("/")[2]
        if name in definitions:
            if name in stack:
                kept.add(name)
                return {**node, "$ref": LOCAL_REF + name}
            inlined = _inline(definitions[name], definitions, (*stack, name), kept)
            assert isinstance(inlined, dict)
            siblings = {k: v for k, v in node.items() if k not in ("$ref", "description")}
            return {**inlined, **{k: _inline(v, definitions, stack, kept) for k, v in siblings.items()}}
    return {k: _inline(v, definitions, stack, kept) for k, v in node.items()}


def standalone(kind_schema: dict, definitions: dict[str, dict]) -> dict:
    """The kind's schema with every definition it reaches written in place (recursive ones
    copied in as ``$defs``)."""
    kept: set[str] = set()
    schema = _inline({k: v for k, v in kind_schema.items() if k != "$id"}, definitions, (), kept)
    assert isinstance(schema, dict)
    defs: dict[str, object] = {}
    while kept - defs.keys():
        name = min(kept - defs.keys())
        defs[name] = _inline(definitions[name], definitions, (name,), kept)
    if defs:
        schema["$defs"] = defs
    return schema


def prepare(kinds: set[tuple[str, str]], kubernetes_version: str, cache: Path) -> str | None:
    """Write the standalone schemas of ``kinds`` ((apiVersion, kind) pairs) that the package
    bundles and return kubeconform's location template for them (None: nothing bundled)."""
    source = bundled_folder(kubernetes_version)
    if source is None:
        return None
    identity = f"{LAYOUT} {distribution_version('kubernetes-validate')} {source.name}"
    target = cache / "kubeconform-builtin" / hashlib.sha256(identity.encode()).hexdigest()[:16]
    definitions: dict[str, dict] | None = None
    for api_version, kind in sorted(kinds):
        variables = locations.template_variables(api_version, kind, kubernetes_version, strict=True)
        name = variables["ResourceKind"] + variables["KindSuffix"] + ".json"
        origin = source / name
        if (target / name).is_file() or not origin.is_file():
            continue  # done by an earlier run, or not a built-in kind (a CRD's location has it)
        if definitions is None:
            definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
        _write_atomically(target / name, json.dumps(standalone(json.loads(origin.read_text()), definitions)))
    return str(target / FILE_TEMPLATE)


def _write_atomically(path: Path, text: str) -> None:
    """Concurrent runs may write the same file: each writes its own and renames it in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)

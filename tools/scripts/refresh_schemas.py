#!/usr/bin/env python3
"""Refresh (or verify) the JSON schemas vendored under ``schemas/`` from their pinned sources.

``schemas/sources.yaml`` names, for every vendored file, the upstream repository, the pinned
commit and the path in it.  This script downloads each one from
``{base-url}/{repository}/{commit}/{upstream}``; for an entry with ``crd: {kind, version}`` the
upstream file is a CustomResourceDefinition manifest, and the ``openAPIV3Schema`` of that kind
and version is made strict the way datreeio/CRDs-catalog does it (``Utilities/openapi2jsonschema.py``
at the pinned catalog commit, itself copied from yannh/kubeconform ``scripts/openapi2jsonschema.py``):

* ``additionalProperties: false`` on every object below the root that lists ``properties`` and
  has no ``additionalProperties`` of its own, except objects marked
  ``x-kubernetes-preserve-unknown-fields: true`` (they accept any field by definition) and the
  schemas under ``oneOf``/``anyOf``/``allOf``/``not`` (unlike the catalog's script: such a
  branch only constrains properties declared beside it, and closing it refuses valid objects,
  e.g. a Gateway's ``addresses[].value``);
* ``format: int-or-string`` replaced by ``oneOf: [string, integer]``;
* written with ``json.dumps(indent=1)`` and no final newline.

Every file is downloaded first; only when all succeeded are they written (each one to a
temporary file renamed into place) together with ``schemas/SHA256SUMS``.  A failed download
changes nothing.

Usage::

    python tools/scripts/refresh_schemas.py            # download, convert, write (make schemas)
    python tools/scripts/refresh_schemas.py --verify   # offline: files match SHA256SUMS?
    python tools/scripts/refresh_schemas.py --only crds/ray.io/rayservice_v1.json

Exit codes: 0 done (or verified), 1 a vendored file differs from SHA256SUMS (--verify),
2 bad manifest or arguments, 3 a download failed.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
SUMS_NAME = "SHA256SUMS"
TIMEOUT_S = 60

OK, MISMATCH, USAGE, NETWORK = 0, 1, 2, 3


class RefreshError(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the schemas folder
    repository: str
    commit: str
    upstream: str
    crd: dict | None = None  # {kind, version} for a CRD manifest to convert

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{self.repository}/{self.commit}/{self.upstream}"


def load_manifest(path: Path) -> tuple[str, list[Entry]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RefreshError(f"{path}: cannot read the manifest: {exc}", USAGE) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("files"), list):
        raise RefreshError(f"{path}: needs `sources:` and a `files:` list", USAGE)
    sources = raw.get("sources") or {}
    entries = []
    for index, item in enumerate(raw["files"]):
        where = f"{path}: files[{index}]"
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("path", "source", "upstream")
        ):
            raise RefreshError(f"{where}: needs path, source and upstream", USAGE)
        source = sources.get(item["source"])
        if not isinstance(source, dict) or not source.get("repository") or not source.get("commit"):
            raise RefreshError(
                f"{where}: source {item['source']!r} is not defined with a "
                "repository and a commit under `sources:`",
                USAGE,
            )
        crd = item.get("crd")
        if crd is not None and not (isinstance(crd, dict) and crd.get("kind") and crd.get("version")):
            raise RefreshError(f"{where}: crd needs kind and version", USAGE)
        if Path(item["path"]).is_absolute() or ".." in Path(item["path"]).parts:
            raise RefreshError(f"{where}: path must stay inside the schemas folder", USAGE)
        entries.append(
            Entry(item["path"], str(source["repository"]), str(source["commit"]), item["upstream"], crd)
        )
    return str(raw.get("base-url") or "https://raw.githubusercontent.com"), entries


# -- the catalog's conversion ---------------------------------------------------------------


#: Keywords whose schemas only constrain properties declared beside them (a structural
#: schema's value validations): closing them would refuse the properties declared outside.
_BRANCHES = frozenset({"oneOf", "anyOf", "allOf", "not"})


def _deny_additional_properties(node, is_root: bool = False):
    if isinstance(node, dict):
        if (
            "properties" in node
            and not is_root
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for key, value in node.items():
            if key not in _BRANCHES:
                _deny_additional_properties(value)
    elif isinstance(node, list):
        for value in node:
            _deny_additional_properties(value)
    return node


def _replace_int_or_string(node):
    if isinstance(node, dict):
        return {
            key: (
                {"oneOf": [{"type": "string"}, {"type": "integer"}]}
                if isinstance(value, dict) and value.get("format") == "int-or-string"
                else _replace_int_or_string(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_replace_int_or_string(value) for value in node]
    return node


def crd_to_schema(manifest_text: str, kind: str, version: str) -> bytes:
    """The strict JSON schema of ``kind`` at ``version`` from a CRD manifest (YAML, one or
    more documents, or a List of CRDs)."""
    documents = []
    for doc in yaml.safe_load_all(manifest_text):
        if isinstance(doc, dict) and isinstance(doc.get("items"), list):
            documents.extend(doc["items"])
        elif isinstance(doc, dict):
            documents.append(doc)
    for doc in documents:
        if doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.get("spec") or {}
        if (spec.get("names") or {}).get("kind") != kind:
            continue
        for entry in spec.get("versions") or []:
            if entry.get("name") == version:
                schema = (entry.get("schema") or {}).get("openAPIV3Schema")
                if schema is None:
                    schema = (spec.get("validation") or {}).get("openAPIV3Schema")
                if schema is None:
                    raise ValueError(f"{kind} {version} has no openAPIV3Schema")
                strict = _replace_int_or_string(
                    _deny_additional_properties(copy.deepcopy(schema), is_root=True)
                )
                return json.dumps(strict, indent=1).encode()
    raise ValueError(f"no CustomResourceDefinition for kind {kind} with version {version}")


# -- download, write, verify ----------------------------------------------------------------


def download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise RefreshError(f"{url}: HTTP {exc.code}", NETWORK) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RefreshError(
            f"{url}: {reason} (no network? the vendored copies are unchanged)", NETWORK
        ) from None


def build(entry: Entry, base_url: str) -> bytes:
    url = entry.url(base_url)
    body = download(url)
    if entry.crd is None:
        if entry.path.endswith(".json"):
            try:
                json.loads(body)
            except ValueError:
                raise RefreshError(f"{url}: not JSON", NETWORK) from None
        return body
    try:
        return crd_to_schema(body.decode("utf-8"), entry.crd["kind"], entry.crd["version"])
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RefreshError(f"{url}: {exc}", NETWORK) from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_sums(folder: Path) -> dict[str, str]:
    path = folder / SUMS_NAME
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(None, 1)
            sums[name.strip().lstrip("*")] = digest
    return sums


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def refresh(
    folder: Path, manifest: Path, base_url: str | None = None, only: list[str] | None = None, out=sys.stdout
) -> int:
    default_base, entries = load_manifest(manifest)
    base = base_url or default_base
    if only:
        unknown = sorted(set(only) - {e.path for e in entries})
        if unknown:
            raise RefreshError(f"not in {manifest.name}: {', '.join(unknown)}", USAGE)
        entries = [e for e in entries if e.path in only]
    built = {}
    for entry in entries:  # everything in memory first: a failure writes nothing
        print(f"fetching {entry.url(base)}", file=sys.stderr)
        built[entry.path] = build(entry, base)
    sums = read_sums(folder)
    for path, data in built.items():
        digest = sha256(data)
        state = (
            "new"
            if path not in sums
            else "unchanged"
            if sums[path] == digest and (folder / path).is_file()
            else "updated"
        )
        write_atomically(folder / path, data)
        sums[path] = digest
        print(f"{state:<9} {path}", file=out)
    _, all_entries = load_manifest(manifest)
    listed = [e.path for e in all_entries]
    lines = [f"{sums[p]}  {p}" for p in sorted(listed) if p in sums]
    write_atomically(folder / SUMS_NAME, ("\n".join(lines) + "\n").encode())
    return OK


def verify(folder: Path, manifest: Path, out=sys.stdout) -> int:
    """Every file of the manifest is present and matches SHA256SUMS; nothing else in crds/."""
    _, entries = load_manifest(manifest)
    sums = read_sums(folder)
    problems = []
    for entry in entries:
        path = folder / entry.path
        if entry.path not in sums:
            problems.append(f"{entry.path}: no checksum in {SUMS_NAME} (run make schemas)")
        elif not path.is_file():
            problems.append(f"{entry.path}: missing")
        elif sha256(path.read_bytes()) != sums[entry.path]:
            problems.append(
                f"{entry.path}: sha256 differs from {SUMS_NAME} (edited by hand? "
                "run make schemas to restore it)"
            )
    listed = {e.path for e in entries}
    for path in sorted((folder / "crds").rglob("*.json")) if (folder / "crds").is_dir() else []:
        rel = path.relative_to(folder).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: not listed in {manifest.name} (no recorded source)")
    for line in problems:
        print(line, file=out)
    if not problems:
        print(f"{len(entries)} vendored files match {SUMS_NAME}", file=out)
    return MISMATCH if problems else OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--verify", action="store_true", help="check the vendored files against SHA256SUMS (no network)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="PATH",
        help="refresh only this file (relative to schemas/; repeatable)",
    )
    parser.add_argument(
        "--base-url",
        help="download from this mirror instead of the manifest's "
        "base-url ({base}/{repository}/{commit}/{path})",
    )
    parser.add_argument("--schemas-dir", type=Path, default=SCHEMAS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.schemas_dir
    manifest = folder / "sources.yaml"
    try:
        if args.verify:
            return verify(folder, manifest)
        return refresh(folder, manifest, args.base_url, args.only)
    except RefreshError as err:
        print(f"refresh_schemas: error: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print("refresh_schemas: interrupted (each file is written whole or not at all)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

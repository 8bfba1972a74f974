"""Validation through the real kubeconform binary, reading its ``-output json``.

Flags and output format: yannh/kubeconform v0.8.0 (``pkg/config/config.go``,
``pkg/output/json.go``), summarised in docs/reference/tooling.md §1.  Exit code 0 or 1
both mean "ran"; the JSON says what was invalid.
"""

from __future__ import annotations

import base64
import datetime
import json
import shutil
import subprocess
from pathlib import Path

from llmfleet.infra import procs
from llmfleet.infra.errors import ToolError
from llmfleet.infra.findings import Finding, Severity
from llmfleet.pipeline.manifests import Resource
from llmfleet.pipeline.validate import kubeconform_schemas
from llmfleet.pipeline.validate.jsonschema_validator import MISSING_RULE, SCHEMA_RULE

#: kubeconform's messages for a schema it could not download (pkg/loader/http.go, v0.8.0):
#: with --ignore-missing-schemas llmfleet ignores these too, as it does in-process.
DOWNLOAD_FAILED = ("failed downloading schema at", "error while downloading schema at")
INSTALL_HINT = "make tools (builds the version pinned in tools/gotools/kubeconform/go.mod into .venv/bin)"
#: The default of ``limits.kubeconform-timeout-seconds``.
TIMEOUT_S = procs.DEFAULT_TIMEOUTS["kubeconform"]


def available() -> str | None:
    return shutil.which("kubeconform")


def is_remote(location: str) -> bool:
    return location == "default" or location.startswith(("http://", "https://"))


def ordered_locations(schema_locations: list[str], builtin: str | None, offline: bool) -> list[str]:
    """Local folders first (the built-in kinds' standalone schemas, then the configured
    ones such as the vendored CRDs), remote ones after them and kubeconform's remote
    ``default`` last: kubeconform tries locations in order, so a kind found locally never
    waits for a download and its retries. Offline, remote locations are left out."""
    configured = [loc for loc in schema_locations if loc != "default"]
    local = [*([builtin] if builtin else []), *[loc for loc in configured if not is_remote(loc)]]
    remote = [loc for loc in configured if is_remote(loc)] + ["default"]
    return local if offline else [*local, *remote]


def command(
    kubernetes_version: str,
    schema_locations: list[str],
    ignore_missing: bool,
    binary: str = "kubeconform",
    builtin: str | None = None,
    offline: bool = False,
) -> list[str]:
    argv = [binary, "-output", "json", "-strict", "-summary", "-kubernetes-version", kubernetes_version]
    for location in ordered_locations(schema_locations, builtin, offline):
        argv += ["-schema-location", location]
    if ignore_missing:
        argv.append("-ignore-missing-schemas")
    argv.append("-")
    return argv


def _json_value(value: object) -> str:
    """A value a YAML 1.1 reader may produce that JSON has no type for: a timestamp, which
    Kubernetes' YAML reader keeps as a string, and ``!!binary``, which JSON carries as base64."""
    if isinstance(value, datetime.date):  # datetime.datetime included
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} has no JSON form")


def stream(resources: list[Resource]) -> str:
    """The objects as JSON documents: what the loader read, as the API server would receive
    it, not a YAML re-dump that another YAML reader could read differently."""
    return "".join(f"---\n{json.dumps(r.data, ensure_ascii=False, default=_json_value)}\n" for r in resources)


def validate_resources(
    resources: list[Resource],
    kubernetes_version: str,
    schema_locations: list[str],
    ignore_missing: bool = False,
    offline: bool = False,
    cache: Path | None = None,
) -> list[Finding]:
    """``cache``: where the built-in kinds' standalone schemas are written (none: kubeconform
    reads them from its remote default location)."""
    if not resources:
        return []
    binary = available()
    if not binary:
        raise ToolError("kubeconform", "not found on PATH", install_hint=INSTALL_HINT)
    builtin = None
    if cache is not None:
        kinds = {(r.api_version, r.kind) for r in resources}
        builtin = kubeconform_schemas.prepare(kinds, kubernetes_version, cache)
    argv = command(kubernetes_version, schema_locations, ignore_missing, binary, builtin, offline)
    try:
        proc = procs.run(argv, tool="kubeconform", input=stream(resources), text=True)
    except OSError as exc:
        raise ToolError(
            "kubeconform", f"cannot run it: {exc.strerror or exc}", command=argv, install_hint=INSTALL_HINT
        ) from None
    except subprocess.TimeoutExpired:
        raise ToolError(
            "kubeconform",
            f"timed out after {procs.timeout_for('kubeconform'):g} s "
            "(limits.kubeconform-timeout-seconds in llmfleet.yaml)",
            command=argv,
        ) from None
    if proc.returncode not in (0, 1):
        raise ToolError(
            "kubeconform",
            "failed",
            command=argv,
            returncode=proc.returncode,
            output=proc.stderr or proc.stdout,
        )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise ToolError(
            "kubeconform",
            "did not print JSON",
            command=argv,
            returncode=proc.returncode,
            output=proc.stderr or proc.stdout,
        ) from None
    return parse_report(report, resources, ignore_missing)


def parse_report(report: dict, resources: list[Resource], ignore_missing: bool = False) -> list[Finding]:
    """Map kubeconform's JSON results back onto the resources they describe.  A missing or
    undownloadable schema is reported once per kind (and not at all with ignore_missing)."""
    by_identity: dict[tuple[str, str, str], Resource] = {}
    for res in resources:
        by_identity.setdefault((res.kind, res.name, res.api_version), res)
    findings: list[Finding] = []
    missing_kinds: set[tuple[str, str]] = set()
    for item in report.get("resources") or []:
        status = item.get("status", "")
        found = by_identity.get((item.get("kind", ""), item.get("name", ""), item.get("version", "")))
        if status == "statusInvalid":
            errors = item.get("validationErrors") or [{"path": "", "msg": item.get("msg", "")}]
            for error in errors:
                findings.append(
                    _finding(found, SCHEMA_RULE, error.get("msg", ""), error.get("path", ""), item)
                )
        elif status == "statusError":
            message = item.get("msg", "")
            failed_download = any(marker in message for marker in DOWNLOAD_FAILED)
            if "could not find schema" in message or failed_download:
                kind = (item.get("version", ""), item.get("kind", ""))
                if (failed_download and ignore_missing) or kind in missing_kinds:
                    continue
                missing_kinds.add(kind)
                findings.append(
                    _finding(found, MISSING_RULE, message + " (reported once per kind)", "", item)
                )
            else:
                findings.append(_finding(found, SCHEMA_RULE, message, "", item))
    return findings


def _finding(res: Resource | None, rule: str, message: str, path: str, item: dict) -> Finding:
    if res is not None:
        return res.finding(rule, Severity.ERROR, message, path)
    return Finding(
        rule,
        Severity.ERROR,
        message,
        file=item.get("filename", ""),
        kind=item.get("kind", ""),
        name=item.get("name", ""),
        api_version=item.get("version", ""),
        path=path,
    )

"""Workload controllers as the API server validates them (pkg/apis/apps/validation and
pkg/apis/batch/validation, v1.36): selector and template, replicas, rolling-update bounds,
restart policies.  docs/reference/api-validation.md §6."""

from __future__ import annotations

import re
from typing import Any

from llmfleet.kube import names
from llmfleet.pipeline.validate.api_rules import enums
from llmfleet.pipeline.validate.api_rules.metadata import check_annotations, check_labels
from llmfleet.pipeline.validate.api_rules.pods import check_pod_spec
from llmfleet.pipeline.validate.api_rules.problems import Problems, is_int
from llmfleet.pipeline.validate.api_rules.selectors import check_selects_template

ALWAYS = frozenset({"Always"})
JOB_POLICIES = frozenset({"OnFailure", "Never"})
_PERCENT = re.compile(r"^([0-9]+)%$")


def int_or_percent(value: Any, path: tuple[Any, ...], problems: Problems) -> int | None:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent; the value as getIntOrPercentValue
    reads it (a string that is not a percent counts as 0)."""
    if is_int(value):
        if value < 0:
            problems.add(path, "must be greater than or equal to 0")
        return value
    if isinstance(value, str):
        problems.extend(path, names.percent(value))
        match = _PERCENT.match(value)
        if match:
            if int(match.group(1)) > 100:
                problems.add(path, "must not be greater than 100%")
            return int(match.group(1))
        return 0
    return None


def _nonnegative(spec: dict[str, Any], key: str, path: tuple[Any, ...], problems: Problems) -> None:
    value = spec.get(key)
    if is_int(value) and value < 0:
        problems.add((*path, key), "must be greater than or equal to 0")


def check_template(
    template: Any, path: tuple[Any, ...], problems: Problems, policies: frozenset[str] | None
) -> None:
    if not isinstance(template, dict):
        return
    meta = template.get("metadata")
    if isinstance(meta, dict):
        check_labels(meta.get("labels"), (*path, "metadata", "labels"), problems)
        check_annotations(meta.get("annotations"), (*path, "metadata", "annotations"), problems)
    check_pod_spec(template.get("spec"), (*path, "spec"), problems, policies)


def _rolling_update(strategy: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if not isinstance(strategy, dict):
        return
    kind = strategy.get("type") or "RollingUpdate"
    enums.one_of(kind, enums.DEPLOYMENT_STRATEGIES, (*path, "type"), problems)
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate" and rolling is not None:
        problems.add((*path, "rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")
        return
    if kind != "RollingUpdate":
        return
    rolling = rolling if isinstance(rolling, dict) else {}
    # apps/v1 defaults both to 25% before validation.
    unavailable = int_or_percent(
        rolling.get("maxUnavailable", "25%"), (*path, "rollingUpdate", "maxUnavailable"), problems
    )
    surge = int_or_percent(rolling.get("maxSurge", "25%"), (*path, "rollingUpdate", "maxSurge"), problems)
    if unavailable == 0 and surge == 0:
        problems.add((*path, "rollingUpdate", "maxUnavailable"), "may not be 0 when `maxSurge` is 0")


def check_deployment(spec: dict[str, Any], problems: Problems) -> None:
    path = ("spec",)
    for key in ("replicas", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
        _nonnegative(spec, key, path, problems)
    check_selects_template(spec, path, problems, "deployment")
    check_template(spec.get("template"), (*path, "template"), problems, ALWAYS)
    _rolling_update(spec.get("strategy", {}), (*path, "strategy"), problems)
    deadline, ready = spec.get("progressDeadlineSeconds", 600), spec.get("minReadySeconds", 0)
    if is_int(deadline) and is_int(ready) and deadline <= ready:
        problems.add((*path, "progressDeadlineSeconds"), "must be greater than minReadySeconds")


def check_replicated(spec: dict[str, Any], problems: Problems, what: str) -> None:
    """StatefulSet, ReplicaSet, DaemonSet."""
    path = ("spec",)
    if what == "statefulset":
        enums.one_of(
            spec.get("podManagementPolicy"),
            enums.POD_MANAGEMENT_POLICIES,
            (*path, "podManagementPolicy"),
            problems,
        )
        strategy = spec.get("updateStrategy")
        if isinstance(strategy, dict):
            enums.one_of(
                strategy.get("type"),
                enums.STATEFUL_SET_STRATEGIES,
                (*path, "updateStrategy", "type"),
                problems,
            )
    for key in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
        _nonnegative(spec, key, path, problems)
    check_selects_template(spec, path, problems, what)
    check_template(spec.get("template"), (*path, "template"), problems, ALWAYS)


def check_job_spec(spec: Any, path: tuple[Any, ...], problems: Problems) -> None:
    if not isinstance(spec, dict):
        return
    for key in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        _nonnegative(spec, key, path, problems)
    deadline = spec.get("activeDeadlineSeconds")
    if is_int(deadline) and deadline <= 0:
        problems.add((*path, "activeDeadlineSeconds"), "must be greater than 0")
    template = spec.get("template")
    check_template(template, (*path, "template"), problems, JOB_POLICIES)
    pod = template.get("spec") if isinstance(template, dict) else None
    if isinstance(pod, dict) and "restartPolicy" not in pod:
        problems.add(
            (*path, "template", "spec", "restartPolicy"),
            'Unsupported value: "Always": must be OnFailure or Never',
        )
    if spec.get("manualSelector") is True:
        check_selects_template(spec, path, problems, "job")


def check_cron_job(spec: dict[str, Any], problems: Problems) -> None:
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        _nonnegative(spec, key, ("spec",), problems)
    job = spec.get("jobTemplate")
    if isinstance(job, dict):
        meta = job.get("metadata")
        if isinstance(meta, dict):
            check_labels(meta.get("labels"), ("spec", "jobTemplate", "metadata", "labels"), problems)
        check_job_spec(job.get("spec"), ("spec", "jobTemplate", "spec"), problems)

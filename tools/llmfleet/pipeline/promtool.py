"""Run ``promtool check rules`` on the rule groups of a PrometheusRule.

promtool reads plain rule files only (the maintainers declined CRD support, prometheus#5767,
#9195); the standard workaround writes the CRD's ``spec`` (which has ``groups:`` at its top)
to a temporary file (docs/reference/tooling.md §6).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from llmfleet.infra import procs, tempdirs
from llmfleet.infra.errors import ToolError

INSTALL_HINT = (
    "apt-get install prometheus (Debian/Ubuntu ships promtool in it), or download "
    "a release from https://prometheus.io/download/ and put promtool on PATH"
)
#: The default of ``limits.promtool-timeout-seconds``.
TIMEOUT_S = procs.DEFAULT_TIMEOUTS["promtool"]
TEMP_PREFIX = "llmfleet-promtool-"


def find_promtool() -> str:
    path = os.environ.get("LLMFLEET_PROMTOOL") or shutil.which("promtool")
    if not path:
        raise ToolError("promtool", "not found on PATH", install_hint=INSTALL_HINT)
    return path


def _identity(exe: str) -> str:
    """Which promtool build this is (path, size, mtime), without running it."""
    try:
        real = Path(exe).resolve()
        info = real.stat()
        return f"{real}:{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        return exe


def results_for(
    models: Iterable[Any], cache_dir: Path | None, timeout: float | None = None
) -> dict[str, tuple[bool, str]]:
    """``promtool check rules`` for every PrometheusRule of the models: one promtool process
    for all rule files not already in the on-disk cache (keyed on the promtool build and the
    rule groups' content).  Returns ``{rule_groups_key: (ok, output)}``."""
    from llmfleet.model.monitoring import rule_groups, rule_groups_key

    wanted: dict[str, list[Any]] = {}
    for model in models:
        for res in model.of_kind("PrometheusRule"):
            groups = rule_groups(res)
            if groups:
                wanted[rule_groups_key(groups)] = groups
    if not wanted:
        return {}
    exe = find_promtool()
    identity = _identity(exe)
    results: dict[str, tuple[bool, str]] = {}
    todo: dict[str, list[Any]] = {}
    for key, groups in wanted.items():
        entry = _entry(cache_dir, identity, key)
        cached = _read(entry)
        if cached is not None:
            results[key] = cached
        else:
            todo[key] = groups
    if todo:
        for key, result in zip(todo, check_many(list(todo.values()), timeout)):
            results[key] = result
            _write(_entry(cache_dir, identity, key), result)
    return results


def _entry(cache_dir: Path | None, identity: str, key: str) -> Path | None:
    if cache_dir is None:
        return None
    return cache_dir / (hashlib.sha256(f"{identity}\0{key}".encode()).hexdigest() + ".json")


def _read(entry: Path | None) -> tuple[bool, str] | None:
    if entry is None or not entry.is_file():
        return None
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
        return bool(data["ok"]), str(data["output"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(entry: Path | None, result: tuple[bool, str]) -> None:
    if entry is None:
        return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=entry.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"ok": result[0], "output": result[1]}, handle)
        os.replace(tmp, entry)
    except OSError:
        pass


def check_many(groups_list: list[Any], timeout: float | None = None) -> list[tuple[bool, str]]:
    """Run promtool once over one temporary rule file per entry; split its output per file.
    Rule groups that cannot be written as YAML (nested beyond Python's recursion limit) are
    a failed result, not a crash."""
    exe = find_promtool()
    seconds = procs.timeout_for("promtool") if timeout is None else timeout
    tempdirs.prune(TEMP_PREFIX)
    with tempdirs.owned(TEMP_PREFIX) as tmp:
        paths: list[str] = []
        unwritable: dict[int, str] = {}
        for i, groups in enumerate(groups_list):
            path = os.path.join(tmp, f"rules-{i}.yaml")
            try:
                text = yaml.safe_dump({"groups": groups}, sort_keys=False)
            except (RecursionError, yaml.YAMLError) as exc:
                unwritable[i] = (
                    "the rule groups nest too deeply to be written for promtool"
                    if isinstance(exc, RecursionError)
                    else f"cannot be written as YAML: {exc}"
                )
                continue
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            paths.append(path)
        failures: dict[str, list[str]] = {}
        if paths:
            failures = _run(exe, paths, seconds)
        results, written = [], iter(paths)
        for i in range(len(groups_list)):
            if i in unwritable:
                results.append((False, unwritable[i]))
            else:
                path = next(written)
                results.append((not failures[path], "\n".join(failures[path])))
        return results


def _run(exe: str, paths: list[str], timeout: float) -> dict[str, list[str]]:
    command = [exe, "check", "rules", *paths]
    try:
        proc = procs.run(command, tool="promtool", timeout=timeout, text=True)
    except OSError as exc:
        raise ToolError(
            "promtool", f"cannot run it: {exc}", command=command, install_hint=INSTALL_HINT
        ) from None
    except subprocess.TimeoutExpired:
        raise ToolError(
            "promtool", f"timed out after {timeout:g} s (limits.promtool-timeout-seconds)", command=command
        ) from None
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and "FAILED" not in proc.stderr):
        raise ToolError(
            "promtool",
            "failed unexpectedly",
            command=command,
            returncode=proc.returncode,
            output=proc.stdout + proc.stderr,
        )
    return _failures_by_file(proc.stderr, paths)


def _failures_by_file(stderr: str, paths: list[str]) -> dict[str, list[str]]:
    """promtool prints "Checking FILE" on stdout and, on stderr, one "FAILED:" block per bad
    file whose message starts with the file name (blocks are not always newline-separated)."""
    failures: dict[str, list[str]] = {path: [] for path in paths}
    for chunk in re.split(r"\s*FAILED:\s*", stderr):
        chunk = chunk.strip()
        for path in paths:
            if chunk.startswith((path + ":", path + " ")):
                failures[path].append(chunk.replace(path, "<PrometheusRule spec>"))
                break
    return failures

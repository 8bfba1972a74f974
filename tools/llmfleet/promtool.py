"""Run ``promtool check rules`` on the rule groups of a PrometheusRule.

promtool reads plain rule files only (the maintainers declined CRD support, prometheus#5767,
#9195); the standard workaround writes the CRD's ``spec`` (which has ``groups:`` at its top)
to a temporary file (docs/reference/tooling.md §6).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading

import yaml

from llmfleet.errors import ToolError

INSTALL_HINT = ("apt-get install prometheus (Debian/Ubuntu ships promtool in it), or download "
                "a release from https://prometheus.io/download/ and put promtool on PATH")
TIMEOUT_S = 60


def find_promtool() -> str:
    path = os.environ.get("LLMFLEET_PROMTOOL") or shutil.which("promtool")
    if not path:
        raise ToolError("promtool", "not found on PATH", install_hint=INSTALL_HINT)
    return path


_cache: dict[str, tuple[bool, str]] = {}
_cache_lock = threading.Lock()


def _key(groups) -> str:
    return json.dumps(groups, sort_keys=True, default=str)


def check_rule_groups(groups) -> tuple[bool, str]:
    """``(ok, output)`` of ``promtool check rules`` on ``{"groups": groups}`` (cached per run)."""
    find_promtool()   # a missing promtool is reported even when the result is cached
    key = _key(groups)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    result = check_many([groups])[0]
    with _cache_lock:
        _cache[key] = result
    return result


def prefetch(groups_list: list) -> None:
    """Check many rule files with ONE promtool process and keep the results for
    :func:`check_rule_groups` (one Go start-up instead of one per PrometheusRule)."""
    with _cache_lock:
        todo = {_key(g): g for g in groups_list if _key(g) not in _cache}
    if not todo:
        return
    results = check_many(list(todo.values()))
    with _cache_lock:
        _cache.update(zip(todo, results))


def check_many(groups_list: list) -> list[tuple[bool, str]]:
    """Run promtool once over one temporary rule file per entry; split its output per file."""
    exe = find_promtool()
    with tempfile.TemporaryDirectory(prefix="llmfleet-promtool-") as tmp:
        paths = []
        for i, groups in enumerate(groups_list):
            path = os.path.join(tmp, f"rules-{i}.yaml")
            with open(path, "w", encoding="utf-8") as handle:
                yaml.safe_dump({"groups": groups}, handle, sort_keys=False)
            paths.append(path)
        command = [exe, "check", "rules", *paths]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                                  check=False)
        except OSError as exc:
            raise ToolError("promtool", f"cannot run it: {exc}", command=command,
                            install_hint=INSTALL_HINT) from None
        except subprocess.TimeoutExpired:
            raise ToolError("promtool", f"timed out after {TIMEOUT_S} s", command=command) from None
        if proc.returncode not in (0, 1) or (proc.returncode == 1 and "FAILED" not in proc.stderr):
            raise ToolError("promtool", "failed unexpectedly", command=command,
                            returncode=proc.returncode, output=proc.stdout + proc.stderr)
        failures = _failures_by_file(proc.stderr, paths)
        return [(not failures[path], "\n".join(failures[path])) for path in paths]


def _failures_by_file(stderr: str, paths: list[str]) -> dict[str, list[str]]:
    """promtool prints "Checking FILE" on stdout and, on stderr, one "FAILED:" block per bad
    file whose message starts with the file name (blocks are not always newline-separated)."""
    failures: dict[str, list[str]] = {path: [] for path in paths}
    for chunk in re.split(r"\s*FAILED:\s*", stderr):
        chunk = chunk.strip()
        for path in paths:
            if chunk.startswith(path + ":") or chunk.startswith(path + " "):
                failures[path].append(chunk.replace(path, "<PrometheusRule spec>"))
                break
    return failures

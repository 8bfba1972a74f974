"""Run ``promtool check rules`` on the rule groups of a PrometheusRule.

promtool reads plain rule files only (the maintainers declined CRD support, prometheus#5767,
#9195); the standard workaround writes the CRD's ``spec`` (which has ``groups:`` at its top)
to a temporary file (/work/shared/reference/linters.md §6).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

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


def check_rule_groups(groups) -> tuple[bool, str]:
    """``(ok, output)`` of ``promtool check rules`` on ``{"groups": groups}``."""
    exe = find_promtool()
    with tempfile.TemporaryDirectory(prefix="llmfleet-promtool-") as tmp:
        path = os.path.join(tmp, "rules.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"groups": groups}, handle, sort_keys=False)
        command = [exe, "check", "rules", path]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                                  check=False)
        except OSError as exc:
            raise ToolError("promtool", f"cannot run it: {exc}", command=command,
                            install_hint=INSTALL_HINT) from None
        except subprocess.TimeoutExpired:
            raise ToolError("promtool", f"timed out after {TIMEOUT_S} s", command=command) from None
        output = (proc.stdout + proc.stderr).replace(path, "<PrometheusRule spec>")
        if proc.returncode == 0:
            return True, output
        if proc.returncode == 1:  # promtool's exit code for rule files that fail the check
            return False, output
        raise ToolError("promtool", "failed unexpectedly", command=command,
                        returncode=proc.returncode, output=output)

"""A small, derandomized slice of the fuzz driver (tools/scripts/fuzz_inputs.py; the long
runs are made by hand, their figures in the report): the same inputs every run, through the
loader, lint/validate, command lines and the fleet model, with planted secrets.  No input
may end in an internal error, a planted secret in any output, a watchdog timeout or an RSS
over the bound."""

from __future__ import annotations

import json
import subprocess
import sys

from llmfleet_testlib import REPO_ROOT

SCRIPT = REPO_ROOT / "tools" / "scripts" / "fuzz_inputs.py"
INPUTS = 150


def test_fuzz_slice_has_no_internal_error_no_leak_no_timeout(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--inputs",
            str(INPUTS),
            "--workers",
            "1",
            "--seed",
            "20251207",
            "--failures",
            str(tmp_path / "failures"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = json.loads(proc.stdout)
    assert summary["inputs"] == INPUTS
    assert summary["failures"] == [], summary["failures"]
    assert proc.returncode == 0, proc.stderr
    assert "4" not in summary["exit_codes"] and summary["leaks"] == 0 and summary["timeouts"] == 0
    # Every kind of input ran, and inputs were refused as well as accepted.
    assert set(summary["kinds"]) == {"loader", "cli", "args", "fleet"}
    assert {"0", "1", "2"} <= set(summary["exit_codes"])

"""Arguments a user would guess: bare overlay names, -o into a folder that does not exist,
--disable with a typo, the severities `llmfleet rules` lists, `python -m llm_gateway --help`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from llmfleet.infra import exitcodes
from llmfleet_testlib import REPO_ROOT, single_node_overlays

OVERLAY = single_node_overlays()[0]


@pytest.mark.parametrize("form", [OVERLAY, f"overlays/{OVERLAY}", f"overlays/{OVERLAY}/"])
def test_build_takes_a_bare_name_or_the_folder(cli, repo_copy, form):
    result = cli(["build", form], cwd=repo_copy)
    assert result.exit_code == exitcodes.OK, result.stderr
    kinds = {d["kind"] for d in yaml.safe_load_all(result.stdout) if d}
    assert {"Deployment", "ScaledObject"} <= kinds


@pytest.mark.parametrize("command", [["check"], ["lint"], ["validate"], ["cost", "--format", "json"]])
def test_every_overlay_command_takes_a_bare_name(cli, repo_copy, command):
    bare = cli([*command, OVERLAY], cwd=repo_copy)
    folder = cli([*command, f"overlays/{OVERLAY}"], cwd=repo_copy)
    assert bare.exit_code == folder.exit_code == exitcodes.OK, bare.stderr + bare.stdout
    assert bare.stdout == folder.stdout
    # From another folder of the repository, overlays/<name> is relative to the root.
    (repo_copy / "docs").mkdir()
    from_docs = cli([*command, f"overlays/{OVERLAY}"], cwd=repo_copy / "docs")
    assert from_docs.exit_code == exitcodes.OK and from_docs.stdout == folder.stdout


@pytest.mark.parametrize("command", [["build"], ["check"], ["lint"], ["validate"], ["cost"]])
def test_unknown_overlay_names_the_close_ones(cli, repo_copy, command):
    typo = OVERLAY[:-2]
    result = cli([*command, typo], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE
    assert f"{typo}: no such overlay" in result.stderr and f"did you mean {OVERLAY}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", [["check"], ["lint"], ["validate"]])
def test_output_into_a_folder_that_does_not_exist(cli, repo_copy, command):
    target = repo_copy / "out" / "reports" / "report.json"
    result = cli([*command, OVERLAY, "--format", "json", "-o", "out/reports/report.json"], cwd=repo_copy)
    assert result.exit_code == exitcodes.OK, result.stderr
    assert result.stdout == ""
    assert json.loads(target.read_text())["summary"]["command"] == command[0]
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temporary left


def test_output_that_cannot_be_written_is_a_usage_error(cli, repo_copy):
    (repo_copy / "a-file").write_text("x")
    result = cli(["lint", OVERLAY, "-o", "a-file/report.txt"], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE
    assert "-o a-file/report.txt: cannot write the report" in result.stderr
    assert (repo_copy / "a-file").read_text() == "x"


def test_disable_with_a_typo_names_the_close_rules(cli, repo_copy):
    result = cli(["lint", "--disable", "probe-livenes", OVERLAY], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE
    assert "--disable probe-livenes: no such rule; did you mean probe-liveness" in result.stderr
    result = cli(["check", "--disable", "nothing-like-it", OVERLAY], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE and "`llmfleet rules` lists them" in result.stderr
    assert cli(["lint", "--disable", "probe-liveness", OVERLAY], cwd=repo_copy).exit_code == exitcodes.OK


def test_disabled_rules_in_the_config_are_checked_too(cli, repo_copy):
    config = yaml.safe_load((repo_copy / "llmfleet.yaml").read_text())
    config["lint"]["disabled-rules"] = ["gpu-tolerations"]
    (repo_copy / "llmfleet.yaml").write_text(yaml.safe_dump(config))
    result = cli(["check", OVERLAY], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE
    assert (
        "llmfleet.yaml lint.disabled-rules gpu-tolerations: no such rule; did you mean "
        "gpu-toleration" in result.stderr
    )


def test_rules_lists_every_severity_lint_reports(cli, repo_copy):
    result = cli(["rules", "--format", "json"], cwd=repo_copy)
    by_id = {r["id"]: r for r in json.loads(result.stdout)}
    # probe-liveness warns by default and reports an error when there is no startupProbe.
    assert by_id["probe-liveness"]["severities"] == ["warning", "error"]
    assert by_id["gpu-toleration"]["severities"] == ["error", "warning"]
    assert by_id["gpu-shm"]["severities"] == ["error"]
    text = cli(["rules"], cwd=repo_copy).stdout
    assert (
        next(line for line in text.splitlines() if line.startswith("probe-liveness ")).split()[1]
        == "warning/error"
    )


def test_rules_severity_matches_what_lint_reports(cli, repo_copy, tmp_path):
    """The error probe-liveness reports is one that `rules` lists for it."""
    fixture = REPO_ROOT / "tests" / "rules" / "fixtures" / "probe-liveness" / "bad.yaml"
    lint = cli(["lint", "--format", "json", str(fixture)], cwd=repo_copy)
    reported = {f["severity"] for f in json.loads(lint.stdout)["findings"] if f["rule"] == "probe-liveness"}
    listed = {r["id"]: set(r["severities"]) for r in json.loads(cli(["rules", "--format", "json"]).stdout)}
    assert reported and reported <= listed["probe-liveness"]


def test_gateway_module_help_and_bad_argument():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "gateway")}
    proc = subprocess.run(
        [sys.executable, "-m", "llm_gateway", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m llm_gateway") and "GATEWAY_ROUTES_FILE" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "llm_gateway", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2 and "unexpected argument '--port'" in proc.stderr

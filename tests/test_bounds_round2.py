"""Round two of "nothing unbounded, nothing hung, a user's mistake is exit 2" (issue 25):
every case the issue lists, each as it was reported.

* A kustomization resource that is a FIFO, a link to /dev/zero or a 5 GB sparse file is
  refused at once (kustomize itself waits on the FIFO and reads the sparse file whole) by
  check, lint, cost, simulate, gateway-routes, diff and build.
* Path arguments: a 300-character name, a symlink loop, ``lint /``, ``-o`` naming a device,
  a FIFO or a link to a descriptor, ``gateway-routes --check -o`` on a binary file.
* Numbers: ``simulate --rps 1e308`` / ``--duration 1e9``, a trace past the maximum, a trace
  whose requests exceed max-model-len, a huge ``maxReplicaCount``, ``--config-json`` with
  -Infinity, 1e400, strings and lists, a huge ``limits.max-input-bytes``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from llmfleet.infra import exitcodes

OVERLAY = "mistral-7b-instruct-v0-3"
#: Seconds any refused input may take (a hang or a read of gigabytes takes far longer).
QUICK_S = 60


def add_resource(repo: Path, make) -> Path:
    """The overlay with one more resource, ``extra.yaml``, made by ``make(path)``."""
    folder = repo / "overlays" / OVERLAY
    kustomization = folder / "kustomization.yaml"
    data = yaml.safe_load(kustomization.read_text())
    data["resources"].append("extra.yaml")
    kustomization.write_text(yaml.safe_dump(data, sort_keys=False))
    make(folder / "extra.yaml")
    return folder / "extra.yaml"


MAKERS = {
    "fifo": (os.mkfifo, "a FIFO"),
    "dev-zero": (lambda p: p.symlink_to("/dev/zero"), "a device"),
}
COMMANDS = {
    "check": (["check", OVERLAY], exitcodes.FINDINGS),
    "lint": (["lint", OVERLAY], exitcodes.FINDINGS),
    "build": (["build", OVERLAY], exitcodes.FINDINGS),
    "cost": (["cost", OVERLAY], exitcodes.USAGE),
    "simulate": (["simulate", OVERLAY], exitcodes.USAGE),
    "gateway-routes": (["gateway-routes", "--check"], exitcodes.USAGE),
}


def _sparse(path: Path) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY)
    try:
        os.truncate(fd, 5 << 30)
    finally:
        os.close(fd)


MAKERS["sparse-5GB"] = (_sparse, "larger than the limit")  # 5 GB, nothing on disk


@pytest.mark.parametrize("special", sorted(MAKERS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_special_file_in_a_kustomization_is_refused_at_once(cli, repo_copy, special, command):
    make, said = MAKERS[special]
    add_resource(repo_copy, make)
    args, code = COMMANDS[command]
    started = time.monotonic()
    result = cli(args, cwd=repo_copy)
    assert time.monotonic() - started < QUICK_S
    assert result.exit_code == code, result.stderr
    assert said in result.stdout + result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("special", sorted(MAKERS))
def test_diff_refuses_a_special_file_of_the_working_tree(cli, git_repo, special):
    make, said = MAKERS[special]
    add_resource(git_repo, make)
    result = cli(["diff", "--base", "HEAD", OVERLAY], cwd=git_repo)
    assert result.exit_code in (exitcodes.OK, exitcodes.FINDINGS), result.stderr
    assert said in result.stdout


def test_check_on_a_fifo_resource_honours_sigterm_and_ends_at_once(repo_copy):
    add_resource(repo_copy, os.mkfifo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmfleet", "check", OVERLAY, "--no-cache"],
        cwd=repo_copy,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=QUICK_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"check waited on the FIFO; after SIGTERM: {proc.returncode} {err}")
    assert proc.returncode == exitcodes.FINDINGS, err
    assert "a FIFO" in out


# -- path arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["lint", "validate", "check", "cost", "simulate", "build"])
def test_300_character_overlay_name_is_a_usage_error(cli, repo_copy, command):
    result = cli([command, "a" * 300], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("command", ["lint", "validate"])
def test_symlink_loop_is_an_input_finding(cli, repo_copy, command):
    (repo_copy / "loop1").symlink_to("loop2")
    (repo_copy / "loop2").symlink_to("loop1")
    result = cli([command, "loop1"], cwd=repo_copy)
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    assert "symbolic links" in result.stdout


def test_lint_of_the_filesystem_root_is_bounded(cli, repo_copy):
    started = time.monotonic()
    result = cli(["lint", "/"], cwd=repo_copy)
    assert time.monotonic() - started < QUICK_S
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert "entries under this folder" in result.stderr or "no YAML files" in result.stderr


def test_folder_walk_does_not_enter_proc(cli, repo_copy):
    for folder in ("/proc", "/sys", "/dev"):
        result = cli(["lint", folder], cwd=repo_copy)
        assert result.exit_code == exitcodes.USAGE
        assert "a folder of the kernel's files" in result.stderr


@pytest.mark.parametrize(
    "target", ["/dev/null", "fifo", "link-to-stdout", "/dev/stdout", "a-folder"], ids=lambda t: t.strip("/")
)
def test_output_refuses_what_is_not_a_regular_file(cli, repo_copy, target):
    os.mkfifo(repo_copy / "fifo")
    (repo_copy / "link-to-stdout").symlink_to("/proc/self/fd/1")
    (repo_copy / "a-folder").mkdir()
    for args in (["lint", OVERLAY, "-o", target], ["simulate", OVERLAY, "--plot", target]):
        result = cli(args, cwd=repo_copy)
        assert result.exit_code == exitcodes.USAGE, (args, result.stderr)
        assert "internal error" not in result.stderr
    assert (repo_copy / "fifo").is_fifo() and (repo_copy / "link-to-stdout").is_symlink()


def test_output_through_a_link_to_a_regular_file_keeps_the_link(cli, repo_copy):
    (repo_copy / "report.json").write_text("old")
    (repo_copy / "link.json").symlink_to("report.json")
    result = cli(["lint", OVERLAY, "--format", "json", "-o", "link.json"], cwd=repo_copy)
    assert result.exit_code in (exitcodes.OK, exitcodes.FINDINGS), result.stderr
    assert (repo_copy / "link.json").is_symlink()
    assert json.loads((repo_copy / "report.json").read_text())["summary"]["command"] == "lint"


@pytest.mark.parametrize("content", [bytes(range(256)), b"\x89PNG\r\n\x1a\n\xff\xfe"])
def test_gateway_routes_check_on_a_binary_file_is_a_usage_error(cli, repo_copy, content):
    (repo_copy / "x.png").write_bytes(content)
    result = cli(["gateway-routes", "--check", "-o", "x.png"], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert "x.png" in result.stderr and "internal error" not in result.stderr


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--rps", "1e308"],
        ["--rps", "inf"],
        ["--duration", "1e9"],
        ["--absorb-bound", "1e308"],
    ],
)
def test_simulate_numbers_past_their_maximum_are_usage_errors(cli, repo_copy, args):
    result = cli(["simulate", OVERLAY, *args], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert "range" in result.stderr


@pytest.mark.parametrize(
    "rows, said",
    [
        (["0,1,100,100", "1e9,1,100,100"], "a simulation covers at most"),
        (["0,1,40000,100", "100,1,100,100"], "exceed max-model-len"),
        (["0,1e308,100,100", "10,1,100,100"], "rps must be between"),
        (["0,1,100000000000,100", "10,1,100,100"], "tokens must be between"),
    ],
)
def test_simulate_trace_past_its_bounds_is_a_usage_error(cli, repo_copy, rows, said):
    (repo_copy / "trace.csv").write_text("time_s,rps,input_tokens,output_tokens\n" + "\n".join(rows) + "\n")
    started = time.monotonic()
    result = cli(["simulate", OVERLAY, "--trace", "trace.csv"], cwd=repo_copy)
    assert time.monotonic() - started < QUICK_S
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert said in result.stderr


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_simulate_trace_that_is_not_a_regular_file_is_refused(cli, repo_copy, special):
    os.mkfifo(repo_copy / "fifo")
    result = cli(["simulate", OVERLAY, "--trace", special], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert "not a regular file" in result.stderr


@pytest.mark.parametrize("count", ["2147483647", "1000000000000", "99999999999999999999999"])
def test_huge_max_replica_count_is_bounded_in_cost_and_simulate(cli, repo_copy, count):
    patch = repo_copy / "overlays" / OVERLAY / "patch-max-replicas.yaml"
    patch.write_text(patch.read_text().replace("maxReplicaCount: 4", f"maxReplicaCount: {count}"))
    started = time.monotonic()
    simulate = cli(
        ["simulate", OVERLAY, "--trace", "constant", "--duration", "86400", "--rps", "10"], cwd=repo_copy
    )
    assert simulate.exit_code == exitcodes.USAGE, simulate.stderr
    cost = cli(["cost", OVERLAY], cwd=repo_copy)
    assert cost.exit_code in (exitcodes.OK, exitcodes.FINDINGS, exitcodes.USAGE), cost.stderr
    assert time.monotonic() - started < QUICK_S
    assert "internal error" not in simulate.stderr + cost.stderr


BASE_CONFIG = {
    "model_type": "llama",
    "num_hidden_layers": 32,
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
}


@pytest.mark.parametrize(
    "field",
    ["num_hidden_layers", "hidden_size", "intermediate_size", "vocab_size", "num_experts", "mlp_only_layers"],
)
@pytest.mark.parametrize(
    "value", ["-Infinity", "Infinity", "NaN", "1e400", "1e308", '"x"', "[1]", "{}", "1" * 30]
)
def test_config_json_values_are_read_as_bounded_numbers(tmp_path, field, value):
    from llmfleet.catalog.entries import model_from_config_json
    from llmfleet.infra.errors import UsageError

    text = json.dumps({**BASE_CONFIG, field: "__VALUE__"}).replace('"__VALUE__"', value)
    (tmp_path / "config.json").write_text(text)
    started = time.monotonic()
    try:
        model_from_config_json(tmp_path / "config.json", "org/model")
    except UsageError as exc:
        assert "config.json" in str(exc)
    assert time.monotonic() - started < 5


def test_config_json_that_is_a_fifo_is_refused(tmp_path):
    from llmfleet.catalog.entries import model_from_config_json
    from llmfleet.infra.errors import UsageError

    os.mkfifo(tmp_path / "config.json")
    with pytest.raises(UsageError, match="not a regular file"):
        model_from_config_json(tmp_path / "config.json", "org/model")


@pytest.mark.parametrize("value", [10**30, 2**63, float("inf")])
def test_huge_max_input_bytes_is_a_configuration_error(cli, repo_copy, value):
    config = yaml.safe_load((repo_copy / "llmfleet.yaml").read_text())
    config.setdefault("limits", {})["max-input-bytes"] = value
    (repo_copy / "llmfleet.yaml").write_text(yaml.safe_dump(config))
    for args in (["lint", "-"], ["check", OVERLAY]):
        result = cli(args, cwd=repo_copy, input="a: 1\n")
        assert result.exit_code == exitcodes.USAGE, result.stderr
        assert "max-input-bytes" in result.stderr


def test_diff_of_a_symlink_loop_is_a_usage_error(cli, git_repo):
    (git_repo / "loop1").symlink_to("loop2")
    (git_repo / "loop2").symlink_to("loop1")
    result = cli(["diff", "loop1", "--base", "HEAD"], cwd=git_repo)
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert "symbolic link loop" in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize("command", ["lint", "validate"])
def test_an_empty_target_is_a_usage_error(cli, repo_copy, command):
    result = cli([command, ""], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert "an empty target" in result.stderr


@pytest.mark.parametrize("value", ["1e308", "inf", "nan", "-1"])
def test_cost_requests_per_day_out_of_range_is_a_usage_error(cli, repo_copy, value):
    result = cli(["cost", OVERLAY, "--requests-per-day", value], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE, result.stderr
    assert "internal error" not in result.stderr

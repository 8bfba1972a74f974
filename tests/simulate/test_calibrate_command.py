"""``llmfleet calibrate OVERLAY RESULT.json``: a `vllm bench serve --save-result` file in,
OVERLAY/capacity.yaml out, and every later simulation on the measured basis
(fixtures: tests/data/bench-results/README.md)."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from llmfleet.features.simulate.bench_result import BenchResultError, parse, read
from llmfleet.infra import exitcodes
from llmfleet_testlib import REPO_ROOT

RESULTS = REPO_ROOT / "tests" / "data" / "bench-results"
VLLM_033 = RESULTS / "vllm-0.33.0-plateau.json"
LAMBDA = RESULTS / "lambda-1xh100-llama3-8b-vllm-0.5.4.json"
OVERLAY = "llama-3-1-8b-instruct"


def test_a_vllm_0_33_result_is_read_with_its_mean_lengths_and_in_flight_requests():
    bench = read(VLLM_033)
    assert (bench.completed, bench.input_tokens, bench.output_tokens) == (900, 1024.0, 256.0)
    assert bench.output_tok_s == pytest.approx(254.47)
    # Little's law: 0.994 requests/s x 16.48 s in flight each.
    assert (
        bench.concurrency == round(0.994 * 16.48)
        and bench.concurrency_source == "request_throughput x mean_e2el_ms"
    )
    assert bench.vllm_version == "0.33.0" and bench.ttft_p99_ms == pytest.approx(2710.3)


def test_a_published_older_result_file_is_read_too():
    bench = read(LAMBDA)
    assert bench.completed == 320 and bench.model_id == "meta-llama/Meta-Llama-3-8B-Instruct"
    assert bench.input_tokens == pytest.approx(65578 / 320) and bench.output_tokens == pytest.approx(
        65331 / 320
    )
    assert bench.concurrency_source == "request_throughput x mean_latency_ms"
    assert bench.concurrency == round(29.519154467362807 * 5.248091046802983)


def test_an_appended_file_reads_its_last_run():
    first = json.loads(VLLM_033.read_text())
    second = dict(first, output_throughput=300.0)
    bench = parse(json.dumps(first) + "\n" + json.dumps(second) + "\n", "runs.json")
    assert bench.output_tok_s == 300.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("[1, 2]", "JSON object"),
        ('{"completed": 3}', "'duration' is missing"),
        ("{not json", "not JSON"),
    ],
)
def test_what_is_not_a_result_file_is_named(text, message):
    with pytest.raises(BenchResultError, match=message):
        parse(text, "r.json")


def test_calibrate_round_trips_into_capacity_yaml_and_simulate_uses_it(cli, repo_copy):
    before = json.loads(cli(["simulate", OVERLAY, "--format", "json"], cwd=repo_copy).stdout)
    assert before["replica"]["basis"] == "calibrated"
    result = cli(["calibrate", OVERLAY, str(VLLM_033)], cwd=repo_copy)
    assert result.exit_code == exitcodes.OK, result.stderr
    assert "(calibrated) ->" in result.stdout and "(measured)" in result.stdout
    written = yaml.safe_load((repo_copy / "overlays" / OVERLAY / "capacity.yaml").read_text())
    measured = written["measured"]
    assert measured["date"] == "2026-12-07" and measured["vllm_version"] == "0.33.0"
    assert (measured["gpu"], measured["tp"], measured["pp"]) == ("l4", 1, 1)
    assert measured["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert measured["output_tok_s"] == pytest.approx(254.47) and measured["concurrency"] == 16
    assert measured["source"].startswith("vllm-0.33.0-plateau.json sha256:")
    after = json.loads(cli(["simulate", OVERLAY, "--format", "json"], cwd=repo_copy).stdout)
    assert after["replica"]["basis"] == "measured"
    # The measured replica serves what was measured at the measured batch and lengths.
    from llmfleet.features.simulate.replica import ReplicaModel

    replica = ReplicaModel(**after["replica"])
    assert replica.throughput(16, 1024, 256) * 256 == pytest.approx(254.47, rel=1e-6)


def test_the_replica_count_divides_the_measurement_and_the_slo_is_kept(cli, repo_copy):
    folder = repo_copy / "overlays" / OVERLAY
    (folder / "capacity.yaml").write_text(yaml.safe_dump({"slo": {"queue_wait_p99_s": 120}}))
    assert cli(["calibrate", OVERLAY, str(VLLM_033), "--replicas", "2"], cwd=repo_copy).exit_code == 0
    written = yaml.safe_load((folder / "capacity.yaml").read_text())
    assert written["measured"]["output_tok_s"] == pytest.approx(254.47 / 2, abs=0.01)
    assert written["slo"]["queue_wait_p99_s"] == 120


def test_a_measurement_of_another_shape_is_not_used_and_says_why(cli, repo_copy):
    folder = repo_copy / "overlays" / OVERLAY
    assert cli(["calibrate", OVERLAY, str(VLLM_033)], cwd=repo_copy).exit_code == 0
    data = yaml.safe_load((folder / "capacity.yaml").read_text())
    data["measured"]["gpu"] = "a100-80gb"
    (folder / "capacity.yaml").write_text(yaml.safe_dump(data))
    result = cli(["simulate", OVERLAY], cwd=repo_copy)
    assert "(calibrated on published vLLM measurements)" in result.stdout
    assert "capacity.yaml not used: measured on 1 x a100-80gb" in result.stdout


def test_dry_run_and_bad_input_write_nothing(cli, repo_copy, tmp_path):
    folder = repo_copy / "overlays" / OVERLAY
    assert cli(["calibrate", OVERLAY, str(VLLM_033), "--dry-run"], cwd=repo_copy).exit_code == 0
    assert not (folder / "capacity.yaml").exists()
    other_model = tmp_path / "other.json"
    shutil.copy(LAMBDA, other_model)
    result = cli(["calibrate", OVERLAY, str(other_model)], cwd=repo_copy)
    assert (
        result.exit_code == exitcodes.USAGE
        and "model_id 'meta-llama/Meta-Llama-3-8B-Instruct'" in result.stderr
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"completed": 1}')
    result = cli(["calibrate", OVERLAY, str(broken)], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE and "broken.json: 'duration' is missing" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (folder / "capacity.yaml").exists()
    bad_capacity = folder / "capacity.yaml"
    bad_capacity.write_text("measured: {date: x}\n")
    result = cli(["simulate", OVERLAY], cwd=repo_copy)
    assert (
        result.exit_code == exitcodes.USAGE
        and "capacity.yaml: measured.vllm_version is missing" in result.stderr
    )


def test_cost_reads_the_measurement_and_says_so(cli, repo_copy):
    before = cli(["cost", OVERLAY], cwd=repo_copy).stdout
    assert "calibrated on published vLLM measurements" in before
    assert cli(["calibrate", OVERLAY, str(VLLM_033)], cwd=repo_copy).exit_code == 0
    after = cli(["cost", OVERLAY], cwd=repo_copy).stdout
    assert "measured by llmfleet calibrate (capacity.yaml)" in after
    document = json.loads(cli(["cost", OVERLAY, "--format", "json"], cwd=repo_copy).stdout)
    [overlay] = document["overlays"]
    assert overlay["capacity"]["model"].startswith("measured")


def test_a_declared_objective_keeps_its_reason_through_calibrate(cli, repo_copy):
    folder = repo_copy / "overlays" / OVERLAY
    slo = {"queue_wait_p99_s": 1800, "reason": "nightly evaluation jobs; no user waits on a reply"}
    (folder / "capacity.yaml").write_text(yaml.safe_dump({"slo": slo}))
    assert cli(["calibrate", OVERLAY, str(VLLM_033)], cwd=repo_copy).exit_code == 0
    written = yaml.safe_load((folder / "capacity.yaml").read_text())
    assert written["slo"]["reason"] == slo["reason"] and written["slo"]["queue_wait_p99_s"] == 1800
    # An objective at or under the default writes no empty reason.
    (folder / "capacity.yaml").write_text(yaml.safe_dump({"slo": {"queue_wait_p99_s": 120}}))
    assert cli(["calibrate", OVERLAY, str(VLLM_033)], cwd=repo_copy).exit_code == 0
    written = yaml.safe_load((folder / "capacity.yaml").read_text())
    assert written["slo"]["queue_wait_p99_s"] == 120 and "reason" not in written["slo"]

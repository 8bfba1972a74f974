"""The vLLM 0.33.0 knowledge behind the rules: metric catalog, PromQL walking, model sizes,
and the flag extractor (run on a miniature vLLM source tree)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmfleet.model import promql
from llmfleet.model.vllm import metrics
from llmfleet.model.vllm import params as models

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "scripts" / "extract_vllm_flags.py"
DATA = REPO / "tools" / "llmfleet" / "model" / "vllm" / "flags_0_33_0.txt"


@pytest.mark.parametrize(
    "series, status",
    [
        ("vllm:num_requests_waiting", "ok"),
        ("vllm:prompt_tokens_total", "ok"),
        ("vllm:prompt_tokens_created", "ok"),
        ("vllm:e2e_request_latency_seconds_bucket", "ok"),
        ("vllm:iteration_tokens_total_count", "ok"),
        ("vllm:nixl_xfer_time_seconds_bucket", "ok"),
        ("vllm:prompt_tokens", "no-total"),
        ("vllm:e2e_request_latency_seconds", "histogram-base"),
        ("vllm:gpu_cache_usage_perc", "removed"),
        ("vllm:time_per_output_token_seconds_bucket", "removed"),
        ("vllm:request_latency_seconds_sum", "removed"),
        ("vllm:avg_prompt_throughput_toks_per_s", "removed"),
        ("vllm:engine_healthy", "removed"),
        ("vllm:made_up", "unknown"),
    ],
)
def test_metric_lookup(series, status):
    assert metrics.lookup(series).status == status


def test_promql_selectors_walk_the_ast():
    expr = promql.parse(
        "histogram_quantile(0.9, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket"
        '{model_name=~"a|b", namespace="ns"}[5m]))) / on() group_left {__name__="vllm:x"}'
    )
    found = promql.selectors(expr)
    assert [s.name for s in found] == ["vllm:e2e_request_latency_seconds_bucket", "vllm:x"]
    assert ("model_name", "=~", "a|b") in found[0].matchers
    assert found[0].equal_value("namespace") == "ns"
    assert promql.parse_error("sum(") is not None and promql.parse_error("up") is None
    assert promql.parse_error(42) is not None


@pytest.mark.parametrize(
    "model, params",
    [
        ("meta-llama/Llama-3.1-70B-Instruct", 70.55),
        ("mistralai/Mistral-7B-Instruct-v0.3", 7.25),
        ("Qwen/Qwen3-0.6B", 0.6),
        ("acme/my-model", None),
    ],
)
def test_model_sizes(model, params):
    assert (
        models.params_billion(model) == pytest.approx(params, rel=1e-3)
        if params
        else models.params_billion(model) is None
    )


def test_flags_data_file_header_says_how_it_was_made():
    head = DATA.read_text().splitlines()[:8]
    assert any("extract_vllm_flags.py" in line for line in head)
    assert any("vllm-0.33.0" in line and "sha256" in line for line in head)


def test_extractor_on_a_miniature_source_tree(tmp_path):
    pkg = tmp_path / "vllm"
    (pkg / "engine").mkdir(parents=True)
    (pkg / "entrypoints" / "common").mkdir(parents=True)
    (pkg / "config").mkdir()
    (pkg / "utils").mkdir()
    (pkg / "utils" / "argparse_utils.py").write_text("class EnableDisableAction:\n    pass\n")
    (pkg / "_version.py").write_text('__version__ = "9.9.9"\n')
    (pkg / "config" / "parallel.py").write_text(
        textwrap.dedent("""\
        class ParallelConfig:
            tensor_parallel_size: int = 1
            enable_eplb: bool = False
            hf_token: bool | str | None = None
        """)
    )
    (pkg / "engine" / "arg_utils.py").write_text(
        textwrap.dedent("""\
        import argparse
        def add_cli_args(parser):
            parallel_kwargs = get_kwargs(ParallelConfig)
            g = parser.add_argument_group("p")
            g.add_argument("--tensor-parallel-size", "-tp", **parallel_kwargs["tensor_parallel_size"])
            g.add_argument("--enable-eplb", **parallel_kwargs["enable_eplb"])
            g.add_argument("--hf-token", **{**parallel_kwargs["hf_token"], "default": None})
            parser.add_argument("--disable-log-stats", action="store_true")
            parser.add_argument("--enable-log-requests", action=argparse.BooleanOptionalAction)
        """)
    )
    (pkg / "entrypoints" / "common" / "cli_args.py").write_text(
        textwrap.dedent("""\
        class BaseFrontendArgs:
            allow_credentials: bool = False
        class FrontendArgs(BaseFrontendArgs):
            port: int = 8000
        def make_arg_parser(parser):
            parser.add_argument("--config")
        """)
    )
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    lines = {line for line in out.splitlines() if not line.startswith("#")}
    assert "vLLM 9.9.9" in out
    assert {
        "--tensor-parallel-size value",
        "-tp value --tensor-parallel-size",
        "--port value",
        "--config value",
        "--disable-log-stats switch",
        "--hf-token optional",
        "--enable-eplb bool",
        "--no-enable-eplb bool --enable-eplb negates",
        "--disable-eplb bool --enable-eplb negates",
        "--enable-log-requests bool",
        "--disable-log-requests bool --enable-log-requests negates",
        "--allow-credentials bool",
        "--no-allow-credentials bool --allow-credentials negates",
    } <= lines
    names = {line.split()[0] for line in lines}
    assert not names & {"--no-hf-token", "--no-disable-log-stats", "--no-disable-eplb"}

"""The per-release vLLM data: flag and metric tables extracted from the PyPI wheels, the two
extractors (on miniature source trees laid out like old and new releases) and flags.py's loading
of any table."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmfleet.model.vllm import flags as vflags

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tools" / "llmfleet" / "model" / "vllm"
FLAGS_SCRIPT = REPO / "tools" / "scripts" / "extract_vllm_flags.py"
METRICS_SCRIPT = REPO / "tools" / "scripts" / "extract_vllm_metrics.py"
VERSIONS = vflags.table_versions()


def test_tables_exist_for_a_span_of_releases():
    assert VERSIONS[0] == "0.8.5" and VERSIONS[-1] == vflags.NEWEST
    assert len(VERSIONS) >= 6
    for version in VERSIONS:
        assert (DATA / ("metrics_" + version.replace(".", "_") + ".txt")).is_file(), version


@pytest.mark.parametrize("prefix", ["flags", "metrics"])
@pytest.mark.parametrize("version", VERSIONS)
def test_table_header_names_the_wheel_and_its_hash(prefix, version):
    head = (DATA / f"{prefix}_{version.replace('.', '_')}.txt").read_text().splitlines()[:4]
    assert f"vLLM {version}." in head[0]
    assert re.search(rf"vllm-{re.escape(version)}-\S+\.whl \(sha256 [0-9a-f]{{64}}\)", head[2])


def has(version: str, option: str) -> bool:
    return option in vflags.known_flags(version)


def test_version_facts_the_rules_rely_on():
    assert has("0.17.0", "--swap-space") and not has("0.18.0", "--swap-space")
    assert not has("0.17.0", "--shutdown-timeout") and has("0.18.0", "--shutdown-timeout")
    assert has("0.16.0", "--disable-log-requests") and not has("0.17.0", "--disable-log-requests")
    assert not has("0.32.0", "--disable-log-requests") and has("0.33.0", "--disable-log-requests")
    assert has("0.8.5", "--config") and has("0.8.5", "--model")
    assert all(has(v, "--api-key") and has(v, "--port") for v in VERSIONS)


def test_unknown_version_is_a_clear_error():
    with pytest.raises(KeyError, match="no vLLM flag table for 9.9.9"):
        vflags.known_flags("9.9.9")


def metric_names(version: str) -> set[str]:
    text = (DATA / f"metrics_{version.replace('.', '_')}.txt").read_text()
    return {
        line.split()[0]
        for line in text.splitlines()
        if line
        and not line.startswith("#")
        and "vllm/v1/metrics/loggers.py" in line
        and " if self.show_hidden_metrics" not in line
    }


def test_metric_renames_by_release():
    assert "vllm:gpu_cache_usage_perc" in metric_names("0.10.2")
    assert "vllm:gpu_cache_usage_perc" not in metric_names("0.11.2")  # hidden
    assert "vllm:kv_cache_usage_perc" in metric_names("0.12.0")
    assert "vllm:time_per_output_token_seconds" in metric_names("0.11.2")
    assert "vllm:time_per_output_token_seconds" not in metric_names("0.15.1")
    assert "vllm:prompt_tokens_total" in metric_names("0.33.0")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def test_flag_extractor_reads_an_old_layout(tmp_path):
    """0.8.5-style tree: one vllm/config.py, frontend in entrypoints/openai, --config in
    cli/serve.py, no EnableDisableAction (so no --disable-x inverse)."""
    pkg = tmp_path / "vllm"
    write(pkg / "_version.py", '__version__ = "0.8.5"\n')
    write(
        pkg / "config.py",
        """\
        class CacheConfig:
            enable_prefix_caching: bool | None = None
        """,
    )
    write(
        pkg / "engine" / "arg_utils.py",
        """\
        def add_cli_args(parser):
            cache_kwargs = get_kwargs(CacheConfig)
            parser.add_argument("--enable-prefix-caching", **cache_kwargs["enable_prefix_caching"])
            parser.add_argument("--swap-space", type=float)
        """,
    )
    write(
        pkg / "entrypoints" / "openai" / "cli_args.py",
        """\
        def make_arg_parser(parser):
            parser.add_argument("--port", type=int)
        """,
    )
    write(
        pkg / "entrypoints" / "cli" / "serve.py",
        """\
        def subparser_init(sub):
            sub.add_argument("--config", type=str)
        """,
    )
    write(pkg / "utils" / "argparse_utils.py", "class FlexibleArgumentParser:\n    pass\n")
    out = subprocess.run(
        [sys.executable, str(FLAGS_SCRIPT), str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    lines = {line for line in out.splitlines() if not line.startswith("#")}
    assert {
        "--enable-prefix-caching bool",
        "--swap-space value",
        "--port value",
        "--config value",
        "--no-enable-prefix-caching bool --enable-prefix-caching negates",
    } <= lines
    assert not any(line.startswith("--disable-prefix-caching") for line in lines)
    assert "EnableDisableAction in vllm/utils/argparse_utils.py): no." in out


def test_metric_extractor_types_names_and_conditions(tmp_path):
    write(tmp_path / "vllm" / "_version.py", '__version__ = "1.2.3"\n')
    write(
        tmp_path / "vllm" / "v1" / "metrics" / "loggers.py",
        """\
        import prometheus_client
        class PrometheusStatLogger:
            def __init__(self, cfg):
                self.g = self._gauge_cls(name="vllm:num_requests_waiting", documentation="d")
                self.c = self._counter_cls(name="vllm:prompt_tokens", documentation="d")
                self.h = self._histogram_cls(name="vllm:e2e_request_latency_seconds")
                if self.show_hidden_metrics:
                    self.old = self._gauge_cls(name="vllm:gpu_cache_usage_perc")
                name = "vllm:cache_config_info"
                self.i = prometheus_client.Gauge(name=name, documentation="d")
                self.not_a_metric = "vllm:ignored"
        """,
    )
    out = subprocess.run(
        [sys.executable, str(METRICS_SCRIPT), str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    rows = {line for line in out.splitlines() if not line.startswith("#")}
    module = "vllm/v1/metrics/loggers.py"
    assert rows == {
        f"vllm:num_requests_waiting gauge {module}",
        f"vllm:prompt_tokens_total counter {module}",
        f"vllm:e2e_request_latency_seconds histogram {module}",
        f"vllm:gpu_cache_usage_perc gauge {module} if self.show_hidden_metrics",
        f"vllm:cache_config_info gauge {module}",
    }
    assert "vLLM 1.2.3" in out

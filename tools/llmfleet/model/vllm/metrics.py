"""The Prometheus metrics vLLM 0.33.0 exports, as exposed on ``/metrics``.

Source: docs/reference/vllm.md §1.2 (core), §1.3 (conditional), §1.4 (HTTP), §1.5-1.6
(removed, renamed and never-existing names), read from src vllm/v1/metrics/loggers.py.
Counters are registered without ``_total`` and exposed with it (prometheus_client), plus a
``_created`` series; histograms are exposed as ``_bucket``, ``_sum``, ``_count`` (and
``_created``); ``vllm:iteration_tokens_total`` is a histogram despite its name (§1.1).
"""

from __future__ import annotations

from dataclasses import dataclass

GAUGE, COUNTER, HISTOGRAM = "gauge", "counter", "histogram"

#: Exposed base names (counters with their ``_total``) → (type, condition or "").
CATALOG: dict[str, tuple[str, str]] = {
    # §1.2 scheduler and KV cache
    "vllm:num_requests_running": (GAUGE, ""),
    "vllm:num_requests_waiting": (GAUGE, ""),
    "vllm:num_requests_waiting_by_reason": (GAUGE, ""),
    "vllm:engine_sleep_state": (GAUGE, ""),
    "vllm:kv_cache_usage_perc": (GAUGE, ""),
    "vllm:prefix_cache_queries_total": (COUNTER, ""),
    "vllm:prefix_cache_hits_total": (COUNTER, ""),
    "vllm:external_prefix_cache_queries_total": (COUNTER, ""),
    "vllm:external_prefix_cache_hits_total": (COUNTER, ""),
    "vllm:mm_cache_queries_total": (COUNTER, ""),
    "vllm:mm_cache_hits_total": (COUNTER, ""),
    "vllm:num_preemptions_total": (COUNTER, ""),
    # §1.2 token and request counters
    "vllm:prompt_tokens_total": (COUNTER, ""),
    "vllm:prompt_tokens_by_source_total": (COUNTER, ""),
    "vllm:prompt_tokens_cached_total": (COUNTER, ""),
    "vllm:prompt_tokens_cached_by_source_total": (COUNTER, ""),
    "vllm:generation_tokens_total": (COUNTER, ""),
    "vllm:request_success_total": (COUNTER, ""),
    "vllm:admission_rejections_total": (COUNTER, ""),
    # §1.2 per-request size histograms
    "vllm:request_prompt_tokens": (HISTOGRAM, ""),
    "vllm:request_generation_tokens": (HISTOGRAM, ""),
    "vllm:iteration_tokens_total": (HISTOGRAM, ""),
    "vllm:request_max_num_generation_tokens": (HISTOGRAM, ""),
    "vllm:request_params_n": (HISTOGRAM, ""),
    "vllm:request_params_max_tokens": (HISTOGRAM, ""),
    "vllm:request_num_preemptions": (HISTOGRAM, ""),
    "vllm:request_prefill_kv_computed_tokens": (HISTOGRAM, ""),
    # §1.2 latency histograms
    "vllm:time_to_first_token_seconds": (HISTOGRAM, ""),
    "vllm:inter_token_latency_seconds": (HISTOGRAM, ""),
    "vllm:request_time_per_output_token_seconds": (HISTOGRAM, ""),
    "vllm:e2e_request_latency_seconds": (HISTOGRAM, ""),
    "vllm:request_queue_time_seconds": (HISTOGRAM, ""),
    "vllm:request_inference_time_seconds": (HISTOGRAM, ""),
    "vllm:request_prefill_time_seconds": (HISTOGRAM, ""),
    "vllm:request_decode_time_seconds": (HISTOGRAM, ""),
    # §1.2 info gauge
    "vllm:cache_config_info": (GAUGE, ""),
    # §1.3 conditional
    "vllm:lora_requests_info": (GAUGE, "--enable-lora"),
    "vllm:spec_decode_num_drafts_total": (COUNTER, "a speculative config"),
    "vllm:spec_decode_num_draft_tokens_total": (COUNTER, "a speculative config"),
    "vllm:spec_decode_num_accepted_tokens_total": (COUNTER, "a speculative config"),
    "vllm:spec_decode_num_accepted_tokens_per_pos_total": (COUNTER, "a speculative config"),
    "vllm:kv_block_lifetime_seconds": (HISTOGRAM, "--kv-cache-metrics"),
    "vllm:kv_block_idle_before_evict_seconds": (HISTOGRAM, "--kv-cache-metrics"),
    "vllm:kv_block_reuse_gap_seconds": (HISTOGRAM, "--kv-cache-metrics"),
    "vllm:estimated_flops_per_gpu_total": (COUNTER, "--enable-mfu-metrics"),
    "vllm:estimated_read_bytes_per_gpu_total": (COUNTER, "--enable-mfu-metrics"),
    "vllm:estimated_write_bytes_per_gpu_total": (COUNTER, "--enable-mfu-metrics"),
    "vllm:corrupted_requests_total": (COUNTER, "env VLLM_COMPUTE_NANS_IN_LOGITS"),
    "vllm:num_requests_kv_fetch_by_stage": (GAUGE, "a KV consumer"),
}

#: Families whose members depend on a KV connector (§1.3): any name with these prefixes.
CONNECTOR_PREFIXES = ("vllm:nixl_", "vllm:mooncake_", "vllm:kv_offload_", "vllm:hisparse_")

#: Removed, renamed or never-existing names (any of their series) → replacement (§1.5, §1.6).
REMOVED: dict[str, str] = {
    "vllm:gpu_cache_usage_perc": "vllm:kv_cache_usage_perc (a 0-1 fraction; removed in 0.12, PR #29330)",
    "vllm:gpu_prefix_cache_queries": "vllm:prefix_cache_queries_total (removed in 0.12)",
    "vllm:gpu_prefix_cache_hits": "vllm:prefix_cache_hits_total (removed in 0.12)",
    "vllm:gpu_prefix_cache_queries_total": "vllm:prefix_cache_queries_total (removed in 0.12)",
    "vllm:gpu_prefix_cache_hits_total": "vllm:prefix_cache_hits_total (removed in 0.12)",
    "vllm:time_per_output_token_seconds": "vllm:inter_token_latency_seconds (same buckets; "
    "removed by PR #32661)",
    "vllm:avg_prompt_throughput_toks_per_s": "rate(vllm:prompt_tokens_total[5m]) (removed ~0.7)",
    "vllm:avg_generation_throughput_toks_per_s": "rate(vllm:generation_tokens_total[5m]) (removed ~0.7)",
    "vllm:num_requests_swapped": "nothing (V0 only; swapping is gone)",
    "vllm:cpu_cache_usage_perc": "nothing (V0 only); vllm:kv_cache_usage_perc for the GPU KV cache",
    "vllm:cpu_prefix_cache_hit_rate": "rate(vllm:prefix_cache_hits_total) / "
    "rate(vllm:prefix_cache_queries_total)",
    "vllm:gpu_prefix_cache_hit_rate": "rate(vllm:prefix_cache_hits_total) / "
    "rate(vllm:prefix_cache_queries_total)",
    "vllm:time_in_queue_requests": "vllm:request_queue_time_seconds",
    "vllm:model_forward_time_milliseconds": "nothing (V0 only)",
    "vllm:model_execute_time_milliseconds": "nothing (V0 only)",
    "vllm:request_latency_seconds": "vllm:e2e_request_latency_seconds (request_latency_seconds "
    "never existed, docs/reference/vllm.md §1.6)",
    "vllm:tokens_per_request": "vllm:request_generation_tokens / vllm:request_prompt_tokens",
    "vllm:gpu_memory_utilization": "vllm:kv_cache_usage_perc (or vllm:cache_config_info's "
    "gpu_memory_utilization label)",
    "vllm:avg_request_latency_seconds": "vllm:e2e_request_latency_seconds_sum / _count",
    "vllm:num_generation_tokens_total": "vllm:generation_tokens_total",
    "vllm:engine_healthy": "nothing in 0.33.0 (newer than the pinned release, docs/reference/vllm.md §1.3)",
}

#: The first release that no longer exports a metric of REMOVED by default (hidden or removed,
#: docs/reference/vllm.md §1.5: the V0-only gauges hidden in 0.9, the gpu_* cache metrics
#: hidden in 0.11, time_per_output_token_seconds hidden in 0.12).  A name missing here never
#: existed under that name, or is wrong for every release.
REMOVED_IN: dict[str, str] = {
    "vllm:gpu_cache_usage_perc": "0.11",
    "vllm:gpu_prefix_cache_queries": "0.11",
    "vllm:gpu_prefix_cache_hits": "0.11",
    "vllm:gpu_prefix_cache_queries_total": "0.11",
    "vllm:gpu_prefix_cache_hits_total": "0.11",
    "vllm:time_per_output_token_seconds": "0.12",
    "vllm:avg_prompt_throughput_toks_per_s": "0.7",
    "vllm:avg_generation_throughput_toks_per_s": "0.7",
    "vllm:num_requests_swapped": "0.9",
    "vllm:cpu_cache_usage_perc": "0.9",
    "vllm:cpu_prefix_cache_hit_rate": "0.9",
    "vllm:gpu_prefix_cache_hit_rate": "0.9",
    "vllm:time_in_queue_requests": "0.9",
    "vllm:model_forward_time_milliseconds": "0.9",
    "vllm:model_execute_time_milliseconds": "0.9",
}


def exported_by(name: str, version: str) -> bool:
    """Whether a removed metric (REMOVED) was still exported by vLLM ``version``."""
    removed = REMOVED_IN.get(name)
    if removed is None:
        return False
    return _release(version) < _release(removed)


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.lstrip("v").split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count", "_created")


@dataclass(frozen=True)
class Lookup:
    status: str  # "ok", "unknown", "removed", "no-total", "histogram-base"
    base: str = ""  # catalog name the series belongs to
    kind: str = ""
    condition: str = ""
    hint: str = ""


def series_of(name: str, kind: str) -> list[str]:
    """Every series name a catalog entry is exposed as."""
    if kind == HISTOGRAM:
        return [name + s for s in HISTOGRAM_SUFFIXES]
    if kind == COUNTER:
        return [name, name[: -len("_total")] + "_created"]
    return [name]


_SERIES: dict[str, str] = {}
for _name, (_kind, _cond) in CATALOG.items():
    for _series in series_of(_name, _kind):
        _SERIES.setdefault(_series, _name)


def lookup(series: str) -> Lookup:
    """Classify a ``vllm:`` series name as used in PromQL."""
    if series in _SERIES:
        base = _SERIES[series]
        kind, condition = CATALOG[base]
        return Lookup("ok", base, kind, condition)
    for old, replacement in REMOVED.items():
        if series == old or (
            series.startswith(old) and series[len(old) :] in ("_total", "_created", *HISTOGRAM_SUFFIXES)
        ):
            return Lookup("removed", old, hint=replacement)
    if series.startswith(CONNECTOR_PREFIXES):
        return Lookup("ok", series, condition="a KV connector")
    if series + "_total" in CATALOG and CATALOG[series + "_total"][0] == COUNTER:
        return Lookup(
            "no-total",
            series + "_total",
            COUNTER,
            hint=f"{series}_total (counters are exposed with _total, docs/reference/vllm.md §1.1)",
        )
    if series in CATALOG and CATALOG[series][0] == HISTOGRAM:
        return Lookup(
            "histogram-base",
            series,
            HISTOGRAM,
            hint=f"{series}_bucket, {series}_sum or {series}_count (a histogram "
            "has no series of its own name)",
        )
    return Lookup("unknown")


def is_vllm_metric(name: str) -> bool:
    return name.startswith("vllm:")

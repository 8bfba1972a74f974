"""Autoscaling simulation: replay a traffic trace against KEDA + the HPA and a vLLM replica model.

Numbers and dataclasses in, a result dataclass out; nothing here renders, lints or prints.
The package imports nothing from ``llmfleet.pipeline.lint``, ``llmfleet.commands`` or ``llmfleet.cli``
(tests/simulate/test_independence.py checks it).

Interface
---------
Inputs::

    ScalingSpec(triggers, min_replicas=0, max_replicas=100, polling_interval_s=30,
                cooldown_period_s=300, initial_cooldown_period_s=0, idle_replicas=None,
                behavior=None, name="")
        # behavior: the autoscaling/v2 HorizontalPodAutoscalerBehavior dict, exactly as in
        # spec.advanced.horizontalPodAutoscalerConfig.behavior (None: absent)
    ScalingSpec.from_scaled_object(scaled_object_dict, classify=classify_query) -> ScalingSpec
    Trigger(name, kind, target, metric_type="AverageValue", activation=0.0,
            rate_window_s=120, use_cached_metrics=False, query="", unsupported_reason="")
        # kind: "queue" | "running" | "kv_cache_usage" | "request_rate" | None (not simulated)
    classify_query(promql) -> (kind | None, rate_window_s | None, reason)

    ReplicaModel(params, weight_bytes, kv_bytes_per_token, kv_tokens, max_model_len,
                 memory_bandwidth_gbps, bf16_tflops, startup_s, gpus=1, max_num_seqs=256,
                 drain_s=120.0, price_per_gpu_hour=0.0, bandwidth_efficiency=1.0,
                 compute_efficiency=1.0, name="")
    pod_startup_s(load_s, startup_probe=None, readiness_probe=None, schedule_s=0.0) -> float | None
    replica_from_sizing(sizing, max_model_len, *, load_s, startup_probe=None, ...) -> ReplicaModel
    gpu_performance(gpu_class) -> (memory_bandwidth_gbps, bf16_tflops)

    Trace(segments, duration_s, name); Segment(start_s, rps, input_tokens, output_tokens)
    constant(rps, duration_s, ...), ramp(start_rps, peak_rps, ramp_s, hold_s, tail_rps, tail_s, ...),
    diurnal(min_rps, max_rps, duration_s, period_s, peak_at_s, ...),
    spike(base_rps, spike_rps, before_s, spike_s, after_s, ...), from_csv(path),
    default_spike(replica, spec) -> Trace

    HpaSettings.for_kubernetes("1.33.0")   # the HPAConfigurableTolerance gate of that version
    SimulationOptions(hpa=HpaSettings(sync_period_s=15, tolerance=0.1,
                      downscale_stabilization_s=300, configurable_tolerance=True),
                      slo=Slo(queue_wait_p95_s=60, queue_wait_p99_s=300, ttft_p95_s=65, ttft_p99_s=310),
                      scrape_interval_s=15, sample_interval_s=15, initial_replicas=None,
                      absorb_queue_threshold=1.0, absorb_bound_s=None, flap_window_s=600,
                      flap_min_reversals=2, queue_growth_window_s=60)

Run::

    simulate(spec, replica, trace, options=None) -> SimulationResult

Output::

    SimulationResult.ok                 # no error-level flag
    SimulationResult.summary            # dict: requests, waits (p50/p95/p99/max), peak queue,
                                        # longest queue episode, replicas, GPU-hours, cost
    SimulationResult.flags              # [Flag(id, severity, message, time_s)]
    SimulationResult.events             # [ScaleEvent(time_s, from_replicas, to_replicas, by, reason)]
    SimulationResult.timeline           # Timeline: per sample time, offered/served rps,
                                        # replicas, ready/starting/draining pods, waiting, running
    SimulationResult.to_dict() / to_json() / report()
    plot(result, path)                  # PNG, needs matplotlib (optional)

Errors: :class:`SpecError` (names the ScaledObject field), :class:`ReplicaModelError`,
:class:`TraceError` (a CSV error names the file, line and field), :class:`PlotError`.

Where a replica's speed comes from (measured in capacity.yaml, else calibrated, else the
roofline): :mod:`llmfleet.features.simulate.overlay` ``inputs_for(model, directory)``,
:mod:`llmfleet.features.simulate.calibration`, :mod:`llmfleet.features.simulate.capacity`
(docs/reference/calibration.md).  KEDA's ``fallback`` and ``ignoreNullValues``:
:mod:`llmfleet.features.simulate.fallback`.

The HPA and KEDA semantics followed are in docs/reference/autoscaling.md, the replica model's
roofline in docs/reference/roofline.md.
"""

from llmfleet.features.simulate.adapters import gpu_performance, replica_from_sizing
from llmfleet.features.simulate.engine import SimulationOptions, simulate
from llmfleet.features.simulate.hpa import Decision, HorizontalController, HpaSettings
from llmfleet.features.simulate.plot import PlotError, plot
from llmfleet.features.simulate.replica import ReplicaModel, ReplicaModelError, pod_startup_s
from llmfleet.features.simulate.result import Episode, Flag, ScaleEvent, SimulationResult, Timeline
from llmfleet.features.simulate.slo import Slo, SloError
from llmfleet.features.simulate.spec import (
    KV_CACHE_USAGE,
    METRIC_KINDS,
    QUEUE,
    REQUEST_RATE,
    RUNNING,
    ScalingSpec,
    SpecError,
    Trigger,
    classify_query,
)
from llmfleet.features.simulate.traffic import (
    Segment,
    Trace,
    TraceError,
    constant,
    default_spike,
    diurnal,
    from_csv,
    ramp,
    spike,
)

__all__ = [
    "ScalingSpec",
    "Trigger",
    "SpecError",
    "classify_query",
    "QUEUE",
    "RUNNING",
    "KV_CACHE_USAGE",
    "REQUEST_RATE",
    "METRIC_KINDS",
    "ReplicaModel",
    "ReplicaModelError",
    "pod_startup_s",
    "replica_from_sizing",
    "gpu_performance",
    "Trace",
    "Segment",
    "TraceError",
    "constant",
    "ramp",
    "diurnal",
    "spike",
    "from_csv",
    "default_spike",
    "SimulationOptions",
    "HpaSettings",
    "HorizontalController",
    "Decision",
    "simulate",
    "SimulationResult",
    "Flag",
    "ScaleEvent",
    "Episode",
    "Timeline",
    "plot",
    "PlotError",
    "Slo",
    "SloError",
]

"""scaler-bounds: a ScaledObject's bounds and prometheus triggers must make sense.

From KEDA's own rules (docs/reference/tooling.md §8):

* ``minReplicaCount`` must not exceed ``maxReplicaCount`` (default 100): the CRD's CEL rule and
  the webhook reject it;
* ``activationThreshold`` is dead configuration when ``minReplicaCount`` ≥ 1: "If
  minReplicaCount ≥ 1 the scaler is always active and activation is ignored";
* a prometheus trigger requires ``serverAddress``, ``query`` and ``threshold`` (a float), and
  the error only shows when the scaler is built, not at admission.

And for vLLM: the HPA scale-down stabilization window
(``spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds``,
HPA default 300 s) shorter than the workload's startup window (its startupProbe,
initialDelaySeconds + failureThreshold × periodSeconds) removes replicas faster than a new
one can load the model (10+ minutes: docs/reference/vllm.md §3.2, §5.9), so the
fleet flaps and pays cold loads.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.catalog import entries as catalog
from llmfleet.catalog import sizing
from llmfleet.infra.errors import UsageError
from llmfleet.model import autoscaling, overlay_sizing
from llmfleet.model.pods import probe_window
from llmfleet.model.scaling import Autoscaler, Trigger
from llmfleet.model.vllm.server import VllmServer
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

REQUIRED = ("serverAddress", "query", "threshold")


@rule(
    id="scaler-bounds",
    severity=Severity.ERROR,
    description="ScaledObject min > max, a prometheus trigger without serverAddress/query/"
    "threshold, a dead activationThreshold, a scale-down window shorter than the "
    "startup window, or a queue/KV-cache threshold above what a replica holds",
    remediation="Keep minReplicaCount ≤ maxReplicaCount, give every prometheus trigger "
    "serverAddress, query and a numeric threshold, drop activationThreshold when "
    "minReplicaCount ≥ 1, and set scaleDown.stabilizationWindowSeconds at or above "
    "the startupProbe window.",
    rationale="KEDA rejects min > max and cannot build a prometheus scaler without its three "
    "fields; activationThreshold only matters when scaling from zero; and a replica "
    "removed sooner than a new one can load the model makes the fleet flap "
    "(docs/reference/tooling.md §8).",
    category="scaler",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        spec:
          minReplicaCount: 1
          maxReplicaCount: 4
          triggers: [{type: prometheus, metadata: {serverAddress: http://prometheus:9090,
                      query: 'sum(vllm:num_requests_waiting{model_name="m"})', threshold: "5"}}]

    Failing (``/spec/minReplicaCount``)::

        spec: {minReplicaCount: 5, maxReplicaCount: 2}

    Failing (``/spec/triggers/0/metadata``): a prometheus trigger without ``threshold``.
    """
    for scaler in model.scaled_objects:
        scaled = scaler.resource
        if not isinstance(scaled.data.get("spec"), dict):
            continue
        if scaler.minimum > scaler.maximum:
            yield Problem(
                scaled,
                "/spec/minReplicaCount",
                f"minReplicaCount {scaler.minimum} is above maxReplicaCount {scaler.maximum}"
                + ("" if scaler.max_explicit else " (the default)")
                + ": KEDA rejects the ScaledObject",
            )
        for trigger in scaler.triggers:
            base = trigger.path
            raw_meta = scaled.data["spec"]["triggers"][trigger.index].get("metadata")
            if trigger.type == "prometheus":
                missing = [k for k in REQUIRED if trigger.metadata.get(k) in (None, "")]
                if missing:
                    yield Problem(
                        scaled,
                        f"{base}/metadata" if isinstance(raw_meta, dict) else base,
                        f"prometheus trigger {trigger.index} has no {', '.join(missing)}: "
                        "KEDA cannot build the scaler",
                    )
                elif trigger.threshold is None:
                    yield Problem(
                        scaled,
                        f"{base}/metadata/threshold",
                        f"prometheus trigger {trigger.index} threshold "
                        f"{trigger.metadata.get('threshold')!r} is not a number",
                    )
            if "activationThreshold" in trigger.metadata and scaler.minimum >= 1:
                yield Problem(
                    scaled,
                    f"{base}/metadata/activationThreshold",
                    f"activationThreshold is ignored because minReplicaCount is "
                    f"{scaler.minimum} (≥ 1): the scaler is always active",
                    Severity.WARNING,
                )
        workload = scaler.target
        if workload is None:
            continue
        yield from _against_sizing(model, scaler)
        windows = [
            probe_window(probe)
            for server in model.servers_in(workload)
            if (probe := server.container.probe("startupProbe")) is not None
        ]
        if not windows:
            continue
        startup = windows[0]
        window, explicit = scaler.scale_down_window_s()
        if window < startup:
            path = f"{scaler.behavior_pointer}/scaleDown/stabilizationWindowSeconds" if explicit else "/spec"
            yield Problem(
                scaled,
                path,
                f"scale-down stabilization window is {window} s"
                + ("" if explicit else " (the HPA default)")
                + f", shorter than the startup window of {workload.resource.ref} "
                f"({startup} s): replicas are removed faster than one can load the model",
                Severity.WARNING,
            )


def _metric(trigger: Trigger) -> str | None:
    """Which vLLM gauge a per-replica (AverageValue) trigger targets."""
    query = trigger.query
    if query is None or not query.ok or trigger.metric_type != "AverageValue":
        return None
    names = set(query.metric_names)
    if names == {"vllm:num_requests_waiting"}:
        return "queue"
    if names == {"vllm:kv_cache_usage_perc"}:
        return "kv"
    return None


def _targets(model: OverlayModel, server: VllmServer) -> autoscaling.ScalerTargets | None:
    """What one replica of this server holds, from the sizing (catalogued models and GPUs)."""
    spec = overlay_sizing.spec_for(server)
    gpu = catalog.find_gpu(model.node_selection(server.template).gpu_class or "")
    tp, pp = server.tensor_parallel, server.pipeline_parallel
    length = server.int_value("max-model-len", spec.context if spec else None)
    util = server.value("gpu-memory-utilization", sizing.DEFAULT_GPU_MEMORY_UTILIZATION)
    if spec is None or gpu is None or not tp or not pp or not length:
        return None
    try:
        size = sizing.size(
            spec,
            gpu,
            tp,
            server.value("quantization") or spec.quantization,
            str(server.value("kv-cache-dtype") or "auto"),
            float(util),
            pp,
        )
        seqs = server.int_value("max-num-seqs", autoscaling.default_max_num_seqs(gpu.memory_gib, gpu.name))
        return autoscaling.derive_targets(size.kv_tokens, length, seqs or 256)
    except (UsageError, ValueError, TypeError):
        return None


def _against_sizing(model: OverlayModel, scaler: Autoscaler) -> Iterator[Problem]:
    """A per-replica threshold above what one replica holds scales out only once requests
    already wait longer than a whole request (llmfleet.model.autoscaling)."""
    servers = [s for s in model.api_servers if s.workload is scaler.target]
    targets = _targets(model, servers[0]) if len(servers) == 1 else None
    if targets is None:
        return
    for trigger in scaler.triggers:
        metric, threshold = _metric(trigger), trigger.threshold
        if metric is None or threshold is None:
            continue
        derived = targets.queue_depth if metric == "queue" else targets.kv_cache_usage
        if threshold > derived * 1.1 + 1e-9:
            what = "waiting requests" if metric == "queue" else "KV-cache usage"
            yield Problem(
                scaler.resource,
                f"{trigger.path}/metadata/threshold",
                f"trigger {trigger.name or trigger.index} scales out at {threshold:g} {what} "
                f"per replica, but one replica holds {targets.concurrency:.2f} sequences of "
                f"max-model-len (the sizing), which gives a target of {derived:g}: the fleet "
                "scales out only after requests queue for longer than a whole request",
                Severity.WARNING,
            )

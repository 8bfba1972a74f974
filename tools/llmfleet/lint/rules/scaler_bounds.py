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
one can load the model (10+ minutes: docs/reference/vllm-0.33.md §3.2, §5.9), so the
fleet flaps and pays cold loads.
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.context import dig
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import (as_int, resolve_target, triggers,
                                         workload_startup_window)

DEFAULT_MAX = 100
HPA_DEFAULT_SCALE_DOWN_WINDOW_S = 300
REQUIRED = ("serverAddress", "query", "threshold")


def _float(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@rule(id="scaler-bounds", severity=Severity.ERROR,
      description="ScaledObject min > max, a prometheus trigger without serverAddress/query/"
                  "threshold, a dead activationThreshold, or a scale-down window shorter than "
                  "the startup window",
      remediation="Keep minReplicaCount ≤ maxReplicaCount, give every prometheus trigger "
                  "serverAddress, query and a numeric threshold, drop activationThreshold when "
                  "minReplicaCount ≥ 1, and set scaleDown.stabilizationWindowSeconds at or above "
                  "the startupProbe window.",
      category="scaler")
def check(ctx):
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
    for scaled in ctx.of_kind("ScaledObject"):
        spec = scaled.data.get("spec")
        if not isinstance(spec, dict):
            continue
        minimum = as_int(spec.get("minReplicaCount"), 0)
        maximum = as_int(spec.get("maxReplicaCount"), DEFAULT_MAX)
        minimum = 0 if minimum is None else minimum
        maximum = DEFAULT_MAX if maximum is None else maximum
        if minimum > maximum:
            yield Problem(scaled, "/spec/minReplicaCount",
                          f"minReplicaCount {minimum} is above maxReplicaCount {maximum}"
                          + ("" if "maxReplicaCount" in spec else " (the default)")
                          + ": KEDA rejects the ScaledObject")
        for i, trig in triggers(scaled):
            metadata = trig.get("metadata")
            base = f"/spec/triggers/{i}"
            if trig.get("type") == "prometheus":
                meta = metadata if isinstance(metadata, dict) else {}
                missing = [k for k in REQUIRED if meta.get(k) in (None, "")]
                if missing:
                    yield Problem(scaled, f"{base}/metadata" if isinstance(metadata, dict) else base,
                                  f"prometheus trigger {i} has no {', '.join(missing)}: KEDA "
                                  "cannot build the scaler")
                elif _float(meta.get("threshold")) is None:
                    yield Problem(scaled, f"{base}/metadata/threshold",
                                  f"prometheus trigger {i} threshold {meta.get('threshold')!r} is "
                                  "not a number")
            if isinstance(metadata, dict) and "activationThreshold" in metadata and minimum >= 1:
                yield Problem(scaled, f"{base}/metadata/activationThreshold",
                              f"activationThreshold is ignored because minReplicaCount is "
                              f"{minimum} (≥ 1): the scaler is always active", Severity.WARNING)
        workload, _ = resolve_target(ctx, scaled)
        if workload is None:
            continue
        startup = workload_startup_window(ctx, workload)
        if startup is None:
            continue
        behavior_path = ("spec", "advanced", "horizontalPodAutoscalerConfig", "behavior",
                         "scaleDown", "stabilizationWindowSeconds")
        raw = dig(scaled.data, *behavior_path)
        window = as_int(raw, HPA_DEFAULT_SCALE_DOWN_WINDOW_S)
        window = HPA_DEFAULT_SCALE_DOWN_WINDOW_S if window is None else window
        if window < startup:
            path = "/" + "/".join(behavior_path) if raw is not None else "/spec"
            yield Problem(scaled, path,
                          f"scale-down stabilization window is {window} s"
                          + ("" if raw is not None else " (the HPA default)")
                          + f", shorter than the startup window of {workload.resource.ref} "
                          f"({startup} s): replicas are removed faster than one can load the model",
                          Severity.WARNING)

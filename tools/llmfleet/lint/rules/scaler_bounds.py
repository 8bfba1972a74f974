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

from collections.abc import Iterator

from llmfleet.lint.api import Options, OverlayModel, Problem, Severity, rule
from llmfleet.model.pods import probe_window

REQUIRED = ("serverAddress", "query", "threshold")


@rule(id="scaler-bounds", severity=Severity.ERROR,
      description="ScaledObject min > max, a prometheus trigger without serverAddress/query/"
                  "threshold, a dead activationThreshold, or a scale-down window shorter than "
                  "the startup window",
      remediation="Keep minReplicaCount ≤ maxReplicaCount, give every prometheus trigger "
                  "serverAddress, query and a numeric threshold, drop activationThreshold when "
                  "minReplicaCount ≥ 1, and set scaleDown.stabilizationWindowSeconds at or above "
                  "the startupProbe window.",
      rationale="KEDA rejects min > max and cannot build a prometheus scaler without its three "
                "fields; activationThreshold only matters when scaling from zero; and a replica "
                "removed sooner than a new one can load the model makes the fleet flap "
                "(docs/reference/tooling.md §8).",
      category="scaler")
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
            yield Problem(scaled, "/spec/minReplicaCount",
                          f"minReplicaCount {scaler.minimum} is above maxReplicaCount {scaler.maximum}"
                          + ("" if scaler.max_explicit else " (the default)")
                          + ": KEDA rejects the ScaledObject")
        for trigger in scaler.triggers:
            base = trigger.path
            raw_meta = scaled.data["spec"]["triggers"][trigger.index].get("metadata")
            if trigger.type == "prometheus":
                missing = [k for k in REQUIRED if trigger.metadata.get(k) in (None, "")]
                if missing:
                    yield Problem(scaled, f"{base}/metadata" if isinstance(raw_meta, dict) else base,
                                  f"prometheus trigger {trigger.index} has no {', '.join(missing)}: "
                                  "KEDA cannot build the scaler")
                elif trigger.threshold is None:
                    yield Problem(scaled, f"{base}/metadata/threshold",
                                  f"prometheus trigger {trigger.index} threshold "
                                  f"{trigger.metadata.get('threshold')!r} is not a number")
            if "activationThreshold" in trigger.metadata and scaler.minimum >= 1:
                yield Problem(scaled, f"{base}/metadata/activationThreshold",
                              f"activationThreshold is ignored because minReplicaCount is "
                              f"{scaler.minimum} (≥ 1): the scaler is always active", Severity.WARNING)
        workload = scaler.target
        if workload is None:
            continue
        windows = [probe_window(probe) for server in model.servers_in(workload)
                   if (probe := server.container.probe("startupProbe")) is not None]
        if not windows:
            continue
        startup = windows[0]
        window, explicit = scaler.scale_down_window_s()
        if window < startup:
            path = f"{scaler.behavior_pointer}/scaleDown/stabilizationWindowSeconds" if explicit else "/spec"
            yield Problem(scaled, path,
                          f"scale-down stabilization window is {window} s"
                          + ("" if explicit else " (the HPA default)")
                          + f", shorter than the startup window of {workload.resource.ref} "
                          f"({startup} s): replicas are removed faster than one can load the model",
                          Severity.WARNING)

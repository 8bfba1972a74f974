"""probe-liveness: the liveness probe must be tolerant and must not kill a loading pod.

vLLM's ``/health`` answers 503 only when the engine is dead, and vLLM then exits by itself
within about 5 s (watchdog, docs/reference/vllm-0.33.md §3.3); a liveness probe is a
safety net, so it should tolerate a minute of failures (failureThreshold × periodSeconds
≥ 60 s) rather than restart a GPU pod, which costs a full cold load, on a blip (§3.5: "a
tolerant threshold").  Without a startupProbe, the liveness probe runs from the start, while
vLLM refuses connections for the whole model load (§3.2), so its window
(initialDelaySeconds + failureThreshold × periodSeconds) must cover the cold load or the pod
is killed during startup ("KeyboardInterrupt: terminated", §5.2); the expected load is the
one of probe-startup (600 s + 12 s per billion parameters above 8 B).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import (probe_field, probe_of, probe_window, startup_need_s,
                                         vllm_workloads)

MIN_LIVENESS_WINDOW_S = 60


@rule(id="probe-liveness", severity=Severity.WARNING,
      description="The liveness probe of the vLLM container restarts it after less than 60 s of "
                  "failures, or would kill it while the model loads (no startupProbe)",
      remediation="Use livenessProbe {httpGet: {path: /health, port: 8000}, periodSeconds: 10, "
                  "failureThreshold: 6} and guard startup with a startupProbe, not "
                  "initialDelaySeconds.",
      category="probe")
def check(ctx):
    """Passing::

        startupProbe: {httpGet: {path: /health, port: 8000}, failureThreshold: 60, periodSeconds: 10}
        livenessProbe: {httpGet: {path: /health, port: 8000}, failureThreshold: 6, periodSeconds: 10}

    Failing (``/spec/template/spec/containers/0/livenessProbe``; 3 × 10 s = 30 s)::

        livenessProbe: {httpGet: {path: /health, port: 8000}}

    Failing, error (``.../livenessProbe``): no startupProbe and a liveness window shorter
    than the model load.
    """
    for workload, settings in vllm_workloads(ctx):
        container = settings.container
        probe = probe_of(container, "livenessProbe")
        if probe is None:
            continue
        path = f"{container.path}/livenessProbe"
        tolerance = probe_field(probe, "failureThreshold") * probe_field(probe, "periodSeconds")
        if probe_of(container, "startupProbe") is None:
            need, why = startup_need_s(settings)
            window = probe_window(probe)
            if window < need:
                yield Problem(workload.resource, path,
                              f"container {container.name!r} has no startupProbe and its liveness "
                              f"probe restarts it after {window} s, before the model is loaded "
                              f"(expected ≈ {need} s; {why})", Severity.ERROR)
                continue
        if tolerance < MIN_LIVENESS_WINDOW_S:
            yield Problem(workload.resource, path,
                          f"liveness probe of container {container.name!r} restarts it after "
                          f"{tolerance} s of failures (failureThreshold × periodSeconds); use at "
                          f"least {MIN_LIVENESS_WINDOW_S} s: a restart costs a full cold load")

"""probe-liveness: liveness must not restart an LLM server for a hiccup, nor while it loads.

A restart costs a full cold load, so liveness should act only after a minute of failures
(option ``min-window-seconds``); and a liveness probe without a startupProbe runs during the
model load, killing the pod in a loop when its window is shorter than the cold load (scaled
with the model's size, :mod:`llmfleet.model.load_time`).  This holds for vLLM, SGLang, TGI,
NIM, Triton and llama.cpp, which answer only once the model is loaded, and for probes a KServe
runtime writes itself; Ollama answers before it loads a model, and llama.cpp accepts TCP
connections during the load (HTTP answers 503 until the model is loaded), so a tcpSocket
liveness probe does not kill it.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.pods import probe_field, probe_window
from llmfleet.model.served import served
from llmfleet.pipeline.lint.api import Option, Options, OverlayModel, Problem, Severity, rule


@rule(
    id="probe-liveness",
    severity=Severity.WARNING,
    description="The liveness probe of an LLM server container restarts it after less than the "
    "minimum window of failures, or would kill it while the model loads (no "
    "startupProbe)",
    remediation="Use livenessProbe {httpGet: {path: /health, port: 8000}, periodSeconds: 10, "
    "failureThreshold: 6} and guard startup with a startupProbe, not "
    "initialDelaySeconds.",
    rationale="Every restart costs a full cold load (minutes of GPU time and a replica out of "
    "service), so liveness should only act on a server that has been down for a "
    "while; without a startupProbe, liveness runs during the model load and kills it "
    "(docs/reference/vllm.md §3.5).",
    category="probe",
    options=[
        Option(
            "min-window-seconds",
            int,
            60,
            "Least failureThreshold × periodSeconds of a liveness probe.",
            minimum=1,
        )
    ],
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        startupProbe: {httpGet: {path: /health, port: 8000}, failureThreshold: 60, periodSeconds: 10}
        livenessProbe: {httpGet: {path: /health, port: 8000}, failureThreshold: 6, periodSeconds: 10}

    Failing (``/spec/template/spec/containers/0/livenessProbe``; 3 × 10 s = 30 s)::

        livenessProbe: {httpGet: {path: /health, port: 8000}}

    Failing, error (``.../livenessProbe``): no startupProbe and a liveness window shorter
    than the model load.
    """
    minimum = options["min-window-seconds"]
    for item in served(model):
        container = item.container
        probe = container.probe("livenessProbe")
        if probe is None:
            continue
        path = f"{container.path}/livenessProbe"
        tolerance = probe_field(probe, "failureThreshold") * probe_field(probe, "periodSeconds")
        tcp_passes = item.tcp_during_load and isinstance(probe.get("tcpSocket"), dict)
        if container.probe("startupProbe") is None and item.listens_after_load and not tcp_passes:
            load = item.load
            window = probe_window(probe)
            if window < load.typical_s:
                yield Problem(
                    item.resource,
                    path,
                    f"container {container.name!r} ({item.engine}) has no startupProbe and its "
                    f"liveness probe restarts it after {window} s, before the model is loaded "
                    f"(expected ≈ {load.typical_s} s; {load.why})",
                    Severity.ERROR if window < load.certain_s else Severity.WARNING,
                )
                continue
            delay = probe_field(probe, "initialDelaySeconds")
            if delay >= options["min-window-seconds"]:
                yield Problem(
                    item.resource,
                    f"{path}/initialDelaySeconds",
                    f"the liveness probe of container {container.name!r} waits "
                    f"initialDelaySeconds {delay} s instead of a startupProbe: a load "
                    "slower than that is killed, a faster one waits it out; use a "
                    "startupProbe (its window can be long, it stops once the model is up)",
                )
                continue
        if tolerance < minimum:
            yield Problem(
                item.resource,
                path,
                f"liveness probe of container {container.name!r} restarts it after "
                f"{tolerance} s of failures (failureThreshold × periodSeconds); use at "
                f"least {minimum} s: a restart costs a full cold load",
            )

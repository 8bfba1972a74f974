"""probe-liveness: liveness must not restart vLLM for a hiccup, nor while it loads.

A restart costs a full cold load, so liveness should act only after a minute of failures
(option ``min-window-seconds``); and a liveness probe without a startupProbe runs during the
model load, killing the pod in a loop when its window is shorter than the cold load.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.lint.api import Option, Options, OverlayModel, Problem, Severity, rule
from llmfleet.model.pods import probe_field, probe_window
from llmfleet.model.vllm.startup import cold_load


@rule(
    id="probe-liveness",
    severity=Severity.WARNING,
    description="The liveness probe of the vLLM container restarts it after less than the "
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
    for server in model.api_servers:
        container = server.container
        probe = container.probe("livenessProbe")
        if probe is None:
            continue
        path = f"{container.path}/livenessProbe"
        tolerance = probe_field(probe, "failureThreshold") * probe_field(probe, "periodSeconds")
        if container.probe("startupProbe") is None:
            need = cold_load(server.model_id, server.value("quantization"), server.nodes or 1)
            window = probe_window(probe)
            if window < need.seconds:
                yield Problem(
                    server.resource,
                    path,
                    f"container {container.name!r} has no startupProbe and its liveness "
                    f"probe restarts it after {window} s, before the model is loaded "
                    f"(expected ≈ {need.seconds} s; {need.why})",
                    Severity.ERROR,
                )
                continue
            delay = probe_field(probe, "initialDelaySeconds")
            if delay >= options["min-window-seconds"]:
                yield Problem(
                    server.resource,
                    f"{path}/initialDelaySeconds",
                    f"the liveness probe of container {container.name!r} waits "
                    f"initialDelaySeconds {delay} s instead of a startupProbe: a load "
                    "slower than that is killed, a faster one waits it out; use a "
                    "startupProbe (its window can be long, it stops once the model is up)",
                )
                continue
        if tolerance < minimum:
            yield Problem(
                server.resource,
                path,
                f"liveness probe of container {container.name!r} restarts it after "
                f"{tolerance} s of failures (failureThreshold × periodSeconds); use at "
                f"least {minimum} s: a restart costs a full cold load",
            )

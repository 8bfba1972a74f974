"""probe-startup: the vLLM container needs a startup window as long as its cold load.

Nothing listens until vLLM has downloaded (first start), loaded and compiled the model and
captured its CUDA graphs.  The expected cold load is 600 s plus 6 s per GiB of weights one node
loads above 15 GiB (``llmfleet.model.vllm.startup``: every expert of a mixture counted, at its
stored precision, divided over the nodes of a multi-node group), with the model found
wherever it is set (args, the ``--config`` file, env, ConfigMaps).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.lint.api import Options, OverlayModel, Problem, Severity, rule
from llmfleet.model.pods import probe_window
from llmfleet.model.vllm.startup import cold_load


@rule(
    id="probe-startup",
    severity=Severity.ERROR,
    description="The vLLM container's startupProbe window is shorter than the expected cold load "
    "of the model, or it has neither a startupProbe nor a readinessProbe",
    remediation="Add startupProbe {httpGet: {path: /health, port: 8000}, periodSeconds: 10, "
    "failureThreshold: N} with N × 10 s at or above the cold load (60 for 7-8B "
    "models, 90 or more for 70B).",
    rationale="vLLM listens only once the model is downloaded, loaded, compiled and its CUDA "
    "graphs captured: ten minutes and more. A shorter window restarts the pod in a "
    "loop that never ends (docs/reference/vllm.md §3.2, §5.9).",
    category="probe",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (Llama-3.1-8B: needs 600 s)::

        startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 60}

    Failing (``/spec/template/spec/containers/0/startupProbe``; 300 s < 600 s)::

        startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 30}

    Failing, warning (``/spec/template/spec/containers/0``): no startupProbe and no
    readinessProbe (the pod is Ready, and gets traffic, before the model is loaded).  Without a
    startupProbe a readinessProbe gates traffic, and probe-liveness judges a liveness probe.
    A window between half the estimate and the estimate is a warning: the estimate is rough.
    """
    for server in model.api_servers:
        container = server.container
        need = cold_load(server.model_id, server.value("quantization"), server.nodes or 1)
        probe = container.probe("startupProbe")
        if probe is None:
            if container.probe("readinessProbe") is None:
                yield Problem(
                    server.resource,
                    container.path,
                    f"container {container.name!r} has neither a startupProbe nor a "
                    "readinessProbe: the pod is Ready, and the Service sends it requests, "
                    f"before vLLM listens (expected load ≈ {need.seconds} s; {need.why})",
                    Severity.WARNING,
                )
            continue
        window = probe_window(probe)
        if window < need.seconds:
            yield Problem(
                server.resource,
                f"{container.path}/startupProbe",
                f"startupProbe window of container {container.name!r} is {window} s "
                f"(initialDelaySeconds + failureThreshold × periodSeconds), shorter "
                f"than the expected cold load of {need.seconds} s ({need.why})",
                None if window < need.seconds / 2 else Severity.WARNING,
            )

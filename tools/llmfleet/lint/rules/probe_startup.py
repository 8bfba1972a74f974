"""probe-startup: the vLLM container needs a startup window as long as its cold load.

Nothing listens until vLLM has downloaded (first start), loaded and compiled the model and
captured its CUDA graphs.  The expected cold load is 600 s plus 12 s per billion parameters
above 8 B (``llmfleet.model.vllm.startup``; total parameters, every expert of a mixture
counted), with the model found wherever it is set (args, the ``--config`` file, env).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.lint.api import Options, OverlayModel, Problem, Severity, rule
from llmfleet.model.pods import probe_window
from llmfleet.model.vllm.startup import cold_load


@rule(id="probe-startup", severity=Severity.ERROR,
      description="The vLLM container has no startupProbe, or its window is shorter than the "
                  "expected cold load of the model",
      remediation="Add startupProbe {httpGet: {path: /health, port: 8000}, periodSeconds: 10, "
                  "failureThreshold: N} with N × 10 s at or above the cold load (60 for 7-8B "
                  "models, 90 or more for 70B).",
      rationale="vLLM listens only once the model is downloaded, loaded, compiled and its CUDA "
                "graphs captured: ten minutes and more. A shorter window restarts the pod in a "
                "loop that never ends (docs/reference/vllm-0.33.md §3.2, §5.9).",
      category="probe")
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (Llama-3.1-8B: needs 600 s)::

        startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 60}

    Failing (``/spec/template/spec/containers/0/startupProbe``; 300 s < 600 s)::

        startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 30}

    Failing, warning (``/spec/template/spec/containers/0``): no startupProbe at all.
    """
    for server in model.servers:
        container = server.container
        need = cold_load(server.model_id)
        probe = container.probe("startupProbe")
        if probe is None:
            yield Problem(server.resource, container.path,
                          f"container {container.name!r} has no startupProbe: vLLM refuses "
                          f"connections until the model is loaded (expected ≈ {need.seconds} s; {need.why})",
                          Severity.WARNING)
            continue
        window = probe_window(probe)
        if window < need.seconds:
            yield Problem(server.resource, f"{container.path}/startupProbe",
                          f"startupProbe window of container {container.name!r} is {window} s "
                          f"(initialDelaySeconds + failureThreshold × periodSeconds), shorter "
                          f"than the expected cold load of {need.seconds} s ({need.why})")

"""probe-startup: the vLLM container needs a startupProbe that outlasts the cold load.

vLLM does not listen on its port until the model is loaded, profiled and the CUDA graphs are
captured: ``setup_server()`` only binds the socket, and uvicorn starts after
``build_async_engine_client()`` returns, so every probe gets "connection refused" during the
load (docs/reference/vllm-0.33.md §3.2).  Cold loads take 10+ minutes for big models
(download, weight load, torch.compile, CUDA graphs: docs/reference/vllm-0.33.md §5.9), and a liveness probe that
fires first kills the pod ("KeyboardInterrupt: terminated", CrashLoopBackOff: §5.2).  The
fix is a startupProbe on /health whose window covers the worst case (§3.5; KServe uses
60 × 10 s).

Expected cold load used here: 600 s for models up to 8 B parameters, plus 12 s per billion
parameters above 8 B (70.55 B → 600 + 12 × 62.55 ≈ 1351 s).  The size comes from the model
id (the sizes of docs/reference/vllm-0.33.md §4.3, the sizing catalog when present, or "70B"/"8B" in the name).
Window = initialDelaySeconds + failureThreshold × periodSeconds.
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import probe_of, probe_window, startup_need_s, vllm_workloads


@rule(id="probe-startup", severity=Severity.ERROR,
      description="The vLLM container has no startupProbe, or its window is shorter than the "
                  "expected cold load of the model",
      remediation="Add startupProbe {httpGet: {path: /health, port: 8000}, periodSeconds: 10, "
                  "failureThreshold: N} with N × 10 s at or above the cold load (60 for 7-8B "
                  "models, 90 or more for 70B).",
      category="probe")
def check(ctx):
    """Passing (Llama-3.1-8B: needs 600 s)::

        startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 60}

    Failing (``/spec/template/spec/containers/0/startupProbe``; 300 s < 600 s)::

        startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 30}

    Failing, warning (``/spec/template/spec/containers/0``): no startupProbe at all.
    """
    for workload, settings in vllm_workloads(ctx):
        container = settings.container
        need, why = startup_need_s(settings)
        probe = probe_of(container, "startupProbe")
        if probe is None:
            yield Problem(workload.resource, container.path,
                          f"container {container.name!r} has no startupProbe: vLLM refuses "
                          f"connections until the model is loaded (expected ≈ {need} s; {why})",
                          Severity.WARNING)
            continue
        window = probe_window(probe)
        if window < need:
            yield Problem(workload.resource, f"{container.path}/startupProbe",
                          f"startupProbe window of container {container.name!r} is {window} s "
                          f"(initialDelaySeconds + failureThreshold × periodSeconds), shorter "
                          f"than the expected cold load of {need} s ({why})")

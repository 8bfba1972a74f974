"""probe-startup: an LLM server container needs a startup window as long as its cold load.

Nothing listens until the server has downloaded (first start), loaded and compiled the model
and captured its CUDA graphs.  The expected load scales with the model's size
(:mod:`llmfleet.model.load_time`: 120 s + 4 s per GiB of weights one node reads, 10 s when
they are downloaded at every start, the size
from the catalog or the model's or served name); the message says what it assumed.  KServe
and OME runtimes are templates whose probes the platform owns: they are not judged.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.pods import probe_window
from llmfleet.model.served import served
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="probe-startup",
    severity=Severity.ERROR,
    description="An LLM server container's startupProbe window is shorter than the expected cold "
    "load of its model (scaled with the model's size), or it has neither a startupProbe nor a "
    "readinessProbe",
    remediation="Add startupProbe {httpGet: {path: /health, port: <server port>}, periodSeconds: 10, "
    "failureThreshold: N} with N × 10 s at or above the cold load (30 for a 1 B model, 30-60 "
    "for 7-8 B, 150 or more for 70 B).",
    rationale="An LLM server listens only once the model is downloaded, loaded, compiled and its "
    "CUDA graphs captured: minutes, more for large models. A shorter window restarts the pod "
    "in a loop that never ends (docs/reference/vllm.md §3.2, §5.9; docs/reference/servers.md).",
    category="probe",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (Llama-3.1-8B downloaded at every start: ≈ 270 s)::

        startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 30}

    Failing (``/spec/template/spec/containers/0/startupProbe``; 60 s < 120 s, the floor)::

        startupProbe: {httpGet: {path: /health, port: 8000}, periodSeconds: 10, failureThreshold: 6}

    Failing, warning (``/spec/template/spec/containers/0``): no startupProbe and no
    readinessProbe (the pod is Ready, and gets traffic, before the model is loaded).  A window
    between half the estimate and the estimate is a warning: the estimate is rough.
    """
    for item in served(model):
        if item.platform_probes or not item.listens_after_load:
            continue
        container, load = item.container, item.load
        probe = container.probe("startupProbe")
        if probe is None:
            if container.probe("readinessProbe") is None:
                yield Problem(
                    item.resource,
                    container.path,
                    f"container {container.name!r} ({item.engine}) has neither a startupProbe nor "
                    "a readinessProbe: the pod is Ready, and the Service sends it requests, "
                    f"before the server listens (expected load ≈ {load.typical_s} s; {load.why})",
                    Severity.WARNING,
                )
            continue
        window = probe_window(probe)
        if window < load.typical_s:
            certain = window < load.certain_s
            yield Problem(
                item.resource,
                f"{container.path}/startupProbe",
                f"startupProbe window of container {container.name!r} ({item.engine}) is {window} s "
                f"(initialDelaySeconds + failureThreshold × periodSeconds), shorter than the "
                f"expected cold load of {load.typical_s} s ({load.why})",
                None if certain else Severity.WARNING,
            )

"""shutdown-drain: vLLM aborts in-flight requests on SIGTERM unless ``--shutdown-timeout`` is set.

``--shutdown-timeout`` (int seconds, default 0, "0 = abort, >0 = wait", first released in
v0.18.0) makes vLLM reject new requests and drain in-flight ones for up to N s on SIGTERM;
with 0 every rollout and scale-down drops the requests being generated
(docs/reference/vllm.md §3.4, §5.3; RFC vllm#24885, PRs #34730/#36666).  The
repository contract passes it as an arg: ``--shutdown-timeout N``.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.vllm import flags as vflags
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="shutdown-drain",
    severity=Severity.WARNING,
    description="vLLM runs without --shutdown-timeout (or with 0): in-flight requests are "
    "aborted on every rollout and scale-down",
    remediation="Pass --shutdown-timeout N (for example 45) and size "
    "terminationGracePeriodSeconds for preStop + N + margin.",
    rationale="On SIGTERM vLLM stops accepting requests and, with --shutdown-timeout N, lets "
    "running ones finish for up to N seconds; the default 0 aborts them at once "
    "(docs/reference/vllm.md §3.4).",
    category="shutdown",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        args: [--config, /etc/vllm/serve.yaml, --port, "8000", --shutdown-timeout, "45"]

    Failing (``/spec/template/spec/containers/0/args``)::

        args: [--config, /etc/vllm/serve.yaml, --port, "8000"]
    """
    for server in model.api_servers:
        if vflags.lookup("--shutdown-timeout", server.version) is None or server.release_unknown:
            continue  # the release predates --shutdown-timeout (0.18.0), or cannot be told
        setting = server.get("shutdown-timeout")
        container = server.container
        if setting is None:
            path = f"{container.path}/args" if "args" in container.data else container.path
            yield Problem(
                server.resource,
                path,
                f"container {container.name!r} has no --shutdown-timeout: vLLM's default "
                "0 aborts in-flight requests on SIGTERM",
            )
            continue
        if not setting.resolved:
            continue
        value = server.int_value("shutdown-timeout")
        if value is None or value <= 0:
            yield Problem(
                setting.resource,
                setting.path,
                f"--shutdown-timeout is {setting.value!r} ({setting.where}): 0 aborts "
                "in-flight requests on SIGTERM; use a positive number of seconds",
            )

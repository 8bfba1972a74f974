"""shutdown-grace: terminationGracePeriodSeconds must cover preStop + drain + a margin.

The kubelet kills the container with SIGKILL ``terminationGracePeriodSeconds`` (default 30)
after it starts the shutdown, and the preStop hook runs inside that period.  vLLM's drain
(``--shutdown-timeout``) starts only after the preStop sleep, so the grace period must be at
least preStop sleep + shutdown-timeout + a margin, here 10 s for the worker teardown
(``VLLM_WORKER_SHUTDOWN_TIMEOUT_SECONDS`` 5 s) and process exit
(docs/reference/vllm.md §3.4: "terminationGracePeriodSeconds >= preStop sleep +
--shutdown-timeout (+ buffer)"; KServe: 15 + 45 = 60 s).  A grace period below preStop sleep +
shutdown-timeout cuts the drain for sure (an error); one inside the margin is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.pods import grace_period, prestop_sleep
from llmfleet.pipeline.lint.api import Option, Options, OverlayModel, Problem, Severity, rule


@rule(
    id="shutdown-grace",
    severity=Severity.ERROR,
    description="terminationGracePeriodSeconds is shorter than preStop sleep + --shutdown-timeout + a margin",
    remediation="Set terminationGracePeriodSeconds ≥ preStop sleep + --shutdown-timeout + margin "
    "(for example 15 + 45 + 10 = 70).",
    rationale="The grace period counts from the start of preStop; the kubelet sends SIGKILL "
    "when it ends, so the sleep and vLLM's drain must both fit, with time for the "
    "workers to exit (VLLM_WORKER_SHUTDOWN_TIMEOUT_SECONDS 5 s; "
    "docs/reference/vllm.md §3.4).",
    category="shutdown",
    options=[Option("margin-seconds", int, 10, "Seconds left after preStop and the drain.", minimum=0)],
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        terminationGracePeriodSeconds: 70
        containers: [{args: [--shutdown-timeout, "45"], lifecycle: {preStop: {sleep: {seconds: 15}}}}]

    Failing (``/spec/template/spec/terminationGracePeriodSeconds``; 60 < 15 + 45 + 10)::

        terminationGracePeriodSeconds: 60
        containers: [{args: [--shutdown-timeout, "45"], lifecycle: {preStop: {sleep: {seconds: 15}}}}]
    """
    margin = options["margin-seconds"]
    for server in model.servers:
        sleep, _ = prestop_sleep(server.container)
        drain = server.int_value("shutdown-timeout", 0)
        if drain is None:
            continue
        sleep = max(sleep or 0, 0)
        if sleep == 0 and drain <= 0:
            continue  # nothing to fit in (shutdown-drain / shutdown-prestop report that)
        grace, explicit = grace_period(server.template)
        need = sleep + max(drain, 0) + margin
        if grace < need:
            # inside the margin vLLM may still finish its teardown in time: a warning; a grace
            # shorter than the preStop sleep and the drain themselves cuts the drain for sure
            certain = grace < sleep + max(drain, 0)
            template = server.template
            path = f"{template.spec_path}/terminationGracePeriodSeconds" if explicit else template.spec_path
            shown = f"{grace} s" + ("" if explicit else " (the default)")
            yield Problem(
                server.resource,
                path,
                f"terminationGracePeriodSeconds is {shown}, shorter than preStop sleep "
                f"{sleep} s + --shutdown-timeout {drain} s + {margin} s margin "
                f"= {need} s: the kubelet kills vLLM "
                + ("while it drains" if certain else "if its teardown takes longer than the rest"),
                None if certain else Severity.WARNING,
            )

"""shutdown-grace: terminationGracePeriodSeconds must cover preStop + drain + a margin.

The kubelet kills the container with SIGKILL ``terminationGracePeriodSeconds`` (default 30)
after it starts the shutdown, and the preStop hook runs inside that period.  vLLM's drain
(``--shutdown-timeout``) starts only after the preStop sleep, so the grace period must be at
least preStop sleep + shutdown-timeout + a margin, here 10 s for the worker teardown
(``VLLM_WORKER_SHUTDOWN_TIMEOUT_SECONDS`` 5 s) and process exit
(docs/reference/vllm-0.33.md §3.4: "terminationGracePeriodSeconds >= preStop sleep +
--shutdown-timeout (+ buffer)"; KServe: 15 + 45 = 60 s).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import (DEFAULT_GRACE_S, SHUTDOWN_MARGIN_S, as_int,
                                         prestop_sleep, vllm_workloads)


@rule(id="shutdown-grace", severity=Severity.ERROR,
      description="terminationGracePeriodSeconds is shorter than preStop sleep + "
                  "--shutdown-timeout + 10 s",
      remediation="Set terminationGracePeriodSeconds ≥ preStop sleep + --shutdown-timeout + 10 "
                  "(for example 15 + 45 + 10 = 70).",
      category="shutdown")
def check(ctx):
    """Passing::

        terminationGracePeriodSeconds: 70
        containers: [{args: [--shutdown-timeout, "45"], lifecycle: {preStop: {sleep: {seconds: 15}}}}]

    Failing (``/spec/template/spec/terminationGracePeriodSeconds``; 60 < 15 + 45 + 10)::

        terminationGracePeriodSeconds: 60
        containers: [{args: [--shutdown-timeout, "45"], lifecycle: {preStop: {sleep: {seconds: 15}}}}]
    """
    for workload, settings in vllm_workloads(ctx):
        sleep, _ = prestop_sleep(settings.container)
        drain = settings.int_value("shutdown-timeout", 0) or 0
        sleep = max(sleep or 0, 0)
        if sleep == 0 and drain <= 0:
            continue  # nothing to fit in (shutdown-drain / shutdown-prestop report that)
        raw = workload.spec.get("terminationGracePeriodSeconds")
        grace = as_int(raw, DEFAULT_GRACE_S)
        grace = DEFAULT_GRACE_S if grace is None else grace
        need = sleep + max(drain, 0) + SHUTDOWN_MARGIN_S
        if grace < need:
            path = (f"{workload.spec_path}/terminationGracePeriodSeconds" if raw is not None
                    else workload.spec_path)
            shown = f"{grace} s" + ("" if raw is not None else " (the default)")
            yield Problem(workload.resource, path,
                          f"terminationGracePeriodSeconds is {shown}, shorter than preStop sleep "
                          f"{sleep} s + --shutdown-timeout {drain} s + {SHUTDOWN_MARGIN_S} s margin "
                          f"= {need} s: the kubelet kills vLLM while it drains")

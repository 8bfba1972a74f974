"""gateway-backend-lifetime: the gateway must stop reusing a backend connection before the
model pod behind it stops taking requests.

When a model pod is deleted, its removal from the Service's EndpointSlices and its preStop
hook start at the same time, and kube-proxy drops it from new connections a few seconds
later (docs/reference/cluster.md, "Pod termination and Service endpoints"); a TCP
connection opened before that keeps reaching the pod.  The model gateway (gateway/) pools
keep-alive connections to each model's Service and sends no new request on a connection
opened more than ``GATEWAY_BACKEND_MAX_LIFETIME`` seconds ago (default 10; idle ones close
after ``GATEWAY_BACKEND_IDLE_TIMEOUT``, at most the lifetime).  So the last new request can
reach a deleted pod up to propagation + lifetime seconds after its deletion: the vLLM
server's preStop sleep, during which it still serves, must cover that, or the request lands
on a server that has begun its drain and refuses it.

The gateway is the container whose environment sets ``GATEWAY_ROUTES_FILE`` (its
configuration is its environment, gateway/README.md); every vLLM API server of every
overlay is its backend.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from llmfleet.model.pods import prestop_sleep
from llmfleet.model.workloads import Container
from llmfleet.pipeline.lint.api import FleetModel, Option, Options, Problem, Severity, rule

GATEWAY_MARKER = "GATEWAY_ROUTES_FILE"
LIFETIME_ENV = "GATEWAY_BACKEND_MAX_LIFETIME"
IDLE_ENV = "GATEWAY_BACKEND_IDLE_TIMEOUT"
#: The gateway's own defaults (gateway/llm_gateway/config.py).
DEFAULT_LIFETIME_S = 10.0
DEFAULT_IDLE_S = 4.0


def _seconds(raw: object, default: float) -> float | None:
    """The setting in seconds (its default when unset); None when the gateway would refuse it."""
    if raw is None:
        return default
    try:
        value = float(str(raw))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _env(container: Container) -> dict[str, tuple[int, object]]:
    env = container.data.get("env")
    out: dict[str, tuple[int, object]] = {}
    if isinstance(env, list):
        for index, item in enumerate(env):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                out[item["name"]] = (index, item.get("value"))
    return out


@rule(
    id="gateway-backend-lifetime",
    severity=Severity.ERROR,
    scope="fleet",
    description="The gateway may send a request on a pooled connection to a model pod after "
    "that pod's preStop sleep has ended",
    remediation="Keep GATEWAY_BACKEND_MAX_LIFETIME + the propagation margin at most the "
    "smallest preStop sleep of the models (shorten the lifetime, or lengthen the "
    "preStop sleep and terminationGracePeriodSeconds with it).",
    rationale="A deleted pod leaves the Service while its preStop runs, but pooled keep-alive "
    "connections keep reaching it; once preStop ends vLLM drains and refuses new "
    "requests, which fail at the client during every rollout and scale-in.",
    category="gateway",
    options=[
        Option(
            "propagation-seconds",
            float,
            5.0,
            "Seconds for an endpoint removal to reach kube-proxy on every node.",
            minimum=0,
        )
    ],
)
def check(fleet: FleetModel, options: Options) -> Iterator[Problem]:
    """Passing: the gateway sets ``GATEWAY_BACKEND_MAX_LIFETIME: "10"`` and every model's
    vLLM container has ``lifecycle: {preStop: {sleep: {seconds: 15}}}`` (10 + 5 ≤ 15).

    Failing (the model's ``.../lifecycle/preStop/sleep/seconds``): the same gateway in front of
    a model with ``preStop: {sleep: {seconds: 5}}``; or (the gateway's
    ``.../env/N/value``) a lifetime that is not a number of seconds, or an idle timeout
    longer than the lifetime (the gateway refuses both at start).
    """
    margin = options["propagation-seconds"]
    gateways = []
    for model in fleet.models():
        for workload in model.workloads:
            for template in workload.templates:
                for container in template.containers:
                    env = _env(container)
                    if GATEWAY_MARKER not in env:
                        continue
                    settings = {}
                    for variable, default in ((LIFETIME_ENV, DEFAULT_LIFETIME_S), (IDLE_ENV, DEFAULT_IDLE_S)):
                        index, raw = env.get(variable, (None, None))
                        settings[variable] = _seconds(raw, default)
                        if settings[variable] is None:
                            yield Problem(
                                workload.resource,
                                f"{container.path}/env/{index}/value",
                                f"{variable} is {raw!r}, not a positive number of "
                                "seconds: the gateway refuses to start",
                            )
                    lifetime, idle = settings[LIFETIME_ENV], settings[IDLE_ENV]
                    if lifetime is None:
                        continue
                    if idle is not None and idle > lifetime:
                        index = env.get(IDLE_ENV, env.get(LIFETIME_ENV, (None, None)))[0]
                        where = f"{container.path}/env/{index}/value" if index is not None else container.path
                        yield Problem(
                            workload.resource,
                            where,
                            f"{IDLE_ENV} ({idle:g} s) is longer than {LIFETIME_ENV} "
                            f"({lifetime:g} s): the gateway refuses to start",
                        )
                    gateways.append((workload.resource, container.name, lifetime))
    if not gateways:
        return
    resource, name, lifetime = max(gateways, key=lambda g: g[2])
    need = lifetime + margin
    for overlay, model in sorted(fleet.overlays.items()):
        for server in model.api_servers:
            sleep, path = prestop_sleep(server.container)
            seconds = max(sleep or 0, 0)
            if seconds >= need:
                continue
            yield Problem(
                server.resource,
                path,
                f"preStop sleep of container {server.container.name!r} is {seconds} s, "
                f"but the gateway ({resource.ref}, container {name!r}) can send a new "
                f"request on a connection to this pod for {lifetime:g} s "
                f"({LIFETIME_ENV}) after kube-proxy drops it ({margin:g} s): needs "
                f"a preStop sleep of at least {math.ceil(need)} s, or a shorter "
                f"lifetime, or requests to overlay {overlay!r} fail during rollouts",
            )

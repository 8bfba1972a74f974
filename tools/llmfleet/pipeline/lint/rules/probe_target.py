"""probe-target: probes must hit vLLM's port and a path vLLM serves without a token.

vLLM 0.33.0 listens on ``--port`` (default 8000) and serves ``/health``, ``/ping``,
``/metrics``, ``/version``, ``/load`` and ``/v1/models`` (docs/reference/vllm.md §3.1);
there is no ``/live`` or ``/ready`` (§3.1 "Not available").  With ``--api-key`` or env
``VLLM_API_KEY``, every path under ``/v1`` (and ``/v2``, ``/inference``, ``/cohere``) needs
the token, so a ``/v1/models`` probe gets 401 forever (§2.2 "Frontend", §3.5).  A probe on
another port, or on a named port the container does not declare, never succeeds
(kube-linter's liveness-port/readiness-port/startup-port check only the declared ports:
docs/reference/tooling.md §3.1; here the port must also be vLLM's).  For the other servers
(docs/reference/servers.md) an undeclared named port is an error, and a port the server does not
listen on that no container of the pod declares a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmfleet.model.k8s import to_int
from llmfleet.model.pods import PROBES
from llmfleet.model.servers import other_servers
from llmfleet.model.workloads import Container
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

SERVED_PATHS = ("/health", "/ping", "/metrics", "/version", "/load", "/v1/models")
GUARDED_PREFIXES = ("/v1", "/v2", "/inference", "/cohere")


def resolve_port(container: Container, port: Any) -> tuple[int | None, str]:
    """``(number, problem)`` for a probe port (a number or a named container port)."""
    number = to_int(port, None)
    if number is not None:
        return number, ""
    if isinstance(port, str) and port:
        for item in container.ports:
            if item.get("name") == port:
                value = to_int(item.get("containerPort"), None)
                if value is not None:
                    return value, ""
        return None, f"names port {port!r}, which container {container.name!r} does not declare"
    return None, "has no port"


def declared_ports(container: Container) -> set[int]:
    return {p for p in (to_int(item.get("containerPort"), None) for item in container.ports) if p is not None}


@rule(
    id="probe-target",
    severity=Severity.ERROR,
    description="A probe of the vLLM container targets another port than vLLM's --port, an "
    "undeclared named port, a path vLLM does not serve, or a /v1 path while an API "
    "key is set (and for other LLM servers, a port they do not listen on)",
    remediation="Probe httpGet {path: /health, port: 8000} (or the named port of "
    "containerPort 8000); never /v1/models when an API key is set.",
    rationale="A probe that cannot succeed keeps the pod unready or restarts it forever; "
    "vLLM's --api-key guards every /v1 route, so a probe there gets 401 "
    "(docs/reference/vllm.md §3.1).",
    category="probe",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        ports: [{name: http, containerPort: 8000}]
        readinessProbe: {httpGet: {path: /health, port: http}}

    Failing (``/spec/template/spec/containers/0/readinessProbe/httpGet/port``)::

        ports: [{name: http, containerPort: 8000}]
        readinessProbe: {httpGet: {path: /health, port: 8080}}

    Failing (``.../livenessProbe/httpGet/path``): ``path: /v1/models`` with env VLLM_API_KEY set.
    """
    yield from _other_servers(model)
    for server in model.api_servers:
        container = server.container
        vllm_port = server.port
        if vllm_port is None:
            continue
        api_key = server.api_key()
        for kind in PROBES:
            probe = container.probe(kind)
            if probe is None:
                continue
            base = f"{container.path}/{kind}"
            for handler in ("httpGet", "tcpSocket"):
                action = probe.get(handler)
                if not isinstance(action, dict):
                    continue
                number, problem = resolve_port(container, action.get("port"))
                if problem:
                    yield Problem(
                        server.resource,
                        f"{base}/{handler}/port",
                        f"{kind} of container {container.name!r} {problem}",
                    )
                elif number != vllm_port:
                    yield Problem(
                        server.resource,
                        f"{base}/{handler}/port",
                        f"{kind} of container {container.name!r} targets port {number}, "
                        f"but vLLM listens on {vllm_port} (--port)",
                    )
                elif container.ports and number not in declared_ports(container):
                    yield Problem(
                        server.resource,
                        f"{base}/{handler}/port",
                        f"{kind} of container {container.name!r} targets port {number}, "
                        "which the container's ports do not expose",
                    )
                if handler != "httpGet":
                    continue
                path = str(action.get("path") or "/").split("?", 1)[0].rstrip("/") or "/"
                if path not in SERVED_PATHS:
                    yield Problem(
                        server.resource,
                        f"{base}/httpGet/path",
                        f"{kind} of container {container.name!r} requests {path!r}, which "
                        f"vLLM does not serve (use /health)",
                    )
                elif api_key is not None and path.startswith(GUARDED_PREFIXES):
                    yield Problem(
                        server.resource,
                        f"{base}/httpGet/path",
                        f"{kind} of container {container.name!r} requests {path!r}, which "
                        f"needs the API key ({api_key.where}): the probe gets 401; "
                        "use /health",
                    )


def _other_servers(model: OverlayModel) -> Iterator[Problem]:
    """SGLang, TGI, Ollama, NIM, Triton and llama.cpp: a probe on a named port the container
    does not declare never runs (an error); one on a port the server does not listen on, that
    no container of the pod declares, fails (a warning: the server's port is read from its
    flags and env, which a wrapper script may change)."""
    for server in other_servers(model):
        container = server.container
        if not container.workload.runs_pods:
            continue  # a runtime template: its platform rewrites ports and probes
        pod_ports = {p for c in container.template.containers for p in declared_ports(c)}
        for kind in PROBES:
            probe = container.probe(kind)
            if probe is None:
                continue
            for handler in ("httpGet", "tcpSocket"):
                action = probe.get(handler)
                if not isinstance(action, dict):
                    continue
                path = f"{container.path}/{kind}/{handler}/port"
                number, problem = resolve_port(container, action.get("port"))
                if problem:
                    yield Problem(server.resource, path, f"{kind} of container {container.name!r} {problem}")
                elif number is not None and number not in server.ports and number not in pod_ports:
                    yield Problem(
                        server.resource,
                        path,
                        f"{kind} of container {container.name!r} targets port {number}, but "
                        f"{server.engine.title} listens on {', '.join(map(str, sorted(server.ports)))} "
                        "and no container of the pod declares it: the probe cannot succeed",
                        Severity.WARNING,
                    )

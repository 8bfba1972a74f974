"""server-loopback: a server that listens on 127.0.0.1 cannot be reached from outside its pod.

SGLang's ``--host`` defaults to ``127.0.0.1`` (``server_args.py``: ``host = "127.0.0.1"``), and
llama.cpp's ``llama-server`` too (``--host``, env ``LLAMA_ARG_HOST``, default 127.0.0.1; the
project's own server images set ``LLAMA_ARG_HOST=0.0.0.0``).  The kubelet's httpGet and tcpSocket
probes and every Service connect to the pod's IP, not to its loopback: a server bound to
127.0.0.1 fails its probes (restarted, or never Ready) and answers no Service.  Judged when
something reaches the pod that way (a Service selecting it, or such a probe); an error for
SGLang, whose default no image changes, a warning for llama.cpp in an image of another project
(it may set ``LLAMA_ARG_HOST`` itself).  docs/reference/servers.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.k8s import Resource
from llmfleet.model.pods import PROBES
from llmfleet.model.servers import LlmServer, other_servers
from llmfleet.model.vllm import images
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: engine: (env that sets the host, image repositories whose image sets it to 0.0.0.0)
DEFAULT_LOOPBACK: dict[str, tuple[str, tuple[str, ...]]] = {
    "sglang": ("", ()),
    "llamacpp": ("LLAMA_ARG_HOST", ("ggml-org/llama.cpp", "ggerganov/llama.cpp")),
}


def _host(server: LlmServer, env_name: str) -> str | None:
    """The host the server binds, or None when it cannot be told (a reference)."""
    value = server.flag("--host")
    if value is None and env_name:
        value = server.env(env_name)
    if value is None:
        return ""
    return None if "$" in value or value.startswith("<") else value


def _reached(model: OverlayModel, server: LlmServer) -> str:
    """How the pod is reached over its IP: a Service that selects it, or a probe."""
    for service in model.of_kind("Service"):
        if any(t is server.template for t in model.service_templates(service)):
            return f"Service {service.name!r} sends it traffic"
    for kind in PROBES:
        probe = server.container.probe(kind)
        if probe and any(isinstance(probe.get(h), dict) for h in ("httpGet", "tcpSocket")):
            return f"its {kind} connects to the pod's IP"
    return ""


@rule(
    id="server-loopback",
    severity=Severity.ERROR,
    description="An SGLang or llama.cpp server listens on 127.0.0.1 (its default) while a Service "
    "or a probe reaches it on the pod's IP",
    remediation="Pass --host 0.0.0.0 (llama.cpp: or env LLAMA_ARG_HOST=0.0.0.0).",
    rationale="Probes and Services connect to the pod IP; a server bound to the loopback refuses "
    "them: the pod fails its probes and serves nothing (SGLang server_args host default "
    "127.0.0.1; docs/reference/servers.md).",
    category="server",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        args: [--model-path, Qwen/Qwen3-8B, --host, 0.0.0.0, --port, "30000"]

    Failing (``/spec/template/spec/containers/0``; no ``--host``, and a probe on the pod IP)::

        containers: [{name: sglang, image: "lmsysorg/sglang:v0.5.5", command: [python3, -m, sglang.launch_server], args: [--model-path, Qwen/Qwen3-8B], readinessProbe: {httpGet: {path: /health, port: 30000}}}]
    """
    for server in other_servers(model):
        known = DEFAULT_LOOPBACK.get(server.engine.id)
        if known is None or not server.container.workload.runs_pods:
            continue
        env_name, binding_images = known
        host = _host(server, env_name)
        if host is None or (host and host not in LOOPBACK):
            continue
        image = images.parse(server.container.image)
        if not host and any(word in image.repository.lower() for word in binding_images):
            continue  # the image sets LLAMA_ARG_HOST=0.0.0.0
        reached = _reached(model, server)
        if not reached:
            continue
        resource: Resource = server.resource
        bound = f"--host {host}" if host else "the default host 127.0.0.1"
        certain = server.engine.id == "sglang" or bool(host)
        yield Problem(
            resource,
            server.container.path,
            f"container {server.container.name!r} runs {server.engine.title} on {bound}, but "
            f"{reached}: a server on the loopback refuses connections to the pod's IP; pass "
            "--host 0.0.0.0",
            None if certain else Severity.WARNING,
        )

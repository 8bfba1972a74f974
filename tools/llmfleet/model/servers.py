"""LLM servers other than vLLM, recognised in a container: SGLang, TGI, Ollama, NVIDIA NIM,
Triton, llama.cpp and LocalAI, with what the lint rules need of each (its port, how it takes an API
key, its health endpoints, whether it listens before the model is loaded).

vLLM itself is read in depth by :mod:`llmfleet.model.vllm.server`; :func:`llm_servers` gives
every server of a model, vLLM included, in one shape.  The facts and their upstream sources
are in docs/reference/servers.md.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmfleet.model.k8s import Resource
from llmfleet.model.vllm import images
from llmfleet.model.workloads import Container, PodTemplate

if TYPE_CHECKING:
    from llmfleet.model.overlay import OverlayModel


@dataclass(frozen=True)
class Engine:
    id: str
    title: str
    image_words: tuple[str, ...]  # substrings of registry/repository (lower case)
    commands: tuple[str, ...]  # a word of the command line that starts the server
    port: int
    port_flags: tuple[str, ...] = ("--port",)
    port_env: tuple[str, ...] = ()
    auth_flags: tuple[str, ...] = ()  # empty: the server has no authentication at all
    auth_env: tuple[str, ...] = ()
    model_flags: tuple[str, ...] = ()
    model_env: tuple[str, ...] = ()
    health: tuple[str, ...] = ("/health",)
    #: True when the HTTP port answers only once the model is loaded (a liveness probe then
    #: fails for the whole load).
    listens_after_load: bool = True
    cpu_only: bool = False
    #: True when the port accepts connections during the load although HTTP answers 503 until
    #: the model is loaded (llama.cpp): a tcpSocket probe passes, an httpGet probe fails.
    tcp_during_load: bool = False
    #: The API category an ``auth_flags`` value must name to guard inference (Triton's
    #: ``--http-restricted-api=<apis>:<header>=<value>``); empty when any value does.
    auth_category: str = ""
    #: Flags (each with its aliases) whose product is the GPUs one server instance uses, the
    #: env var of the first, and the flag of its node count (the GPUs spread over that many pods).
    parallel_flags: tuple[tuple[str, ...], ...] = ()
    parallel_env: str = ""
    nodes_flags: tuple[str, ...] = ()
    #: Flags that change how GPUs map to parallel sizes (SGLang's data parallelism): not judged.
    parallel_unknown_flags: tuple[str, ...] = ()
    #: Other ports the server listens on by default (Triton's gRPC and metrics ports), with the
    #: flags that move them.
    other_ports: tuple[tuple[int, str], ...] = ()


VLLM = Engine(
    "vllm",
    "vLLM",
    ("vllm",),
    ("vllm",),
    8000,
    ("--port",),
    (),
    ("--api-key",),
    ("VLLM_API_KEY",),
    ("--model",),
    (),
    ("/health",),
)
ENGINES: tuple[Engine, ...] = (
    Engine(
        "sglang",
        "SGLang",
        ("lmsysorg/sglang", "/sglang"),
        ("sglang.launch_server",),
        30000,
        auth_flags=("--api-key",),
        model_flags=("--model-path", "--model"),
        health=("/health", "/health_generate"),
        parallel_flags=(
            ("--tp-size", "--tp", "--tensor-parallel-size"),
            ("--pp-size", "--pipeline-parallel-size"),
        ),
        nodes_flags=("--nnodes",),
        parallel_unknown_flags=("--dp-size", "--dp", "--data-parallel-size", "--enable-dp-attention"),
    ),
    Engine(
        "tgi",
        "Text Generation Inference",
        ("text-generation-inference", "huggingface/tgi-gaudi"),
        ("text-generation-launcher",),
        80,
        port_env=("PORT",),
        auth_flags=("--api-key",),
        auth_env=("API_KEY",),
        model_flags=("--model-id",),
        model_env=("MODEL_ID",),
        parallel_flags=(("--num-shard",),),
        parallel_env="NUM_SHARD",
    ),
    Engine(
        "ollama",
        "Ollama",
        ("ollama",),
        ("ollama",),
        11434,
        port_flags=(),
        port_env=("OLLAMA_HOST",),
        model_env=("MODEL_ID",),
        health=("/", "/api/version"),
        listens_after_load=False,
    ),
    Engine(
        "nim",
        "NVIDIA NIM",
        ("nvcr.io/nim/",),
        (),
        8000,
        port_flags=(),
        port_env=("NIM_SERVER_PORT",),
        health=("/v1/health/ready", "/v1/health/live"),
    ),
    Engine(
        "triton",
        "Triton Inference Server",
        ("tritonserver",),
        ("tritonserver",),
        8000,
        port_flags=("--http-port",),
        auth_flags=("--http-restricted-api",),
        auth_category="inference",
        other_ports=((8001, "--grpc-port"), (8002, "--metrics-port")),
        health=("/v2/health/ready", "/v2/health/live"),
    ),
    Engine(
        "llamacpp",
        "llama.cpp server",
        ("llama.cpp", "llama-cpp", "llamacpp"),
        ("llama-server", "/app/llama-server", "/llama-server"),
        8080,
        port_env=("LLAMA_ARG_PORT",),
        auth_flags=("--api-key", "--api-key-file"),
        auth_env=("LLAMA_API_KEY",),
        model_flags=("-m", "--model", "-hf", "-hfr", "--hf-repo", "-mu", "--model-url"),
        model_env=("LLAMA_ARG_MODEL", "LLAMA_ARG_HF_REPO", "LLAMA_ARG_MODEL_URL"),
        health=("/health", "/v1/health"),
        tcp_during_load=True,
    ),
    Engine(
        "localai",
        "LocalAI",
        ("localai/localai", "go-skynet/local-ai", "mudler/localai"),
        ("local-ai",),
        8080,
        port_flags=("--address",),
        port_env=("LOCALAI_ADDRESS", "ADDRESS"),
        auth_flags=("--api-keys",),
        auth_env=("LOCALAI_API_KEY", "API_KEY"),
        health=("/readyz", "/healthz"),
        listens_after_load=False,
    ),
)
#: Routers and gateways in front of servers, which are not servers themselves.
NOT_SERVERS = ("router", "gateway", "proxy", "epp")


def _words(container: Container) -> list[str]:
    """command + args, with ``sh -c`` scripts split into words."""
    out: list[str] = []
    for word in [*container.command, *container.args]:
        if any(ch in word for ch in " \n\t"):
            try:
                out += shlex.split(word.replace("\\\n", " "), comments=True)
            except ValueError:
                out += word.split()
        else:
            out.append(word)
    return out


def detect(container: Container) -> Engine | None:
    """The non-vLLM server a container runs, from its command line, else its image."""
    words = _words(container)
    image = images.parse(container.image)
    where = f"{image.registry}/{image.repository}".lower()
    if any(w in where for w in NOT_SERVERS) or any(
        any(n in w for n in ("sglang_router", "dynamo.")) for w in words
    ):
        return None
    for engine in ENGINES:
        if engine.commands and any(
            w.rsplit("/", 1)[-1] in engine.commands or w in engine.commands for w in words
        ):
            return engine
    for engine in ENGINES:
        if any(w in where for w in engine.image_words):
            return engine
    return None


@dataclass(frozen=True)
class LlmServer:
    """A container serving an LLM over HTTP, of any engine."""

    engine: Engine
    container: Container
    words: tuple[str, ...]
    #: ConfigMap data the container's env takes by reference (configMapKeyRef, envFrom
    #: configMapRef) when the ConfigMap is in the input: name → value.
    from_configmaps: tuple[tuple[str, str], ...] = ()

    @property
    def resource(self) -> Resource:
        return self.container.resource

    @property
    def template(self) -> PodTemplate:
        return self.container.template

    def flag(self, *names: str) -> str | None:
        words = list(self.words)
        for i, word in enumerate(words):
            for name in names:
                if word == name and i + 1 < len(words):
                    return words[i + 1]
                if word.startswith(name + "="):
                    return word.split("=", 1)[1]
        return None

    def flags(self, *names: str) -> list[str]:
        """Every value of a flag that may be repeated."""
        words, found = list(self.words), []
        for i, word in enumerate(words):
            for name in names:
                if word == name and i + 1 < len(words):
                    found.append(words[i + 1])
                elif word.startswith(name + "="):
                    found.append(word.split("=", 1)[1])
        return found

    def _guards(self, value: str) -> bool:
        """A ``<apis>:<header>=<value>`` restriction that names the engine's auth category."""
        apis, _, restriction = value.partition(":")
        return bool(restriction) and self.engine.auth_category in {a.strip() for a in apis.split(",")}

    def env(self, *names: str) -> str | None:
        resolved = dict(self.from_configmaps)
        for name in names:
            found = self.container.env_var(name)
            if found is not None:
                item = found[1]
                if item.get("valueFrom"):
                    return resolved.get(name, "<from a reference>")
                return str(item.get("value") or "")
        for name in names:
            if name in resolved:  # envFrom configMapRef
                return resolved[name]
        return None

    @property
    def port(self) -> int:
        value = self.flag(*self.engine.port_flags) if self.engine.port_flags else None
        if value is None and self.engine.port_env:
            value = self.env(*self.engine.port_env)
        if value and ":" in value:  # an address (OLLAMA_HOST, LocalAI's :8080)
            value = value.rsplit(":", 1)[1]
        try:
            return int(str(value))
        except (TypeError, ValueError):
            return self.engine.port

    @property
    def ports(self) -> set[int]:
        """Every port the server listens on: its HTTP port and the engine's others."""
        found = {self.port}
        for default, flag in self.engine.other_ports:
            try:
                found.add(int(str(self.flag(flag) or default)))
            except ValueError:
                found.add(default)
        return found

    @property
    def model_id(self) -> str:
        return self.flag(*self.engine.model_flags) or self.env(*self.engine.model_env) or ""

    def parallel(self) -> tuple[int, int, str] | None:
        """(GPUs one instance uses, pods it spans, where it is set) from the engine's parallel
        flags; None when none is set, a value is not a number, or the layout is not judged."""
        if not self.engine.parallel_flags or any(
            self.flag(f) is not None for f in self.engine.parallel_unknown_flags
        ):
            return None
        if any(w in self.engine.parallel_unknown_flags for w in self.words):
            return None
        size, where = 1, []
        for i, names in enumerate(self.engine.parallel_flags):
            value = self.flag(*names)
            if value is None and i == 0 and self.engine.parallel_env:
                value = self.env(self.engine.parallel_env)
                if value is not None:
                    where.append(f"env {self.engine.parallel_env}")
            elif value is not None:
                where.append(names[0])
            if value is None:
                continue
            try:
                size *= int(str(value))
            except ValueError:
                return None
        if not where:
            return None
        nodes_text = self.flag(*self.engine.nodes_flags) if self.engine.nodes_flags else None
        try:
            nodes = int(str(nodes_text)) if nodes_text is not None else 1
        except ValueError:
            return None
        return size, max(nodes, 1), ", ".join(where)

    def authenticated(self) -> bool | None:
        """True when an API key is set, False when none is (or the engine has none), None when
        an envFrom source may set it."""
        if not self.engine.auth_flags and not self.engine.auth_env:
            return False
        if self.engine.auth_category:
            return any(self._guards(value) for value in self.flags(*self.engine.auth_flags))
        if self.flag(*self.engine.auth_flags):
            return True
        value = self.env(*self.engine.auth_env)
        if value:
            return True
        if self.engine.auth_env and self.container.env_from:
            return None
        return False


#: Flags and env vars that name the model across launchers the engines above do not cover
#: (Dynamo's ``python -m dynamo.vllm --model``, wrappers): enough to know the model's size.
GENERIC_MODEL_FLAGS = ("--model", "--model-path", "--model-id", "--served-model")
GENERIC_MODEL_ENV = ("MODEL_ID", "MODEL_NAME", "MODEL")


def model_ids_named(container: Container) -> list[str]:
    """Hugging Face-style model ids (``org/name``) a container's command line or env names
    with a generic model flag, whatever runs it."""
    words = _words(container)
    found = []
    for i, word in enumerate(words):
        for flag in GENERIC_MODEL_FLAGS:
            if word == flag and i + 1 < len(words):
                found.append(words[i + 1])
            elif word.startswith(flag + "="):
                found.append(word.split("=", 1)[1])
    for name in GENERIC_MODEL_ENV:
        hit = container.env_var(name)
        if hit is not None and isinstance(hit[1].get("value"), str):
            found.append(hit[1]["value"])
    return [m for m in found if "/" in m and "$" not in m and not m.startswith(("/", "."))]


def other_servers(model: OverlayModel) -> list[LlmServer]:
    """Containers that run a known non-vLLM LLM server."""
    found = []
    for template in model.templates:
        for container in template.main_containers:
            if model.server_of(container) is not None:
                continue
            engine = detect(container)
            if engine is not None:
                found.append(
                    LlmServer(engine, container, tuple(_words(container)), _configmap_env(model, container))
                )
    return found


def _configmap_env(model: OverlayModel, container: Container) -> tuple[tuple[str, str], ...]:
    """Env values the container takes from ConfigMaps of the input: ``envFrom`` configMapRef
    entries (prefixed as Kubernetes prefixes them), then ``valueFrom.configMapKeyRef`` (which
    wins, as an explicit env entry does)."""
    namespace = container.template.namespace
    values: dict[str, str] = {}
    for source in container.env_from:
        ref = source.get("configMapRef")
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
            continue
        found = model.find_configmap(ref["name"], namespace)
        data = found.data.get("data") if found is not None else None
        if isinstance(data, dict):
            prefix = str(source.get("prefix") or "")
            values.update(
                {f"{prefix}{k}": str(v) for k, v in data.items() if isinstance(v, (str, int, float))}
            )
    for item in container.env:
        ref = (
            item.get("valueFrom", {}).get("configMapKeyRef")
            if isinstance(item.get("valueFrom"), dict)
            else None
        )
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
            continue
        found = model.find_configmap(ref["name"], namespace)
        data = found.data.get("data") if found is not None else None
        if isinstance(data, dict) and isinstance(data.get(ref.get("key")), (str, int, float)):
            values[str(item.get("name"))] = str(data[ref.get("key")])
    return tuple(values.items())

"""A vLLM server as read from a pod: its settings (flag, value and where each came from), model, served names, parallelism, port and API key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmfleet.model.k8s import Resource, to_int
from llmfleet.model.vllm import flags as vflags
from llmfleet.model.vllm import images
from llmfleet.model.vllm.expansion import Environment
from llmfleet.model.workloads import Container, PodTemplate, Workload

DEFAULT_PORT = 8000


SHELLS = {"sh", "bash", "dash", "ash", "zsh"}


SHELL_SEPARATORS = {"&&", "||", ";", "|", "&", "\n"}


PYTHONS = re.compile(r"^python(\d+(\.\d+)?)?$")


#: Entry points.
VLLM_SERVE = "vllm serve"  # the CLI (recommended)


OPENAI_API_SERVER = "openai.api_server"  # python -m vllm.entrypoints.openai.api_server


LEGACY_API_SERVER = "api_server"  # python -m vllm.entrypoints.api_server (demo server)


IMAGE = "image"  # no command: the image ENTRYPOINT (vllm serve)


#: Workloads whose pods run Ray (KubeRay): vLLM runs inside Ray Serve replicas, configured by
#: the serve application, not by the container's command line.
RAY_KINDS = frozenset({"RayService", "RayCluster", "RayJob", "RayClusterFleet"})  # + AIBrix's fleet


#: ``vllm bench``, ``vllm run-batch`` and other subcommands are not the server.
OPENAI_MODULE = "vllm.entrypoints.openai.api_server"


LEGACY_MODULE = "vllm.entrypoints.api_server"


@dataclass
class Setting:
    """One option as set in a manifest."""

    name: str  # long option without dashes, e.g. "tensor-parallel-size"
    value: Any  # str from the command line, YAML value from the config file
    resource: Resource  # where it is written (the workload or the ConfigMap)
    path: str  # JSON pointer in ``resource``
    source: str  # "args", "command", "config" or "env"
    written: str = ""  # as written: "--tensor_parallel_size", "-tp", "tensor-parallel-size"
    known: bool = True  # the option exists in the vLLM version judged
    resolved: bool = True  # False when it refers to a value the input does not hold
    raw: str = ""  # the text before $(VAR) expansion, when it differed

    @property
    def where(self) -> str:
        if self.source == "config":
            return f"{self.written!r} in {self.resource.ref} {self.path}"
        return f"{self.written!r} at {self.path}"

    @property
    def shown(self) -> str:
        """The value as a message may show it: what is written, for an unresolved one."""
        return self.raw if not self.resolved and self.raw else str(self.value)


@dataclass(eq=False)
class VllmServer:
    """The effective vLLM options of one container: CLI over config file over defaults."""

    container: Container
    environment: Environment
    cli: list[Setting] = field(default_factory=list)  # in command-line order
    config: list[Setting] = field(default_factory=list)  # keys of the --config file that apply
    config_ignored: list[Setting] = field(default_factory=list)  # `key: false`, dropped by vLLM
    model: Setting | None = None  # positional, --model or `model:`
    entrypoint: str = ""
    repeated_serve: Setting | None = None  # args start with "vllm serve"/"serve" on the image
    config_path: str = ""
    config_resource: Resource | None = None
    config_pointer: str = ""
    config_problem: str = ""  # why the --config file could not be read
    script: bool = False  # the command line comes from a shell script

    def __repr__(self) -> str:
        return f"VllmServer({self.container!r}, model={self.model_id!r})"

    # -- identity ----------------------------------------------------------------------------
    @property
    def template(self) -> PodTemplate:
        return self.container.template

    @property
    def workload(self) -> Workload:
        return self.container.template.workload

    @property
    def resource(self) -> Resource:
        return self.container.template.workload.resource

    @property
    def image(self) -> images.Image:
        return images.parse(self.container.image)

    @property
    def version(self) -> str:
        """The vLLM version judged: the image tag's, else the newest known."""
        return self.image.vllm_version or vflags.NEWEST

    @property
    def release_unknown(self) -> bool:
        """A build whose vLLM release cannot be told (another publisher's image with a tag
        that names no vLLM release): advice that holds only for the newest release is not
        given for it.  The project's own images at ``latest`` (or no tag) are the newest."""
        image = self.image
        return image.vllm_version is None and not image.repository.lower().startswith("vllm/")

    # -- settings ----------------------------------------------------------------------------
    def get(self, name: str) -> Setting | None:
        """The effective setting of ``name`` (long option without dashes)."""
        for setting in reversed(self.cli):
            if setting.name == name:
                return setting
        for setting in reversed(self.config):
            if setting.name == name:
                return setting
        return None

    def is_unresolved(self, name: str) -> bool:
        setting = self.get(name)
        return setting is not None and not setting.resolved

    def value(self, name: str, default: Any = None) -> Any:
        """The value of ``name``; ``default`` when not set; None when it cannot be known."""
        setting = self.get(name)
        if setting is None:
            return default
        return setting.value if setting.resolved else None

    def int_value(self, name: str, default: int | None = None) -> int | None:
        """An integer option; ``default`` when not set; None when unknown or not a number."""
        setting = self.get(name)
        if setting is None:
            return default
        if not setting.resolved:
            return None
        return to_int(setting.value)

    def flag(self, name: str, default: bool = False) -> bool | None:
        """A boolean option (``--x`` / ``--no-x`` / ``x: true``); None when unknown."""
        setting = self.get(name)
        if setting is None:
            return default
        if not setting.resolved:
            return None
        value = setting.value
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value.strip().lower() not in ("false", "0", "no", "off", "")
        return bool(value)

    @property
    def all(self) -> list[Setting]:
        """Every option as written: the config file's (ignored ``key: false`` included), then
        the command line's."""
        return [*self.config, *self.config_ignored, *self.cli]

    @property
    def headless(self) -> bool:
        """A multi-node worker (``--headless``): it runs engine ranks and serves no HTTP API."""
        return bool(self.flag("headless"))

    @property
    def nodes(self) -> int | None:
        """Nodes one engine spans (``--nnodes``, default 1); None when unknown.  An
        ``--nnodes $(LWS_GROUP_SIZE)`` that only the LeaderWorkerSet controller resolves is
        the group's size (one node per pod)."""
        value = self.int_value("nnodes", 1)
        if value is None and self.is_unresolved("nnodes") and self.workload.group_size > 1:
            return self.workload.group_size
        return value

    @property
    def port(self) -> int | None:
        """The port vLLM listens on (``--port``, default 8000); None when unknown."""
        return self.int_value("port", DEFAULT_PORT)

    @property
    def model_id(self) -> str:
        """The model (a Hugging Face id or path) when known, else ""."""
        if self.model is None or not self.model.resolved:
            return ""
        return str(self.model.value)

    @property
    def model_unresolved(self) -> bool:
        return self.model is not None and not self.model.resolved

    @property
    def served_model_names(self) -> list[str]:
        """``--served-model-name`` (one or several), else the model; [] when unknown."""
        setting = self.get("served-model-name")
        if setting is not None:
            if not setting.resolved:
                return []
            served = setting.value
            if isinstance(served, list):
                return [str(n) for n in served if str(n).strip()]
            if isinstance(served, str) and served.strip():
                return served.split()
        return [self.model_id] if self.model_id else []

    @property
    def served_model_name(self) -> str:
        """The ``model_name`` metric label: the first served name (docs/reference/vllm.md §1.1)."""
        names = self.served_model_names
        return names[0] if names else ""

    @property
    def tensor_parallel(self) -> int | None:
        return self.int_value("tensor-parallel-size", 1)

    @property
    def pipeline_parallel(self) -> int | None:
        return self.int_value("pipeline-parallel-size", 1)

    @property
    def data_parallel(self) -> int | None:
        """Data-parallel ranks this server runs locally (``--data-parallel-size-local``, else
        ``--data-parallel-size``)."""
        local = self.int_value("data-parallel-size-local")
        if self.is_unresolved("data-parallel-size-local"):
            return None
        return local if local else self.int_value("data-parallel-size", 1)

    @property
    def world_size(self) -> int | None:
        """GPUs one vLLM instance uses: tensor × pipeline (× data) parallel; None if unknown."""
        parts = (self.tensor_parallel, self.pipeline_parallel, self.data_parallel)
        if any(p is None for p in parts):
            return None
        tp, pp, dp = (int(p) for p in parts)  # type: ignore[arg-type]
        return tp * pp * dp

    def api_key(self) -> Setting | None:
        """Where an API key is set: --api-key (CLI or config) or env VLLM_API_KEY."""
        setting = self.get("api-key")
        if setting is not None and setting.value not in (None, "", False):
            return setting
        found = self.container.env_var("VLLM_API_KEY")
        if found is not None:
            index, item = found
            if item.get("value") or item.get("valueFrom"):
                return Setting(
                    "api-key",
                    "<from env>",
                    self.resource,
                    f"{self.container.path}/env/{index}",
                    "env",
                    "VLLM_API_KEY",
                )
        return None

    def api_key_unknown(self) -> bool:
        """True when an envFrom source may set VLLM_API_KEY (its content is not in the input)."""
        return self.environment.open_ended


#: Options of ``vllm serve`` that SGLang, TGI, llama.cpp and Triton do not spell this way;
#: args with several of them (and no command) run vLLM whatever the image is called (an
#: OpenShift build for Intel Gaudi, a vendor's rebuild).
VLLM_ONLY = frozenset(
    {
        "--max-model-len",
        "--tensor-parallel-size",
        "--pipeline-parallel-size",
        "--gpu-memory-utilization",
        "--download-dir",
        "--max-num-seqs",
        "--enforce-eager",
        "--kv-cache-dtype",
    }
)


VLLM_ONLY_NEEDED = 2


def _vllm_only_flags(texts: list[str]) -> int:
    return len({t.split("=", 1)[0] for t in texts if t.split("=", 1)[0] in VLLM_ONLY})

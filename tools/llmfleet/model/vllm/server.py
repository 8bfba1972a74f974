"""A vLLM server container and its effective settings, read once wherever the manifests put
them.

vLLM 0.33.0 takes its options from (docs/reference/vllm.md §2.1; vllm/utils/argparse_utils.py):

* the command line: ``vllm serve [model] --flag value --flag=value --bool-flag --no-bool-flag``,
  underscores in option names normalised to dashes (FlexibleArgumentParser); the
  ``vllm/vllm-openai`` image's ENTRYPOINT is ``vllm serve`` (§2.3), so a container without
  ``command`` passes its ``args`` to it;
* the older ``python -m vllm.entrypoints.openai.api_server --model M ...`` entrypoint, which
  takes the same options with the model as ``--model``;
* a YAML file given with ``--config PATH`` (``load_config_file``): a key with a value becomes
  ``--key value``, ``key: true`` becomes ``--key`` and ``key: false`` is dropped (it does *not*
  become ``--no-key``); the command line wins over the file;
* env ``VLLM_API_KEY`` when ``--api-key`` is not given (§2.2 "Frontend").

``$(VAR)`` references in ``command``/``args`` and ``$VAR`` in ``sh -c`` scripts are expanded
from the container's environment first (:mod:`.expansion`); a setting whose value depends on
something the input does not hold is kept *unresolved*, and :meth:`VllmServer.value` returns
None for it.  The ``--config`` file is found in the same input: the volumeMount whose
mountPath is the longest prefix of the path (or equals it with ``subPath``), its volume's
ConfigMap (``configMap`` or a ``projected`` source, names matched up to a kustomize hash
suffix) and the key (``items[].path`` mapping, ``subPath``, or the file name).  Every
:class:`Setting` keeps the object and JSON pointer where it is written.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from llmfleet.kube import safe_yaml
from llmfleet.model.k8s import Resource, as_list, dig, escape_pointer_token, to_int
from llmfleet.model.vllm import flags as vflags
from llmfleet.model.vllm import images
from llmfleet.model.vllm.expansion import ConfigMapFinder, Environment
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


# --- recognising a server -----------------------------------------------------------------


@dataclass
class _Word:
    text: str
    path: str
    source: str  # "args" or "command"
    resolved: bool = True
    raw: str = ""


def _head(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _module_entry(words: list[str], i: int) -> tuple[str, int] | None:
    """(entrypoint, index after it) when ``words[i:]`` runs a vLLM module with python -m."""
    if not PYTHONS.match(_head(words[i])):
        return None
    for j in range(i + 1, min(i + 4, len(words))):
        if words[j] == "-m" and j + 1 < len(words):
            module = words[j + 1]
            if module == OPENAI_MODULE or module == OPENAI_MODULE.replace(".api_server", ""):
                return OPENAI_API_SERVER, j + 2
            if module == LEGACY_MODULE:
                return LEGACY_API_SERVER, j + 2
            if (
                module in ("vllm", "vllm.entrypoints.cli.main")
                and j + 2 < len(words)
                and words[j + 2] == "serve"
            ):
                return VLLM_SERVE, j + 3
            return None
        if not words[j].startswith("-"):
            return None
    return None


def _entry_at(words: list[str], i: int = 0) -> tuple[str, int] | None:
    """The entrypoint when ``words[i:]`` starts the vLLM server, else None."""
    if i >= len(words):
        return None
    if _head(words[i]) == "vllm" and i + 1 < len(words) and words[i + 1] == "serve":
        return VLLM_SERVE, i + 2
    return _module_entry(words, i)


def _find_entry(words: list[str]) -> tuple[str, int] | None:
    """Where vLLM's server starts in a word list: ``vllm serve``, ``python -m ...``."""
    for i, word in enumerate(words):
        if _head(word) == "vllm" and i + 1 < len(words) and words[i + 1] == "serve":
            return VLLM_SERVE, i + 2
        found = _module_entry(words, i)
        if found is not None:
            return found
    return None


def _shell_script(word: _Word, env: Environment) -> list[_Word] | None:
    """The words of the vLLM server command inside a ``sh -c`` script, or None."""
    text = word.text
    for line in re.split(r"(?<!\\)\n", text.replace("\\\n", " ")):
        try:
            tokens = shlex.split(line, comments=True, posix=True)
        except ValueError:
            tokens = line.split()
        # keep shell separators as their own tokens
        split: list[str] = []
        for token in tokens:
            split.extend(t for t in re.split(r"(&&|\|\||;|\|)", token) if t)
        for start in range(len(split)):
            if split[start] in ("exec", "nohup"):
                continue
            found = _find_entry(split[start : start + 6])
            if found is None:
                continue
            _, offset = found
            out: list[_Word] = []
            for token in split[start + offset :]:
                if token in SHELL_SEPARATORS or token == "&":
                    break
                expanded = env.expand_shell(token)
                out.append(
                    _Word(
                        expanded.text,
                        word.path,
                        word.source,
                        expanded.resolved,
                        token if expanded.text != token else "",
                    )
                )
            return out
    return None


def _entry_of_script(word: _Word) -> str | None:
    text = word.text
    for candidate in (OPENAI_MODULE, LEGACY_MODULE):
        if re.search(r"-m\s+" + re.escape(candidate) + r"(\s|$)", text):
            return OPENAI_API_SERVER if candidate == OPENAI_MODULE else LEGACY_API_SERVER
    if re.search(r"(^|[\s/;&|(])vllm\s+serve(\s|$)", text):
        return VLLM_SERVE
    return None


def _expand_words(container: Container, env: Environment, key: str) -> list[_Word]:
    words = []
    for i, raw in enumerate(container.args if key == "args" else container.command):
        expanded = env.expand(raw)
        words.append(
            _Word(
                expanded.text,
                f"{container.path}/{key}/{i}",
                key,
                expanded.resolved,
                raw if expanded.text != raw else "",
            )
        )
    return words


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


def _looks_like_vllm_args(args: list[_Word]) -> bool:
    """Args a ``vllm serve`` entrypoint would take: empty, a model first, or known options."""
    if not args:
        return True
    first = args[0].text
    if not first.startswith("-"):
        return "/" in first or not first.endswith((".py", ".sh")) and " " not in first
    return vflags.lookup(first) is not None


def read_server(container: Container, find_configmap: ConfigMapFinder) -> VllmServer | None:
    """The vLLM server a container runs, with its settings; None when it runs no vLLM server
    (a download script, Ray worker, another program)."""
    if container.is_init:
        return None
    if (
        container.template.workload.kind in RAY_KINDS
        and not container.command
        and not any("vllm" in a for a in container.args)
    ):
        return None  # KubeRay runs `ray start` in Ray pods, never the image's ENTRYPOINT
    env = Environment(container.data, container.path, container.template.namespace, find_configmap)
    server = VllmServer(container, env)
    command = _expand_words(container, env, "command")
    args = _expand_words(container, env, "args")
    argv = _argv(server, command, args, env)
    if argv is None:
        return None
    _parse_argv(server, argv)
    _read_config(server, find_configmap)
    return server


def _argv(
    server: VllmServer, command: list[_Word], args: list[_Word], env: Environment
) -> list[_Word] | None:
    """The words that reach vLLM's argument parser, or None when no server runs."""
    image = images.parse(server.container.image)
    if not command:
        texts = [w.text for w in args]
        if len(args) >= 3 and _head(texts[0]) in SHELLS and texts[1] == "-c":
            return _script(server, args[2:], env)
        found = _entry_at(texts)
        at_start = found is not None
        if image.serves_by_default:
            # The image ENTRYPOINT is `vllm serve` (docs/reference/vllm.md §2.3): args go
            # straight to it, and repeating `vllm serve` (or a python -m line) in args is a bug.
            server.entrypoint = IMAGE
            if at_start and found is not None:
                server.repeated_serve = Setting(
                    "serve",
                    " ".join(texts[: found[1]]),
                    server.resource,
                    args[0].path,
                    "args",
                    " ".join(texts[: found[1]]),
                )
                return args[found[1] :]
            if args and texts[0] == "serve":
                server.repeated_serve = Setting(
                    "serve", "serve", server.resource, args[0].path, "args", "serve"
                )
                return args[1:]
            return args
        if at_start and found is not None:
            server.entrypoint = found[0]
            return args[found[1] :]
        if image.mentions_vllm and _looks_like_vllm_args(args):
            server.entrypoint = IMAGE  # a vLLM image of another name: assume it serves
            return args
        if _vllm_only_flags(texts) >= VLLM_ONLY_NEEDED:
            server.entrypoint = IMAGE  # an image whose name hides vLLM, known by its options
            return args
        return None
    words = command + args
    if (
        _head(words[0].text) in SHELLS
        or _head(words[0].text) == "env"
        and len(words) > 1
        and _head(words[1].text) in SHELLS
    ):
        start = 1 if _head(words[0].text) in SHELLS else 2
        rest = words[start:]
        return _script(
            server, [w for w in rest if w.text != "-c" and not w.text.startswith("-")] or rest, env
        )
    found = _find_entry([w.text for w in words])
    if found is None:
        return None
    server.entrypoint, offset = found
    return words[offset:]


def _script(server: VllmServer, words: list[_Word], env: Environment) -> list[_Word] | None:
    for word in words:
        entry = _entry_of_script(word)
        if entry is None:
            continue
        split = _shell_script(word, env)
        if split is None:
            continue
        server.entrypoint = entry
        server.script = True
        return split
    return None


def _parse_argv(server: VllmServer, argv: list[_Word]) -> None:
    resource = server.resource
    version = server.version
    positional_seen = False
    i = 0
    while i < len(argv):
        word = argv[i]
        text = word.text
        if text == "--":
            i += 1
            continue
        if not text.startswith("-") or text == "-":
            if not positional_seen and server.entrypoint in (VLLM_SERVE, IMAGE):
                positional_seen = True
                server.model = Setting(
                    "model",
                    text,
                    resource,
                    word.path,
                    word.source,
                    text,
                    resolved=word.resolved,
                    raw=word.raw,
                )
            i += 1
            continue
        option, eq, inline = text.partition("=") if text.startswith("--") else (text, "", "")
        option = vflags.normalise(option)
        found = vflags.lookup(option, version)
        kind = found.kind if found else vflags.VALUE
        canonical = found.canonical if found else vflags.base_option(option)
        resolved, raw = word.resolved, word.raw
        value: Any
        if option.startswith("-O") and not option.startswith("--") and option != "-O":
            value = option[2:]
        elif eq:
            value = inline
        elif kind in (vflags.BOOL, vflags.SWITCH):
            value = not (found is not None and found.negates)
        else:
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            takes = nxt is not None and (not nxt.text.startswith("-") or _is_number(nxt.text))
            if kind == vflags.OPTIONAL and not takes:
                value = True
            elif takes and nxt is not None:
                value = nxt.text
                resolved, raw = resolved and nxt.resolved, nxt.raw
                i += 1
            else:
                value = True if found is None else None
        if found is not None and "." in option and option.startswith("--"):
            name = option[2:]  # --compilation-config.mode: keep the key
        else:
            name = canonical[2:] if canonical.startswith("--") else canonical.lstrip("-")
        setting = Setting(
            name,
            value,
            resource,
            word.path,
            word.source,
            text,
            known=found is not None,
            resolved=resolved,
            raw=raw,
        )
        if name == "model" and not positional_seen:
            server.model = setting
        server.cli.append(setting)
        i += 1


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# --- the --config file ------------------------------------------------------------------


def locate_file(
    container: Container, path: str, find_configmap: ConfigMapFinder
) -> tuple[Resource | None, str, str]:
    """``(ConfigMap, data key, problem)`` of the file at ``path`` in ``container``."""
    best: tuple[int, dict[str, Any], str] | None = None
    for mount in container.volume_mounts:
        mount_path = str(mount.get("mountPath") or "").rstrip("/")
        if not mount_path:
            continue
        sub_path = mount.get("subPath")
        if sub_path:
            if path == mount_path:
                best = (len(mount_path), mount, str(sub_path))
            continue
        if path.startswith(mount_path + "/") and (best is None or len(mount_path) > best[0]):
            best = (len(mount_path), mount, path[len(mount_path) + 1 :])
    if best is None:
        return None, "", f"no volumeMount of container {container.name!r} contains {path}"
    _, mount, relative = best
    volume = container.template.volume(str(mount.get("name") or ""))
    if volume is None:
        return None, "", f"the volumeMount {mount.get('name')!r} names no volume of the pod"
    _, vol = volume
    sources = []
    if isinstance(vol.get("configMap"), dict):
        sources.append(vol["configMap"])
    for src in as_list(dig(vol, "projected", "sources")):
        if isinstance(src, dict) and isinstance(src.get("configMap"), dict):
            sources.append(src["configMap"])
    if not sources:
        return None, "", f"volume {vol.get('name')!r} is not a ConfigMap volume"
    for source in sources:
        key = relative
        items = source.get("items")
        if isinstance(items, list) and items:
            mapped = [it for it in items if isinstance(it, dict) and it.get("path") == relative]
            if not mapped:
                continue
            key = str(mapped[0].get("key") or "")
        cm = find_configmap(str(source.get("name") or ""), container.template.namespace)
        if cm is None:
            continue
        data = cm.data.get("data")
        if isinstance(data, dict) and key in data:
            return cm, key, ""
    names = ", ".join(repr(s.get("name")) for s in sources)
    return None, "", f"ConfigMap {names} with key for {relative!r} is not in this input"


def _read_config(server: VllmServer, find_configmap: ConfigMapFinder) -> None:
    config = server.get("config")
    if config is None or not isinstance(config.value, str) or not config.resolved:
        return
    server.config_path = config.value
    cm, key, problem = locate_file(server.container, config.value, find_configmap)
    if cm is None:
        server.config_problem = problem
        return
    pointer = f"/data/{escape_pointer_token(key)}"
    server.config_resource, server.config_pointer = cm, pointer
    try:
        data = safe_yaml.load(str(cm.data["data"][key]))
    except safe_yaml.UnsafeYAML as exc:
        server.config_problem = f"{cm.ref} {pointer} is not YAML: {exc}"
        return
    if data is None:
        return
    if not isinstance(data, dict):
        server.config_problem = f"{cm.ref} {pointer} is not a YAML mapping of options"
        return
    for raw_key, value in data.items():
        written = str(raw_key)
        option = vflags.normalise("--" + written)
        found = vflags.lookup(option, server.version)
        name = (found.canonical if found else vflags.base_option(option))[2:]
        setting = Setting(name, value, cm, pointer, "config", written, known=found is not None)
        if value is False:
            # load_config_file adds `--key` for true and nothing for false (0.33.0).
            server.config_ignored.append(setting)
            continue
        if found is not None and found.negates and value is True:
            setting.value = False  # "disable-x: true" in the file sets enable-x to False
        server.config.append(setting)
        if name == "model" and server.model is None:
            server.model = setting

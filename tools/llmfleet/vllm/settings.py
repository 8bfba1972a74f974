"""Read a vLLM container's settings wherever the manifests put them.

vLLM 0.33.0 takes its options from (docs/reference/vllm-0.33.md §2.1; src vllm/utils/argparse_utils.py):

* the command line: ``vllm serve [model] --flag value --flag=value --bool-flag --no-bool-flag``,
  with underscores in option names normalised to dashes (FlexibleArgumentParser);
  the ``vllm/vllm-openai`` image's ENTRYPOINT is already ``vllm serve`` (docs/reference/vllm-0.33.md §2.3), so
  a container without ``command`` passes its ``args`` straight to it;
* a YAML file given with ``--config PATH`` (``load_config_file``): keys are option names
  without dashes, ``true`` becomes ``--key``, ``false`` becomes ``--no-key``; the command line
  wins over the file ("cli > config > defaults", ``_pull_args_from_config``);
* env ``VLLM_API_KEY`` when ``--api-key`` is not given (docs/reference/vllm-0.33.md §2.2 "Frontend").

Here the ``--config`` file is found in the same input: the container's volumeMount whose
mountPath is the longest prefix of PATH (or equals it with ``subPath``), its volume's
ConfigMap (``configMap`` or a ``projected`` source) matched by the rendered name, or by the
name plus a kustomize hash suffix when linting unrendered files, and the key: ``items[].path``
mapping, ``subPath``, or the file name.  Every :class:`Setting` keeps the resource and JSON
pointer where it was written, so findings point at the arg or at the ConfigMap data key.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import yaml

from llmfleet.lint.context import Container, LintContext, dig
from llmfleet.manifests import Resource, escape_pointer_token
from llmfleet.vllm import flags as vflags

DEFAULT_PORT = 8000
SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/env", "dash", "/bin/dash", "ash"}
SHELL_SEPARATORS = {"&&", "||", ";", "|", "&"}
_HASH_SUFFIX = re.compile(r"-[a-z0-9]{10}$")


@dataclass
class Setting:
    """One option as set in a manifest."""

    name: str                 # long option without dashes, e.g. "tensor-parallel-size"
    value: Any                # str from the command line, YAML value from the config file
    resource: Resource        # where it is written (the workload or the ConfigMap)
    path: str                 # JSON pointer in ``resource``
    source: str               # "args", "command", "config" or "env"
    written: str = ""         # as written: "--tensor_parallel_size", "-tp", "tensor-parallel-size"
    known: bool = True        # the option exists in vLLM 0.33.0

    @property
    def where(self) -> str:
        if self.source == "config":
            return f"{self.written!r} in {self.resource.ref} {self.path}"
        return f"{self.written!r} at {self.path}"


@dataclass
class VllmSettings:
    """The effective vLLM options of one container: CLI over config file over defaults."""

    container: Container
    cli: list[Setting] = field(default_factory=list)      # in command-line order
    config: list[Setting] = field(default_factory=list)   # keys of the --config file
    model: Setting | None = None                          # positional, --model or `model:`
    entrypoint: str = ""        # "image" (no command), "vllm serve", "api_server", "shell"
    repeated_serve: Setting | None = None   # args start with "vllm serve"/"serve" on the image
    config_path: str = ""
    config_resource: Resource | None = None
    config_pointer: str = ""
    config_problem: str = ""    # why the --config file could not be read

    def get(self, name: str) -> Setting | None:
        """The effective setting of ``name`` (long option without dashes)."""
        for setting in reversed(self.cli):
            if setting.name == name:
                return setting
        for setting in reversed(self.config):
            if setting.name == name:
                return setting
        return None

    def value(self, name: str, default: Any = None) -> Any:
        setting = self.get(name)
        return default if setting is None else setting.value

    def int_value(self, name: str, default: int | None = None) -> int | None:
        value = self.value(name, default)
        return to_int(value, default)

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean option (``--x`` / ``--no-x`` / ``x: true``)."""
        value = self.value(name, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value.strip().lower() not in ("false", "0", "no", "off", "")
        return bool(value)

    @property
    def all(self) -> list[Setting]:
        return [*self.config, *self.cli]

    @property
    def port(self) -> int:
        return self.int_value("port", DEFAULT_PORT) or DEFAULT_PORT

    @property
    def model_id(self) -> str:
        return str(self.model.value) if self.model is not None else ""

    @property
    def served_model_name(self) -> str:
        """The ``model_name`` metric label: the first --served-model-name, else the model
        (docs/reference/vllm-0.33.md §1.1, §2.2)."""
        served = self.value("served-model-name")
        if isinstance(served, list) and served:
            return str(served[0])
        if isinstance(served, str) and served.strip():
            return served.split()[0]
        return self.model_id

    @property
    def parallel_size(self) -> int:
        """tensor-parallel × pipeline-parallel: GPUs one vLLM instance uses (world size)."""
        tp = self.int_value("tensor-parallel-size", 1) or 1
        pp = self.int_value("pipeline-parallel-size", 1) or 1
        return tp * pp

    def api_key(self) -> Setting | None:
        """Where an API key is set: --api-key (CLI or config) or env VLLM_API_KEY."""
        setting = self.get("api-key")
        if setting is not None and setting.value not in (None, "", False):
            return setting
        found = self.container.env_var("VLLM_API_KEY")
        if found is not None:
            index, item = found
            if item.get("value") or item.get("valueFrom"):
                return Setting("api-key", item.get("value") or item.get("valueFrom"),
                               self.container.workload.resource,
                               f"{self.container.path}/env/{index}", "env", "VLLM_API_KEY")
        return None

    def api_key_unknown(self) -> bool:
        """True when an envFrom source may set VLLM_API_KEY (its content is not in the input)."""
        return bool(self.container.data.get("envFrom"))


def to_int(value: Any, default: int | None = None) -> int | None:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def _image_repository(image: str) -> str:
    image = image.partition("@")[0]
    slash, colon = image.rfind("/"), image.rfind(":")
    return image[:colon] if colon > slash else image


def is_vllm_container(container: Container) -> bool:
    """The image repository contains ``vllm``, or the command line runs ``vllm serve`` or a
    ``vllm.entrypoints`` module."""
    if container.init:
        return False
    if "vllm" in _image_repository(container.image).lower():
        return True
    words = [*container.command, *container.args]
    for i, word in enumerate(words):
        if "vllm.entrypoints" in word:
            return True
        if word.rsplit("/", 1)[-1] == "vllm" and i + 1 < len(words) and words[i + 1] == "serve":
            return True
        if re.search(r"(^|[\s/])vllm\s+serve(\s|$)", word):
            return True
    return False


def vllm_containers(ctx: LintContext) -> list[Container]:
    return [c for c in ctx.containers() if is_vllm_container(c)]


# --- command line -----------------------------------------------------------------------

@dataclass
class _Word:
    text: str
    path: str
    source: str  # "args" or "command"


def _words(container: Container) -> tuple[list[_Word], list[_Word]]:
    command = [_Word(w, f"{container.path}/command/{i}", "command")
               for i, w in enumerate(container.command)]
    args = [_Word(w, f"{container.path}/args/{i}", "args") for i, w in enumerate(container.args)]
    return command, args


def _shell_words(word: _Word) -> list[_Word]:
    """Split a ``sh -c`` script; keep the words of the ``vllm serve`` command in it."""
    try:
        tokens = shlex.split(word.text, comments=True)
    except ValueError:
        tokens = word.text.split()
    out: list[_Word] = []
    start = None
    for i, token in enumerate(tokens):
        if start is None:
            if token.rsplit("/", 1)[-1] == "vllm" and i + 1 < len(tokens) and tokens[i + 1] == "serve":
                start = i + 2
                continue
            if "vllm.entrypoints" in token:
                start = i + 1
                continue
        elif i >= start:
            if token in SHELL_SEPARATORS:
                break
            out.append(_Word(token, word.path, word.source))
    return out if start is not None else []


def _argv(settings: VllmSettings, command: list[_Word], args: list[_Word]) -> list[_Word]:
    """The words that reach vLLM's argument parser after ``vllm serve``."""
    if not command:
        settings.entrypoint = "image"
        starts_with_serve = (len(args) >= 2 and args[0].text.rsplit("/", 1)[-1] == "vllm"
                             and args[1].text == "serve")
        if "vllm" not in _image_repository(settings.container.image).lower():
            # Unknown image entrypoint: only `args: [vllm, serve, ...]` tells what runs.
            if starts_with_serve:
                return args[2:]
            settings.entrypoint = "other"
            return []
        # The image ENTRYPOINT is `vllm serve` (docs/reference/vllm-0.33.md §2.3): args go straight to it.
        if len(args) >= 2 and args[0].text.rsplit("/", 1)[-1] == "vllm" and args[1].text == "serve":
            settings.repeated_serve = Setting("serve", "vllm serve", settings.container.workload.resource,
                                              args[0].path, "args", "vllm serve")
            return args[2:]
        if args and args[0].text == "serve":
            settings.repeated_serve = Setting("serve", "serve", settings.container.workload.resource,
                                              args[0].path, "args", "serve")
            return args[1:]
        return args
    words = command + args
    head = words[0].text.rsplit("/", 1)[-1]
    if head in SHELLS or words[0].text in SHELLS:
        settings.entrypoint = "shell"
        for word in words[1:]:
            split = _shell_words(word)
            if split:
                return split
        return []
    for i, word in enumerate(words):
        if word.text.rsplit("/", 1)[-1] == "vllm" and i + 1 < len(words) and words[i + 1].text == "serve":
            settings.entrypoint = "vllm serve"
            return words[i + 2:]
        if "vllm.entrypoints" in word.text:
            settings.entrypoint = "api_server"
            return words[i + 1:]
    settings.entrypoint = "other"
    return []


def _parse_argv(settings: VllmSettings, argv: list[_Word]) -> None:
    resource = settings.container.workload.resource
    i = 0
    positional_seen = False
    while i < len(argv):
        word = argv[i]
        text = word.text
        if text == "--":
            i += 1
            continue
        if not text.startswith("-") or text == "-":
            if not positional_seen:
                positional_seen = True
                settings.model = Setting("model", text, resource, word.path, word.source, text)
            i += 1
            continue
        option, eq, inline = text.partition("=") if text.startswith("--") else (text, "", "")
        option = vflags.normalise(option)
        found = vflags.lookup(option)
        kind = found.kind if found else vflags.VALUE
        canonical = found.canonical if found else vflags.base_option(option)
        if option.startswith("-O") and not option.startswith("--") and option != "-O":
            value: Any = option[2:]
        elif eq:
            value = inline
        elif kind in (vflags.BOOL, vflags.SWITCH):
            value = not (found is not None and found.negates)
        else:
            nxt = argv[i + 1].text if i + 1 < len(argv) else None
            takes = nxt is not None and (not nxt.startswith("-") or _is_number(nxt))
            if kind == vflags.OPTIONAL and not takes:
                value = True
            elif takes:
                value = nxt
                i += 1
            else:
                value = True if found is None else None
        if found is not None and "." in option and option.startswith("--"):
            name = option[2:]          # --compilation-config.mode: keep the key
        else:
            name = canonical[2:] if canonical.startswith("--") else canonical.lstrip("-")
        if name == "model" and not positional_seen:
            settings.model = Setting("model", value, resource, word.path, word.source, text)
        settings.cli.append(Setting(name, value, resource, word.path, word.source, text,
                                    known=found is not None))
        i += 1


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# --- the --config file ------------------------------------------------------------------

def find_configmap(ctx: LintContext, name: str, namespace: str) -> Resource | None:
    """The ConfigMap called ``name`` in the input, or ``name`` plus a kustomize hash suffix
    (unrendered input), or the reverse."""
    candidates = [r for r in ctx.of_kind("ConfigMap") if r.namespace == namespace]
    for res in candidates:
        if res.name == name:
            return res
    for res in candidates:
        if _HASH_SUFFIX.sub("", res.name) == name or _HASH_SUFFIX.sub("", name) == res.name:
            return res
    return None


def locate_file(ctx: LintContext, container: Container, path: str
                ) -> tuple[Resource | None, str, str]:
    """``(ConfigMap, data key, problem)`` of the file at ``path`` in ``container``."""
    best = None
    for mount in container.data.get("volumeMounts") or []:
        if not isinstance(mount, dict):
            continue
        mount_path = str(mount.get("mountPath") or "").rstrip("/")
        if not mount_path:
            continue
        sub_path = mount.get("subPath")
        if sub_path:
            if path == mount_path:
                best = (len(mount_path), mount, str(sub_path))
            continue
        if path.startswith(mount_path + "/") and (best is None or len(mount_path) > best[0]):
            best = (len(mount_path), mount, path[len(mount_path) + 1:])
    if best is None:
        return None, "", f"no volumeMount of container {container.name!r} contains {path}"
    _, mount, relative = best
    volume = container.workload.volume(str(mount.get("name") or ""))
    if volume is None:
        return None, "", f"the volumeMount {mount.get('name')!r} names no volume of the pod"
    _, vol = volume
    sources = []
    if isinstance(vol.get("configMap"), dict):
        sources.append(vol["configMap"])
    for src in dig(vol, "projected", "sources", default=[]) or []:
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
        cm = find_configmap(ctx, str(source.get("name") or ""), container.workload.namespace)
        if cm is None:
            continue
        if isinstance(cm.data.get("data"), dict) and key in cm.data["data"]:
            return cm, key, ""
    names = ", ".join(repr(s.get("name")) for s in sources)
    return None, "", f"ConfigMap {names} with key for {relative!r} is not in this input"


def _read_config(ctx: LintContext, settings: VllmSettings) -> None:
    config = settings.get("config")
    if config is None or not isinstance(config.value, str):
        return
    settings.config_path = config.value
    cm, key, problem = locate_file(ctx, settings.container, config.value)
    if cm is None:
        settings.config_problem = problem
        return
    pointer = f"/data/{escape_pointer_token(key)}"
    settings.config_resource, settings.config_pointer = cm, pointer
    try:
        data = yaml.safe_load(str(cm.data["data"][key]))
    except yaml.YAMLError as exc:
        settings.config_problem = f"{cm.ref} {pointer} is not YAML: {str(exc).splitlines()[0]}"
        return
    if data is None:
        return
    if not isinstance(data, dict):
        settings.config_problem = f"{cm.ref} {pointer} is not a YAML mapping of options"
        return
    for raw_key, value in data.items():
        written = str(raw_key)
        option = vflags.normalise("--" + written)
        found = vflags.lookup(option)
        name = (found.canonical if found else vflags.base_option(option))[2:]
        if found is not None and found.negates and isinstance(value, bool):
            value = not value   # "disable-x: true" in the file is "enable-x: false"
        setting = Setting(name, value, cm, pointer, "config", written, known=found is not None)
        settings.config.append(setting)
        if name == "model" and settings.model is None:
            settings.model = setting


def read_settings(ctx: LintContext, container: Container) -> VllmSettings:
    settings = VllmSettings(container)
    command, args = _words(container)
    _parse_argv(settings, _argv(settings, command, args))
    _read_config(ctx, settings)
    return settings


def all_settings(ctx: LintContext) -> list[VllmSettings]:
    """Settings of every container that runs the vLLM server in the input (cached on the
    context).  A vLLM-image container whose command runs something else (``python -c``,
    a download script) is not a server and is left out."""
    cache = ctx.__dict__.setdefault("_vllm_settings", None)
    if cache is None:
        cache = [s for s in (read_settings(ctx, c) for c in vllm_containers(ctx))
                 if s.entrypoint != "other"]
        ctx.__dict__["_vllm_settings"] = cache
    return cache

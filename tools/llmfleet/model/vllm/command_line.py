"""Recognising a vLLM server in a container: its entry point (vllm serve, the OpenAI module, a shell script, the image's ENTRYPOINT) and its argv, expanded as the kubelet expands it."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from llmfleet.model.vllm import flags as vflags
from llmfleet.model.vllm import images
from llmfleet.model.vllm.config_file import _read_config
from llmfleet.model.vllm.expansion import ConfigMapFinder, Environment
from llmfleet.model.vllm.server import (
    IMAGE,
    LEGACY_API_SERVER,
    LEGACY_MODULE,
    OPENAI_API_SERVER,
    OPENAI_MODULE,
    PYTHONS,
    RAY_KINDS,
    SHELL_SEPARATORS,
    SHELLS,
    VLLM_ONLY_NEEDED,
    VLLM_SERVE,
    Setting,
    VllmServer,
    _vllm_only_flags,
)
from llmfleet.model.workloads import Container


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


def _looks_like_vllm_args(args: list[_Word]) -> bool:
    """Args a ``vllm serve`` entrypoint would take: a model first, or known options.  No args
    at all is no evidence: an image that only mentions vLLM (``ai-dynamo/vllm-runtime``, a
    router) has an entrypoint of its own, and it may start a frontend or a shell."""
    if not args:
        return False
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

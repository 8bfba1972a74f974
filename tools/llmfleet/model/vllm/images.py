"""Container image references, and what a vLLM image name tells: its vLLM version, its build
(CUDA, CPU, ROCm, TPU, ...) and whether its ENTRYPOINT starts the server.

Sources (docs/reference/vllm-versions.md): the ``vllm/vllm-openai`` image's ENTRYPOINT is
``vllm serve`` (``docker/Dockerfile``, target ``vllm-openai``); the CPU, ROCm and TPU builds
are published under their own names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

#: Repositories (last path segments) whose ENTRYPOINT is the OpenAI-compatible server.
SERVER_REPOSITORIES = ("vllm-openai", "vllm-openai-rocm", "vllm-openai-cpu")
#: Tags that move between releases.
FLOATING_TAGS = frozenset({"latest", "nightly", "main", "stable"})
#: Words that make a compound tag float (``latest-nightly``, ``nightly-cu128``, ``main-gpu``)
#: unless the tag also names a version, a date or a commit.
FLOATING_WORDS = frozenset({"latest", "nightly", "main", "master", "stable", "dev", "edge", "rolling"})
_PINNED_PART = re.compile(r"\d+\.\d+|\d{4}-\d{2}-\d{2}|(?<![0-9])\d{8}(?![0-9])|^[0-9a-f]{7,40}$")


def is_floating(tag: str) -> bool:
    """A tag that moves: ``latest``/``nightly``/``main``/``stable``, or a compound of those
    words with build variants (``latest-nightly``, ``nightly-cu128``) that names no version
    (``1.2``), date (``20250101``) or commit (hex of 7-40) of its own."""
    if tag in FLOATING_TAGS:
        return True
    parts = [p for p in re.split(r"[-_.]", tag.lower()) if p]
    if not any(p in FLOATING_WORDS for p in parts):
        return False
    if _PINNED_PART.search(tag) or any(_PINNED_PART.search(p) for p in parts):
        return False
    return True


_VERSION = re.compile(r"(?:^|[^0-9.])v?(\d+\.\d+\.\d+)(?:\.\d+)?(?:\.?post\d+)?(?![0-9])")
_VLLM_VERSION = re.compile(r"vllm[_-]?v?(\d+\.\d+\.\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Image:
    reference: str
    registry: str
    repository: str  # without registry, e.g. vllm/vllm-openai
    tag: str
    digest: str

    @property
    def name(self) -> str:
        """The last path segment of the repository (``vllm-openai``)."""
        return self.repository.rsplit("/", 1)[-1]

    @property
    def mentions_vllm(self) -> bool:
        return "vllm" in f"{self.registry}/{self.repository}".lower()

    @property
    def serves_by_default(self) -> bool:
        """The image's ENTRYPOINT is ``vllm serve`` (its args go to the server)."""
        return self.name.lower() in SERVER_REPOSITORIES

    @property
    def known_server(self) -> bool:
        return self.serves_by_default

    @property
    def build(self) -> str:
        """cuda (the default), cpu, rocm, tpu, xpu, hpu or neuron, from the name and tag."""
        text = f"{self.repository}:{self.tag}".lower()
        for build, words in (
            ("cpu", ("cpu",)),
            ("rocm", ("rocm", "amd")),
            ("tpu", ("tpu",)),
            ("xpu", ("xpu",)),
            ("hpu", ("gaudi", "habana", "hpu")),
            ("neuron", ("neuron",)),
        ):
            if any(w in text for w in words):
                return build
        return "cuda"

    @property
    def vllm_version(self) -> str | None:
        """The vLLM release in the tag (``v0.33.0``, ``0.8.5``, ``rocm6.3_vllm_0.8.5``), or None
        (``latest``, a nightly, a digest only)."""
        if not self.tag:
            return None
        match = _VLLM_VERSION.search(self.tag) if "vllm" in self.tag.lower() else None
        if match is None and self.mentions_vllm:
            match = _VERSION.search(self.tag)
        return match.group(1) if match else None

    @property
    def pinned_by_digest(self) -> bool:
        return bool(self.digest)


@lru_cache(maxsize=512)
def parse(reference: str) -> Image:
    """Split ``[registry/]repository[:tag][@digest]`` (Docker's reference grammar)."""
    text = (reference or "").strip()
    rest, _, digest = text.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = ""
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    registry = ""
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    if registry in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        registry = ""
    if rest.startswith("library/") and not registry:
        rest = rest[len("library/") :]
    return Image(text, registry, rest, tag, digest)

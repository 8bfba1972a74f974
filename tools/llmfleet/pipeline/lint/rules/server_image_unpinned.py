"""server-image-unpinned: an LLM server image other than vLLM must name an exact release too.

SGLang, TGI, Ollama, NVIDIA NIM, Triton and llama.cpp images at ``latest`` (or no tag)
change the server under an unchanged manifest at the next pull: other flags, defaults and,
for NIM, other model profiles (docs/reference/servers.md).  vLLM images are
``vllm-image-unpinned``'s.

Severity policy (the same as vLLM's, whose removed flags make a floating tag fatal): an error
when the container passes command-line options to the server (``--model-path``, ``--port``,
``-c``...), because a release that renames or drops one stops the pod from starting; a warning
when the server runs on its image's defaults and env only, where the next release changes
behaviour but the manifest still starts (docs/reference/servers.md "Image tags").
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.k8s import as_list
from llmfleet.model.servers import other_servers
from llmfleet.model.vllm import images
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


def passes_options(container_data: dict) -> bool:
    """Whether the container's command or args give the server a command-line option (a word
    starting with ``-``, also inside an ``sh -c`` script after the first word)."""
    for key in ("command", "args"):
        for word in as_list(container_data.get(key)):
            if not isinstance(word, str):
                continue
            if word.startswith("-") and word not in ("-c", "-lc", "-ec", "-xc"):
                return True
            if any(part.startswith("--") for part in word.split()[1:]):
                return True
    return False


@rule(
    id="server-image-unpinned",
    severity=Severity.ERROR,
    description="An SGLang, TGI, Ollama, NIM, Triton or llama.cpp server image has no version tag "
    "or digest, or a floating tag such as latest",
    remediation="Pin the image to a release tag (lmsysorg/sglang:v0.5.5.post3, "
    "ghcr.io/huggingface/text-generation-inference:3.3.4, nvcr.io/nim/...:1.8.2) or a digest.",
    rationale="A floating tag changes the server at the next pull, under an unchanged manifest: "
    "flags, defaults and model profiles differ between releases (docs/reference/servers.md).",
    category="image",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        image: docker.io/lmsysorg/sglang:v0.5.5.post3-cu129-amd64

    Failing (``/spec/template/spec/containers/0/image``; an error, options are passed)::

        image: docker.io/lmsysorg/sglang:latest
        command: [python3, -m, sglang.launch_server, --model-path, Qwen/Qwen3-8B]

    Warning (no options: the server runs on its defaults)::

        image: localai/localai:latest
    """
    for server in other_servers(model):
        container = server.container
        reference = container.image
        if not reference or "$" in reference or "{{" in reference or "<" in reference:
            continue  # a template placeholder, filled before apply: no tag to judge
        image = images.parse(reference)
        if image.digest:
            continue
        if not image.tag or images.is_floating(image.tag):
            what = (
                "has no tag (it resolves to latest)"
                if not image.tag
                else f"uses the floating tag {image.tag!r}"
            )
            yield Problem(
                container.resource,
                f"{container.path}/image",
                f"{server.engine.title} image {reference!r} {what}: the next pull may run another release"
                + (
                    ", whose options may differ from the ones this manifest passes"
                    if passes_options(container.data)
                    else " (the manifest passes no options, so it still starts: a warning)"
                ),
                None if passes_options(container.data) else Severity.WARNING,
            )

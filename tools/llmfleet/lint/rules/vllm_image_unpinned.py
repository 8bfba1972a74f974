"""vllm-image-unpinned: a serving image must name an exact release.

A tag-less or ``latest`` image changes under a running fleet: the next node to pull it gets
another vLLM, with other flags and metrics (vLLM removes flags and renames metrics between
releases: docs/reference/vllm-0.33.md §1.5, §2.2).  Pin a version tag (``v0.33.0``) or a
digest.
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule

FLOATING_TAGS = {"latest", "nightly", "main", "stable"}


def split_image(image: str) -> tuple[str, str, str]:
    """``(repository, tag, digest)`` of an image reference."""
    image, _, digest = image.partition("@")
    last_slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > last_slash:
        return image[:colon], image[colon + 1:], digest
    return image, "", digest


def is_vllm_image(image: str) -> bool:
    repository = split_image(image)[0]
    return "vllm" in repository.rsplit("/", 1)[-1]


@rule(id="vllm-image-unpinned", severity=Severity.ERROR,
      description="vLLM image without a version tag or digest, or a floating tag such as latest",
      remediation="Pin the image to a release tag (vllm/vllm-openai:v0.33.0) or a digest.",
      category="vllm")
def check(ctx):
    """Passing::

        image: vllm/vllm-openai:v0.33.0

    Failing (``/spec/template/spec/containers/0/image``)::

        image: vllm/vllm-openai:latest
    """
    for container in ctx.containers():
        image = container.image
        if not image or not is_vllm_image(image):
            continue
        _, tag, digest = split_image(image)
        if digest:
            continue
        if not tag:
            yield Problem(container.workload.resource, f"{container.path}/image",
                          f"image {image!r} has no tag: it resolves to latest")
        elif tag in FLOATING_TAGS:
            yield Problem(container.workload.resource, f"{container.path}/image",
                          f"image {image!r} uses the floating tag {tag!r}")

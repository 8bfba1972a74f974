"""vllm-image-unpinned: a serving image must name an exact release.

A tag-less or ``latest`` image changes under a running fleet: the next node to pull it gets
another vLLM, with other flags and metrics (vLLM removes flags and renames metrics between
releases: docs/reference/vllm.md §1.5, §2.2).  Pin a version tag (``v0.33.0``) or a
digest.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.vllm import images
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

FLOATING_TAGS = images.FLOATING_TAGS


@rule(
    id="vllm-image-unpinned",
    severity=Severity.ERROR,
    description="vLLM image without a version tag or digest, or a floating tag such as latest",
    remediation="Pin the image to a release tag (vllm/vllm-openai:v0.33.0) or a digest.",
    rationale="vLLM changes flags, metrics and defaults between releases; a floating tag "
    "changes the server under an unchanged manifest at the next pull "
    "(docs/reference/vllm.md §2.3).",
    category="vllm",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        image: vllm/vllm-openai:v0.33.0

    Failing (``/spec/template/spec/containers/0/image``)::

        image: vllm/vllm-openai:latest
    """
    servers = {id(s.container) for s in model.servers}
    for container in model.containers():
        image = images.parse(container.image)
        if not container.image or not (image.mentions_vllm or id(container) in servers):
            continue
        if "$" in container.image or "{{" in container.image:
            continue  # a template placeholder, filled before apply: no tag to judge
        if image.digest:
            continue
        if not image.tag:
            yield Problem(
                container.resource,
                f"{container.path}/image",
                f"image {container.image!r} has no tag: it resolves to latest",
            )
        elif images.is_floating(image.tag):
            yield Problem(
                container.resource,
                f"{container.path}/image",
                f"image {container.image!r} uses the floating tag {image.tag!r}",
            )

"""image-digest: deployed images pinned by digest (off by default).

A tag can be moved to another image (re-pushed, or by whoever controls the registry); a
digest (``@sha256:…``) names exactly one image, so what was reviewed is what runs, and a
registry compromise cannot swap it.  Off by default (``lint.enabled-rules: [image-digest]``
turns it on): many teams pin by release tag and accept that trade-off; production guidance
(docs/deploying.md) pins digests.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.vllm import images
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="image-digest",
    severity=Severity.ERROR,
    description="A container image is pinned by tag, not by digest (off by default)",
    remediation="Pin the image by digest, keeping the tag for readers: "
    "image: vllm/vllm-openai:v0.33.0@sha256:<digest> (crane digest IMAGE:TAG), or "
    "set `digest:` in the kustomization's images: entry.",
    rationale="A tag is mutable; a digest names one image, so the image that was reviewed and "
    "scanned is the one that runs (docs/deploying.md, production images).",
    category="security",
    default_enabled=False,
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        image: vllm/vllm-openai:v0.33.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

    Failing (``/spec/template/spec/containers/0/image``)::

        image: vllm/vllm-openai:v0.33.0
    """
    for container in model.containers():
        reference = container.image
        if not reference or "$" in reference or "{{" in reference:
            continue
        if images.parse(reference).pinned_by_digest:
            continue
        yield Problem(
            container.resource,
            f"{container.path}/image",
            f"container {container.name!r} runs {reference!r}, pinned by tag only: pin its "
            "digest (@sha256:…)",
        )

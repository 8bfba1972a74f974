"""image-placeholder: no placeholder image in what would be deployed.

Examples and scaffolds name images such as ``ghcr.io/example-org/app``,
``registry.example.com/...`` or ``REPLACE_ME``: applied as they are, the pods fail with
ImagePullBackOff (or, worse, pull whatever someone publishes under that name).  Template
variables (``$IMAGE``, ``{{ .Values.image }}``) are substitutions made before apply and are
not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.placeholders import PLACEHOLDER
from llmfleet.model.vllm import images
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="image-placeholder",
    severity=Severity.ERROR,
    description="A container image is a placeholder (example.com, example-org, REPLACE_ME, ...)",
    remediation="Set the real image: in a kustomization, an images: entry (newName, newTag or "
    "digest) in the overlay or platform kustomization.",
    rationale="A placeholder image cannot be pulled (ImagePullBackOff), or pulls whatever "
    "someone publishes under that name.",
    category="security",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        image: ghcr.io/acme/llm-gateway:0.1.0

    Failing (``/spec/template/spec/containers/0/image``)::

        image: ghcr.io/example-org/llm-gateway:0.1.0
    """
    for container in model.containers():
        reference = container.image
        if not reference or "$" in reference or "{{" in reference:
            continue
        image = images.parse(reference)
        text = f"{image.registry}/{image.repository}:{image.tag}"
        if PLACEHOLDER.search(text):
            yield Problem(
                container.resource,
                f"{container.path}/image",
                f"container {container.name!r} runs {reference!r}, a placeholder image: "
                "it cannot be pulled as it is",
            )

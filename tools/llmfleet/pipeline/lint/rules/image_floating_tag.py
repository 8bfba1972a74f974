"""image-floating-tag: every other container image should name a release too.

An image with no tag resolves to ``latest``, and ``latest`` (like ``main``, ``nightly``,
``stable``) moves: with ``imagePullPolicy: Always`` (the default for ``latest``, Kubernetes
"Images") every restart may run another build, and two replicas may run different ones.  The
LLM servers' own images are judged, as errors, by ``vllm-image-unpinned`` and
``server-image-unpinned``; this rule covers the rest (routers, gateways, UIs, sidecars, init
containers, images whose server it cannot tell) at warning: a risk, not a certain failure
(kube-linter's ``latest-tag``, docs/reference/tooling.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.servers import other_servers
from llmfleet.model.vllm import images
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="image-floating-tag",
    severity=Severity.WARNING,
    description="A container image (other than an LLM server's, judged by vllm-image-unpinned and "
    "server-image-unpinned) has no tag, or a floating tag such as latest",
    remediation="Pin the image to a release tag or a digest (image: nginx:1.27.1, or ...@sha256:...).",
    rationale="A floating tag is re-resolved at every pull: restarts and new replicas may run "
    "another build than the one tested (Kubernetes 'Images'; kube-linter latest-tag).",
    category="image",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        image: nginx:1.27.1

    Failing (``/spec/template/spec/containers/0/image``)::

        image: opea/codetrans-ui:latest
    """
    judged = {id(s.container) for s in model.servers} | {id(o.container) for o in other_servers(model)}
    for container in model.containers():
        reference = container.image
        if not reference or id(container) in judged:
            continue
        if any(mark in reference for mark in ("$", "{{", "<")):
            continue  # a template placeholder, filled before apply: no tag to judge
        image = images.parse(reference)
        if image.digest or image.mentions_vllm:
            continue  # pinned, or vllm-image-unpinned's
        if not image.tag or images.is_floating(image.tag):
            what = (
                "has no tag (it resolves to latest)"
                if not image.tag
                else f"uses the floating tag {image.tag!r}"
            )
            yield Problem(
                container.resource,
                f"{container.path}/image",
                f"image {reference!r} of container {container.name!r} {what}: a restart or a new "
                "replica may run another build",
            )

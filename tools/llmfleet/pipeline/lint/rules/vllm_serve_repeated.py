"""vllm-serve-repeated: the vllm/vllm-openai image already runs ``vllm serve``.

The image's ENTRYPOINT is ``["vllm", "serve"]`` with no CMD (docker/Dockerfile, confirmed
on 0.26.0 by jetson-ai-lab PR #420), so a container that keeps the entrypoint (no
``command``) and starts its ``args`` with ``vllm serve`` or ``serve`` runs
``vllm serve vllm serve …``: the model becomes ``vllm`` and startup fails with
"unrecognized arguments: serve" (docs/reference/vllm.md §2.3, §5.11).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="vllm-serve-repeated",
    severity=Severity.ERROR,
    description="args start with `vllm serve` or `serve` while the image entrypoint (already "
    "`vllm serve`) is kept",
    remediation="Drop `vllm serve` from args (pass the model and options only), or set "
    "command: [vllm, serve] explicitly.",
    rationale="The vllm/vllm-openai ENTRYPOINT is `vllm serve`; args are appended to it, so "
    "`vllm serve vllm serve MODEL` takes `vllm` as the model and fails "
    "(docs/reference/vllm.md §2.3).",
    category="vllm",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        image: vllm/vllm-openai:v0.33.0
        args: [--config, /etc/vllm/serve.yaml]

    Failing (``/spec/template/spec/containers/0/args/0``)::

        image: vllm/vllm-openai:v0.33.0
        args: [vllm, serve, --config, /etc/vllm/serve.yaml]
    """
    for server in model.servers:
        if server.repeated_serve is None:
            continue
        yield Problem(
            server.resource,
            server.repeated_serve.path,
            f"container {server.container.name!r} has no command, so the image "
            f"entrypoint `vllm serve` runs, and its args start with "
            f"`{server.repeated_serve.value}` again: vLLM fails with "
            '"unrecognized arguments"',
        )

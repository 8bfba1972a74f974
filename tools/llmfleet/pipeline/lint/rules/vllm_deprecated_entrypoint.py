"""vllm-deprecated-entrypoint: start the server with ``vllm serve``.

``python -m vllm.entrypoints.openai.api_server --model M`` is the older way to start the
OpenAI-compatible server; it still runs, takes ``--model`` as its normal option, and vLLM
points users to the ``vllm serve`` CLI instead.  ``python -m vllm.entrypoints.api_server`` is
vLLM's minimal demo server: not the OpenAI API, no metrics of the OpenAI server, not for
production (docs/reference/vllm-versions.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.vllm import flags as vflags
from llmfleet.model.vllm.server import LEGACY_API_SERVER, OPENAI_API_SERVER
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

#: python -m vllm.entrypoints.openai.api_server warns that it is deprecated from 0.29.0;
#: vllm.entrypoints.api_server is gone from 0.25.0 (docs/reference/vllm-versions.md §4.2-4.3).
OPENAI_DEPRECATED_FROM = "0.29.0"
LEGACY_REMOVED_FROM = "0.25.0"


@rule(
    id="vllm-deprecated-entrypoint",
    severity=Severity.WARNING,
    description="The server starts with `python -m vllm.entrypoints.openai.api_server` (older "
    "entrypoint) or `vllm.entrypoints.api_server` (the demo server, not the OpenAI API)",
    remediation="Run `vllm serve <model> [options]` (the vllm/vllm-openai image's ENTRYPOINT: "
    "pass the model and options as args), moving --model to the first argument.",
    rationale="vllm serve is the supported entrypoint: the openai.api_server module warns that "
    "it is deprecated from vLLM 0.29.0, and vllm.entrypoints.api_server (a demo, not the "
    "OpenAI-compatible API) is gone from 0.25.0; older images are judged by their own "
    "release (docs/reference/vllm-versions.md §4.2-4.3).",
    category="vllm",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        command: [vllm, serve]
        args: [meta-llama/Llama-3.1-8B-Instruct, --tensor-parallel-size, "1"]

    Failing, warning (``/spec/template/spec/containers/0/command``)::

        command: [python3, -m, vllm.entrypoints.openai.api_server]
        args: [--model, meta-llama/Llama-3.1-8B-Instruct]

    Failing, error (``/spec/template/spec/containers/0/command``)::

        command: [python3, -m, vllm.entrypoints.api_server, --model, m]
    """
    for server in model.servers:
        if server.entrypoint not in (OPENAI_API_SERVER, LEGACY_API_SERVER):
            continue
        release = server.image.vllm_version
        container = server.container
        key = "command" if container.command else "args"
        path = f"{container.path}/{key}"
        if server.entrypoint == LEGACY_API_SERVER:
            if vflags.at_least(release, LEGACY_REMOVED_FROM):
                yield Problem(
                    server.resource,
                    path,
                    f"container {container.name!r} runs vllm.entrypoints.api_server, which "
                    f"vLLM {release or vflags.NEWEST} no longer has (removed in "
                    f"{LEGACY_REMOVED_FROM}); run `vllm serve <model>`",
                    Severity.ERROR,
                )
            else:
                yield Problem(
                    server.resource,
                    path,
                    f"container {container.name!r} runs vllm.entrypoints.api_server, vLLM's "
                    "demo server: it is not the OpenAI-compatible API; run `vllm serve <model>`",
                )
        elif vflags.at_least(release, OPENAI_DEPRECATED_FROM):
            yield Problem(
                server.resource,
                path,
                f"container {container.name!r} starts vLLM with python -m "
                "vllm.entrypoints.openai.api_server; use `vllm serve <model>` (the model "
                "as the first argument instead of --model)",
            )

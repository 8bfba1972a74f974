"""vllm-config-unreadable: the ``--config`` file in a ConfigMap does not load.

vLLM reads its ``--config`` file with PyYAML's ``safe_load`` (``load_config_file``,
vllm/utils/argparse_utils.py in 0.33.0): a file that does not parse, that holds a value its
tag refuses (an invalid date, ``!!int abc``) or that is not a mapping stops the server at
start-up.  Every other vLLM rule then sees the server with its defaults, so this one says
why.  The message names the line, never the value (docs/reference/yaml.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="vllm-config-unreadable",
    severity=Severity.ERROR,
    description="A vLLM --config file (serve.yaml in a ConfigMap) that does not load as a "
    "YAML mapping, so vLLM does not start",
    remediation="Fix the YAML at the line shown (quote a value that is meant as text).",
    rationale="vLLM loads --config with yaml.safe_load and exits on an error; the other "
    "vLLM rules can only check the server's defaults (vllm/utils/argparse_utils.py in 0.33.0).",
    category="vllm",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        serve.yaml: |
          model: m
          released: "2024-02-30"

    Failing (the ConfigMap's ``/data/serve.yaml``)::

        serve.yaml: |
          model: m
          released: 2024-02-30
    """
    for server in model.servers:
        resource = server.config_resource
        if server.config_problem and resource is not None:
            why = server.config_problem.removeprefix(f"{resource.ref} {server.config_pointer} ")
            yield Problem(resource, server.config_pointer, f"vLLM's --config file {server.config_path} {why}")

"""vllm-config-false: ``key: false`` in a ``--config`` file is ignored.

vLLM 0.33's ``load_config_file`` (vllm/utils/argparse_utils.py) turns each key of the YAML
file into command-line arguments: a value gives ``--key value``, ``true`` gives ``--key``,
and ``false`` gives nothing at all.  A boolean option whose default is on
(``enable-prefix-caching``, ``enable-chunked-prefill``, ...) therefore stays on; the file
reads as if it were turned off.  The way to turn it off in the file is the negative option
``no-<key>: true`` (``--no-<key>``; ``disable-<x>`` for ``enable-<x>``), or the flag on the
command line (docs/reference/vllm-versions.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.vllm import flags as vflags
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="vllm-config-false",
    severity=Severity.ERROR,
    description="A boolean option set to false in a vLLM --config file, which vLLM 0.33 "
    "silently ignores (the option keeps its default)",
    remediation="Write the negative option instead: `no-<key>: true` in the file, or "
    "--no-<key> on the command line; drop the line if the default is what you want.",
    rationale="load_config_file emits --key for true and nothing for false, so `key: false` "
    "never turns an option off (vllm/utils/argparse_utils.py in 0.33.0; "
    "docs/reference/vllm-versions.md).",
    category="vllm",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        serve.yaml: |
          model: m
          no-enable-prefix-caching: true

    Failing (the ConfigMap's ``/data/serve.yaml``)::

        serve.yaml: |
          model: m
          enable-prefix-caching: false
    """
    for server in model.servers:
        for setting in server.config_ignored:
            found = vflags.lookup("--" + setting.written.replace("_", "-"), server.version)
            if found is None:
                continue  # vllm-removed-flag reports an unknown key
            if found.kind == vflags.SWITCH:
                yield Problem(
                    setting.resource,
                    setting.path,
                    f"{setting.where}: `{setting.written}: false` is ignored by vLLM's "
                    f"--config loader; --{setting.name} is off by default, so the line has "
                    "no effect: remove it",
                    Severity.WARNING,
                )
                continue
            negative = f"no-{setting.name}"
            if setting.name.startswith("enable-"):
                negative = "disable-" + setting.name[len("enable-") :]
            yield Problem(
                setting.resource,
                setting.path,
                f"{setting.where}: `{setting.written}: false` is ignored by vLLM's --config "
                f"loader (only true emits --{setting.name}); write `{negative}: true` or "
                f"pass --{negative} to turn it off",
            )

"""vllm-removed-flag: options that vLLM 0.33.0 rejects, ignores or deprecates.

vLLM's parser rejects an option it does not know ("unrecognized arguments"), in the args as
well as in the ``--config`` YAML file, whose keys become options (src
vllm/utils/argparse_utils.py ``load_config_file``).  Upgrades broke manifests this way:
``--swap-space`` was removed in 0.18.0 and ``--disable-log-requests`` by 0.17.0
(docs/reference/vllm.md §2.2, §5.11).  The list of known options is
``llmfleet/vllm/flags_0_33_0.txt``, generated from the 0.33.0 wheel by
``tools/scripts/extract_vllm_flags.py``.

Checked against the 0.33.0 source: ``--disable-log-requests`` parses again, because
FlexibleArgumentParser registers ``EnableDisableAction`` for ``BooleanOptionalAction`` and so
adds ``--disable-x`` next to every ``--enable-x``; it is a no-op there (request logging is off
by default) and fails on every release between its removal and that change, so it is a
warning that names the replacement.  ``--model`` still works with a deprecation warning
(docs/reference/vllm.md §2.1) and is reported as a warning.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.vllm import VLLM_VERSION
from llmfleet.model.vllm import flags as vflags
from llmfleet.model.vllm.server import IMAGE, VLLM_SERVE, Setting
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


def _removed_name(setting: Setting) -> str | None:
    written = setting.written
    name = written.lstrip("-") if setting.source == "config" or written.startswith("--") else ""
    name = vflags.normalise("--" + name.split("=", 1)[0])[2:] if name else ""
    for candidate in (name, setting.name):
        if candidate in vflags.REMOVED:
            return candidate
    return None


#: The image ENTRYPOINT became `vllm serve` after the 0.8 releases (vllm#17172, 2025-05): with
#: older images and the api_server module, --model is the normal option.
SERVE_ENTRYPOINT_FROM = "0.9.0"


@rule(
    id="vllm-removed-flag",
    severity=Severity.ERROR,
    description="A vLLM option (arg or --config key) that the image's vLLM release removed, does "
    "not know, or deprecates",
    remediation="Remove the option or use its replacement named in the message; check "
    "`vllm serve --help` of the pinned release.",
    rationale='vLLM\'s argument parser exits on an unknown option ("unrecognized arguments"), '
    "so the pod crash-loops; options were added and removed across releases, so each "
    "manifest is judged against its image's release (docs/reference/vllm-versions.md).",
    category="vllm",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        args: [--config, /etc/vllm/serve.yaml, --port, "8000", --shutdown-timeout, "45"]

    Passing (``--swap-space`` still exists in 0.10)::

        image: vllm/vllm-openai:v0.10.1
        args: [org/m, --swap-space, "4"]

    Failing (``/spec/template/spec/containers/0/args/2``)::

        args: [--config, /etc/vllm/serve.yaml, --swap-space, "4"]

    Failing (ConfigMap ``/data/serve.yaml``): a ``serve.yaml`` key ``swap-space: 4`` or an
    unknown key such as ``tensor-paralel-size: 2``.
    """
    for server in model.servers:
        release = server.image.vllm_version
        judged = (
            f"vLLM {release}" if release else f"vLLM {VLLM_VERSION} (the newest; the image names no release)"
        )
        for setting in server.all:
            removed = _removed_name(setting)
            where = setting.where
            if not setting.known:
                if server.release_unknown and any(
                    vflags.lookup(f"--{setting.name}", v) for v in vflags.table_versions()
                ):
                    continue  # an option of some release, in a build whose release is unknown
                if removed is not None:
                    info = vflags.REMOVED[removed]
                    yield Problem(
                        setting.resource,
                        setting.path,
                        f"--{removed} ({where}) is not an option of {judged}: {info.why}; "
                        f"replacement: {info.replacement}",
                    )
                else:
                    yield Problem(
                        setting.resource,
                        setting.path,
                        f"{where}: {judged} has no option --{setting.name}; "
                        '`vllm serve` fails with "unrecognized arguments"',
                    )
                continue
            if (
                removed is not None
                and not vflags.REMOVED[removed].fatal
                and vflags.at_least(release, VLLM_VERSION)
            ):
                info = vflags.REMOVED[removed]
                yield Problem(
                    setting.resource,
                    setting.path,
                    f"--{removed} ({where}): {info.why}; replacement: {info.replacement}",
                    Severity.WARNING,
                )
                continue
            if setting.name == "model" and (
                setting.source == "config"
                or server.entrypoint not in (VLLM_SERVE, IMAGE)
                or not vflags.at_least(release, SERVE_ENTRYPOINT_FROM)
            ):
                continue  # `model:` in the file, --model of the api_server entrypoint
            if (
                setting.name in vflags.DEPRECATED
                and vflags.at_least(release, VLLM_VERSION)
                and not server.release_unknown
            ):
                yield Problem(
                    setting.resource,
                    setting.path,
                    f"--{setting.name} ({where}) is deprecated in vLLM {VLLM_VERSION}; "
                    f"use {vflags.DEPRECATED[setting.name]}",
                    Severity.WARNING,
                )

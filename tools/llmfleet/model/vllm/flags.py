"""The command-line options of ``vllm serve`` per vLLM release.

``flags_<version>.txt`` are generated from the releases' PyPI wheels by
``tools/scripts/extract_vllm_flags.py`` (each header names the wheel and its sha256).  A
manifest is judged against the table of its image's release: the newest table at or below
the image tag (an unknown tag or ``latest``: the newest).  ``REMOVED`` lists options that
manifests still carry from older releases, with what replaces them
(docs/reference/vllm.md §2.2, §5.11; docs/reference/vllm-versions.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from llmfleet.model.vllm import VLLM_VERSION

#: The newest vLLM release whose options are known: what `:latest` or an unknown tag means
#: (an alias of the one home of the pinned version, :data:`llmfleet.model.vllm.VLLM_VERSION`).
NEWEST = VLLM_VERSION

VALUE, OPTIONAL, SWITCH, BOOL = "value", "optional", "switch", "bool"


@dataclass(frozen=True)
class Removed:
    replacement: str
    why: str
    #: error: argparse rejects it ("unrecognized arguments"); warning: still parses
    fatal: bool = True


#: Options removed from ``vllm serve`` (keys without leading dashes).
REMOVED: dict[str, Removed] = {
    "swap-space": Removed(
        "nothing (CPU swap space is gone; drop the flag, use --kv-offloading-size to offload KV "
        "to CPU memory)",
        "removed from EngineArgs in v0.18.0 (PR #36216); passing it is an argparse error "
        "(docs/reference/vllm.md §2.2, §5.11)",
    ),
    "disable-log-requests": Removed(
        "nothing: request logging is off by default (--enable-log-requests defaults to False); "
        "use --enable-log-requests to turn it on",
        'deprecated by PR #21739 and removed by 0.17.0 ("unrecognized arguments", docs/reference/vllm.md §2.2, '
        "§5.11); 0.33.0 accepts it again only as the generated inverse of --enable-log-requests "
        "(EnableDisableAction in vllm/utils/argparse_utils.py), so it is a no-op that breaks "
        "every image from 0.17 up to that change",
        fatal=False,
    ),
    "engine-use-ray": Removed("nothing (the V0 engine is gone)", "V0-only option"),
    "use-v2-block-manager": Removed("nothing (the V0 engine is gone)", "V0-only option"),
    "num-lookahead-slots": Removed("--speculative-config", "V0-only option"),
    "guided-decoding-backend": Removed(
        "--structured-outputs-config.backend", "structured outputs replaced guided decoding"
    ),
    "task": Removed(
        "--runner pooling and --convert {embed,classify,reward}",
        "vLLM's parser adds this hint itself (FlexibleArgumentParser.error)",
    ),
}

#: Options that 0.33.0 still parses but deprecates (key without dashes → replacement).
DEPRECATED: dict[str, str] = {
    "model": "the model as the first positional argument of `vllm serve` (or `model:` in the "
    '--config file); `--model` "will be removed in a future version" (docs/reference/vllm.md §2.1)',
    "log-config-file": "--logging-config.pylogging_config_file (arg_utils "
    "_LOG_CONFIG_FILE_DEPRECATION_MESSAGE)",
    "mamba-cache-mode": "nothing: Mamba prefix caching follows --enable-prefix-caching",
    "disable-cascade-attn": "nothing: cascade attention has been removed",
}


@dataclass(frozen=True)
class Flag:
    kind: str  # VALUE, OPTIONAL, SWITCH or BOOL
    canonical: str  # the registered long option it stands for ("--tensor-parallel-size")
    negates: bool = False  # "--no-x" / the EnableDisableAction inverse: sets it to False


def data_file(version: str) -> str:
    """``0.18.0`` → ``flags_0_18_0.txt``."""
    return "flags_" + version.replace(".", "_") + ".txt"


def table_versions() -> list[str]:
    """The releases with a committed flag table (``flags_<version>.txt``), oldest first."""
    names = [
        entry.name
        for entry in resources.files(__package__).iterdir()
        if entry.name.startswith("flags_") and entry.name.endswith(".txt")
    ]
    versions = [name[len("flags_") : -len(".txt")].replace("_", ".") for name in names]
    return sorted(versions, key=lambda v: tuple(int(p) for p in v.split(".") if p.isdigit()))


@cache
def known_flags(version: str = NEWEST) -> dict[str, Flag]:
    """``{option as written: Flag}`` from the generated data file of ``version`` (one of
    :func:`table_versions`, each extracted from that release's PyPI wheel; the newest by
    default)."""
    name = data_file(version)
    path = resources.files(__package__).joinpath(name)
    if not path.is_file():
        raise KeyError(f"no vLLM flag table for {version} (have {', '.join(table_versions())})")
    text = path.read_text(encoding="utf-8")
    table: dict[str, Flag] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        option = parts[0]
        kind = parts[1] if len(parts) > 1 else VALUE
        canonical = parts[2] if len(parts) > 2 else option
        table[option] = Flag(kind, canonical, len(parts) > 3 and parts[3] == "negates")
    return table


def normalise(option: str) -> str:
    """``--max_num_seqs`` → ``--max-num-seqs`` (only the part before a ``.``), as vLLM's
    FlexibleArgumentParser does; ``--json-arg.key`` and ``--json-arg.key+`` keep the key."""
    if not option.startswith("--"):
        return option
    head, dot, rest = option[2:].partition(".")
    return "--" + head.replace("_", "-") + dot + rest


def base_option(option: str) -> str:
    """The registered option behind ``--json-arg.key.sub+`` (vLLM's dotted JSON args)."""
    option = normalise(option)
    if option.startswith("--") and "." in option:
        return option.partition(".")[0]
    return option


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:3] if p.isdigit())


@lru_cache(maxsize=256)
def table_for(version: str | None) -> str:
    """The flag table that judges ``version``: the newest release at or below it; the oldest
    table for an older release; the newest for None."""
    versions = table_versions()
    if not version:
        return NEWEST
    wanted = version_key(version)
    older = [v for v in versions if version_key(v) <= wanted]
    return older[-1] if older else versions[0]


def at_least(version: str | None, minimum: str) -> bool:
    """Is the judged release (None: the newest) ``minimum`` or later?"""
    return version_key(version or NEWEST) >= version_key(minimum)


def lookup(option: str, version: str | None = None) -> Flag | None:
    """What an option as written stands for in ``version`` (default: the newest release), or
    None when that release's ``vllm serve`` rejects it.

    argparse also accepts an unambiguous prefix of a long option (``allow_abbrev`` is not
    turned off by vLLM's parser), so ``--tensor-parallel`` is ``--tensor-parallel-size``.
    """
    table = known_flags(table_for(version))
    option = base_option(option)
    if option in table:
        return table[option]
    if option.startswith("-O") and not option.startswith("--"):
        return Flag(VALUE if option == "-O" else SWITCH, "--optimization-level")
    if option.startswith("--") and len(option) > 3:
        matches = [name for name in table if name.startswith(option)]
        if len(matches) == 1:
            return table[matches[0]]
    return None


def is_known(option: str) -> bool:
    return lookup(option) is not None

#!/usr/bin/env python3
"""Extract the option strings that ``vllm serve`` accepts from a vLLM wheel, without importing it.

vLLM cannot be imported here (it needs torch and a GPU platform), so this reads the source
with :mod:`ast` and replays what the parser construction does:

* every ``<parser or group>.add_argument("--flag", "-f", ...)`` call in
  ``vllm/engine/arg_utils.py`` (``EngineArgs`` / ``AsyncEngineArgs.add_cli_args``) and in
  ``vllm/entrypoints/common/cli_args.py`` (``make_arg_parser``: ``model_tag``, ``--config``,
  ``--headless``, ``--api-server-count``...);
* every field of the ``BaseFrontendArgs`` / ``FrontendArgs`` dataclasses, which
  ``BaseFrontendArgs.add_cli_args`` registers as ``--<field-with-dashes>`` in a loop;
* boolean flags: ``action=argparse.BooleanOptionalAction`` or ``**X_kwargs["field"]`` where
  ``X_kwargs = get_kwargs(SomeConfig)`` and the field's annotation contains ``bool``
  (``get_kwargs`` then sets ``BooleanOptionalAction``, arg_utils ``_compute_kwargs``).  Such a
  flag also accepts ``--no-<flag>``; and because ``FlexibleArgumentParser`` registers
  ``EnableDisableAction`` for ``BooleanOptionalAction`` (vllm/utils/argparse_utils.py), an
  ``--enable-x`` flag also accepts ``--disable-x`` (and the reverse); there is no
  ``--no-<inverse>``.

Older releases keep the frontend options in ``vllm/entrypoints/openai/cli_args.py`` (0.8.5 ...
0.28.0) or ``vllm/entrypoints/launchers/cli_args.py`` (0.29.0 ... 0.32.0), and 0.8.5 keeps the
config dataclasses in one module, ``vllm/config.py``; every layout is read.  The generated
``--disable-x`` inverse of ``--enable-x`` is added only when the wheel's
``vllm/utils/argparse_utils.py`` defines ``EnableDisableAction`` (first in the 0.33.0 wheel of the
releases tabled; absent from 0.8.5 ... 0.18.0).

Usage::

    # one wheel or unpacked source tree (the folder that holds ``vllm/``) to stdout
    python tools/scripts/extract_vllm_flags.py /tmp/vllm/vllm-0.33.0-*.whl \
        > tools/llmfleet/model/vllm/flags_0_33_0.txt
    # download each release's wheel from PyPI (pip download --no-deps), write
    # flags_<version>.txt into DIR, delete the wheel
    python tools/scripts/extract_vllm_flags.py --pypi 0.8.5 0.10.2 0.33.0 --out tools/llmfleet/model/vllm
    # which options appear and disappear between the tables in DIR (markdown)
    python tools/scripts/extract_vllm_flags.py --history tools/llmfleet/model/vllm

Output: a header, then ``<option> <kind>`` per line, sorted.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import vllm_wheel
from vllm_wheel import Source

FILES = (
    "vllm/engine/arg_utils.py",
    "vllm/entrypoints/common/cli_args.py",  # 0.33.0 layout
    "vllm/entrypoints/launchers/cli_args.py",  # 0.29.0 ... 0.32.0 layout
    "vllm/entrypoints/openai/cli_args.py",  # 0.8.5 ... 0.28.0 layout
    "vllm/entrypoints/cli/serve.py",  # `vllm serve` subparser extras (--config in 0.8.5)
)
ARGPARSE_UTILS = "vllm/utils/argparse_utils.py"
FRONTEND_CLASSES = ("BaseFrontendArgs", "FrontendArgs")
ENABLE_DISABLE = {"--enable-": "--disable-", "--disable-": "--enable-"}


def dataclass_fields(source: Source) -> dict[str, dict[str, str]]:
    """``{class name: {field: annotation source}}`` for every class under vllm/config and
    vllm/entrypoints/common (the config dataclasses ``get_kwargs`` reads)."""
    classes: dict[str, dict[str, str]] = {}
    for name in source.names():
        if not name.endswith(".py") or not (
            name.startswith(("vllm/config/", "vllm/entrypoints/common/"))
            or name == "vllm/config.py"
            or name in FILES[1:-1]
        ):
            continue
        tree = ast.parse(source.read(name))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                fields = classes.setdefault(node.name, {})
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        fields[item.target.id] = ast.unparse(item.annotation)
    return classes


#: Kinds written to the data file: how the option consumes command-line words.
BOOL = "bool"  # BooleanOptionalAction: no value; --no-<flag> exists
SWITCH = "switch"  # store_true / store_false / store_const / count: no value
OPTIONAL = "optional"  # nargs="?": a value may follow (bool | str fields, e.g. --hf-token)
VALUE = "value"  # takes a value
RANK = {VALUE: 0, OPTIONAL: 1, SWITCH: 2, BOOL: 3}


def annotation_kind(annotation: str) -> str:
    """What ``get_kwargs`` makes of a field annotation (arg_utils ``_compute_kwargs``):
    ``bool | str | None`` is an optional-valued flag, any other ``bool`` a BooleanOptionalAction."""
    words = set(
        annotation.replace("(", " ")
        .replace(")", " ")
        .replace("|", " ")
        .replace(",", " ")
        .replace("[", " ")
        .replace("]", " ")
        .split()
    )
    if "bool" not in words:
        return VALUE
    if "str" in words:
        return OPTIONAL
    return BOOL


def add_flag(flags: dict[str, str], option: str, kind: str) -> None:
    old = flags.get(option, VALUE)
    flags[option] = kind if RANK[kind] >= RANK[old] else old


def extract(
    source: Source, aliases: dict[str, str] | None = None, negations: dict[str, str] | None = None
) -> dict[str, str]:
    """``{option: kind}``; short and alias options are recorded in ``aliases`` (→ the option
    they stand for), generated negative options in ``negations`` (→ the option they negate)."""
    aliases = {} if aliases is None else aliases
    negations = {} if negations is None else negations
    enable_disable = has_enable_disable_action(source)
    classes = dataclass_fields(source)
    flags: dict[str, str] = {}
    for name in used_files(source):
        tree = ast.parse(source.read(name))
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            kwargs_class: dict[str, str] = {}
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Call)
                    and isinstance(node.value.func, ast.Name)
                    and node.value.func.id == "get_kwargs"
                    and node.value.args
                    and isinstance(node.value.args[0], ast.Name)
                ):
                    kwargs_class[node.targets[0].id] = node.value.args[0].id
            for node in ast.walk(func):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add_argument"
                ):
                    continue
                options = [
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("-")
                ]
                kind = VALUE
                for kw in node.keywords:
                    text = ast.unparse(kw.value)
                    if kw.arg == "action":
                        if "BooleanOptionalAction" in text:
                            kind = BOOL
                        elif any(
                            a in text
                            for a in ("store_true", "store_false", "store_const", "count", "version")
                        ):
                            kind = SWITCH
                    elif kw.arg == "nargs" and text in ("'?'", '"?"'):
                        kind = OPTIONAL if kind == VALUE else kind
                    elif kw.arg is None:
                        # **X_kwargs["field"] or **{**X_kwargs["field"], "default": ...}
                        for sub in ast.walk(kw.value):
                            if (
                                isinstance(sub, ast.Subscript)
                                and isinstance(sub.value, ast.Name)
                                and sub.value.id in kwargs_class
                                and isinstance(sub.slice, ast.Constant)
                            ):
                                annotation = classes.get(kwargs_class[sub.value.id], {}).get(
                                    sub.slice.value, ""
                                )
                                kind = annotation_kind(annotation)
                for option in options:
                    add_flag(flags, option, kind)
                longs = [o for o in options if o.startswith("--")]
                for option in options:
                    if not option.startswith("--") and longs:
                        aliases[option] = longs[0]
    for cls in FRONTEND_CLASSES:
        for field, annotation in classes.get(cls, {}).items():
            add_flag(flags, "--" + field.replace("_", "-"), annotation_kind(annotation))
    # BooleanOptionalAction / EnableDisableAction aliases: they set the registered option's
    # destination to False (``negates``) -- except "--no-<inverse>", which sets it to True.
    for option, kind in list(flags.items()):
        if kind != BOOL or not option.startswith("--") or option in negations:
            continue
        negated = "--no-" + option[2:]
        if negated not in flags:
            add_flag(flags, negated, BOOL)
            negations[negated] = option
        for prefix, inverse in ENABLE_DISABLE.items() if enable_disable else ():
            if option.startswith(prefix):
                other = inverse + option[len(prefix) :]
                if other not in flags:  # only the inverse itself, no "--no-<inverse>"
                    add_flag(flags, other, BOOL)
                    negations[other] = option
    return flags


def used_files(source: Source) -> list[str]:
    """The parser-building modules this release has (see FILES)."""
    return [name for name in FILES if source.has(name)]


def has_enable_disable_action(source: Source) -> bool:
    """FlexibleArgumentParser turns BooleanOptionalAction into EnableDisableAction (0.33.0)."""
    return source.has(ARGPARSE_UTILS) and "class EnableDisableAction" in source.read(ARGPARSE_UTILS)


def render(path: Path) -> str:
    """The data file for one wheel (or source tree)."""
    source = Source(path)
    aliases: dict[str, str] = {}
    negations: dict[str, str] = {}
    flags = extract(source, aliases, negations)
    version = source.version()
    digest = source.digest()
    files = used_files(source)
    lines = [
        f"# Option strings accepted by `vllm serve` in vLLM {version}.",
        "# Generated by tools/scripts/extract_vllm_flags.py from the PyPI wheel",
        f"# {path.name} (sha256 {digest}),",
        f"# obtained with `pip download vllm=={version} --no-deps`; do not edit by hand.",
        "# Sources: " + ", ".join(files) + " (add_argument calls, FrontendArgs fields,",
        "# get_kwargs of the config dataclasses under vllm/config).",
        "# Inverse --disable-x/--enable-x aliases (EnableDisableAction in "
        + ARGPARSE_UTILS
        + "): "
        + ("yes" if has_enable_disable_action(source) else "no")
        + ".",
        "# Format: '<option> <kind>'; kind: value (takes a value), optional (nargs='?'),",
        "# switch (store_true & co, no value), bool (BooleanOptionalAction, no value);",
        "# a third column names the registered option it stands for (short options and",
        "# aliases) or, followed by 'negates', the boolean option it sets to False",
        "# (--no-x; --disable-x for --enable-x and the reverse: EnableDisableAction).",
        "# argparse prefix abbreviations are not listed.",
    ]
    for option in sorted(flags):
        if option in negations:
            extra = f" {negations[option]} negates"
        elif option in aliases:
            extra = f" {aliases[option]}"
        else:
            extra = ""
        lines.append(f"{option} {flags[option]}{extra}")
    return "\n".join(lines) + "\n"


def data_file_name(version: str) -> str:
    return "flags_" + version.replace(".", "_") + ".txt"


def read_table(path: Path) -> tuple[str, set[str]]:
    version, options = "", set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# Option strings accepted by `vllm serve` in vLLM "):
            version = line.rsplit(" ", 1)[1].rstrip(".")
        elif line and not line.startswith("#"):
            options.add(line.split()[0])
    return version, options


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def history(folder: Path) -> str:
    """Markdown: the options each table adds and drops against the previous one."""
    tables = sorted((read_table(p) for p in folder.glob("flags_*.txt")), key=lambda t: version_key(t[0]))
    out = [
        "| release | options added since the previous table | options gone since the previous table |",
        "|---|---|---|",
    ]
    for (old, old_opts), (new, new_opts) in zip(tables, tables[1:]):
        added = " ".join(f"`{o}`" for o in sorted(new_opts - old_opts)) or "—"
        gone = " ".join(f"`{o}`" for o in sorted(old_opts - new_opts)) or "—"
        out.append(f"| {old} → {new} | {added} | {gone} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(vllm_wheel.main(sys.argv, __doc__ or "", render, history, data_file_name))

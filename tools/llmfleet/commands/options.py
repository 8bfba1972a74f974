"""Options and helpers more than one subcommand takes: the report, validation and lint
options, the Options object they fill, and how a report is written and turned into an exit code."""

from __future__ import annotations

import sys

import click

from llmfleet.infra.output import write_output
from llmfleet.pipeline.reporters import FORMATS, REPORTERS

#: For tests and wrappers: the repository root, instead of the folder with llmfleet.yaml
#: above the current one.
repo_root_option = click.option(
    "--repo-root",
    type=click.Path(file_okay=False),
    hidden=True,
    help="Repository root (default: the folder with llmfleet.yaml above the cwd).",
)


def report_options(func):
    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="text",
            show_default=True,
            help="Output format.",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, writable=True),
            help="Write the report to this file instead of stdout.",
        ),
        click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1)."),
        click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Overlays rendered at once."),
        click.option("-v", "--verbose", is_flag=True, help="Say which tools were used."),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Render every kustomization again (ignore .llmfleet-cache/render).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def validate_options(func):
    options = [
        click.option(
            "--validator",
            type=click.Choice(VALIDATORS),
            default="auto",
            show_default=True,
            help="kubeconform when on PATH (auto), or in-process jsonschema.",
        ),
        click.option(
            "--kubernetes-version",
            metavar="X.Y.Z",
            help="Kubernetes version of the built-in schemas (default: llmfleet.yaml, 1.33.0).",
        ),
        click.option(
            "--schema-location",
            "schema_locations",
            multiple=True,
            metavar="TEMPLATE",
            help="CRD schema location in kubeconform's template syntax (repeatable); "
            "tried before those in llmfleet.yaml.",
        ),
        click.option(
            "--ignore-missing-schemas",
            is_flag=True,
            help="A kind with no schema (or whose download failed) is not an error; "
            "its apiVersion, kind and metadata are still checked.",
        ),
        click.option(
            "--offline",
            is_flag=True,
            help="Never download a schema: local locations and the cache only (also LLMFLEET_OFFLINE=1).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def lint_options(func):
    func = click.option(
        "--preset",
        type=click.Choice(["auto", "fleet", "foreign"]),
        default="auto",
        show_default=True,
        help="Rules for this repository's overlays (fleet) or for manifests written elsewhere "
        "(foreign: no fleet-convention checks, hardening policy at info); auto picks per input.",
    )(func)
    return click.option(
        "--disable",
        "disabled_rules",
        multiple=True,
        metavar="RULE",
        help="Turn a rule off for this run (repeatable).",
    )(func)


def finish(report, fmt: str, output: str | None, strict: bool) -> None:
    write_output(REPORTERS[fmt](report), output)
    sys.exit(report.exit_code(strict))


VALIDATORS = ("auto", "jsonschema", "kubeconform")  # llmfleet.pipeline.runner.VALIDATORS


def pipeline_options(**kwargs):
    # The checker (and jsonschema behind it) is imported only when a command needs it.
    from llmfleet.pipeline.runner import Options

    return Options(
        validator=kwargs.get("validator") or "auto",
        kubernetes_version=kwargs.get("kubernetes_version"),
        schema_locations=list(kwargs.get("schema_locations") or []),
        ignore_missing_schemas=bool(kwargs.get("ignore_missing_schemas")),
        strict=bool(kwargs.get("strict")),
        jobs=kwargs.get("jobs"),
        verbose=bool(kwargs.get("verbose")),
        disabled_rules=list(kwargs.get("disabled_rules") or []),
        preset=kwargs.get("preset") or "auto",
        cache=not kwargs.get("no_cache"),
        offline=bool(kwargs.get("offline")),
    )


def say_tools(options, validator: bool = True, renderer: bool = True) -> None:
    if not options.verbose:
        return
    from llmfleet.pipeline.render import find_renderer
    from llmfleet.pipeline.runner import choose_validator

    if renderer:
        r = find_renderer()
        click.echo(f"llmfleet: rendering with {r.name} ({r.argv[0]})", err=True)
    if validator:
        click.echo(f"llmfleet: validating with {choose_validator(options)}", err=True)

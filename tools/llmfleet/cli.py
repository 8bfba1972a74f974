"""The ``llmfleet`` command line: a thin click layer over plain functions.

Exit codes (``llmfleet.infra.exitcodes``): 0 clean, 1 findings at error severity (or warnings with
--strict), 2 usage error or a report that cannot be written, 3 an external tool missing,
failing or timing out, 4 an internal error (a bug in llmfleet), 141 stdout's reader went
away, 128 + N stopped by signal N (130 SIGINT, 143 SIGTERM).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
from pathlib import Path

import click

from llmfleet import ISSUES_URL, __version__
from llmfleet.infra import exitcodes, procs
from llmfleet.infra.errors import LlmfleetError
from llmfleet.infra.output import silence_stdout, stdout_problem, write_output
from llmfleet.pipeline.config import load_config
from llmfleet.pipeline.reporters import FORMATS, REPORTERS

PACKAGE_DIR = Path(__file__).resolve().parent


def _where(exc: BaseException) -> str:
    """``file:line in function`` of the innermost llmfleet frame of a traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(PACKAGE_DIR)]
    if not (ours or frames):
        return "unknown location"
    frame = (ours or frames)[-1]
    try:
        shown = Path(frame.filename).resolve().relative_to(PACKAGE_DIR.parent).as_posix()
    except ValueError:
        shown = frame.filename
    return f"{shown}:{frame.lineno} in {frame.name}"


def _writing_stdout(exc: OSError) -> bool:
    """Whether an OSError was raised while printing (click.echo, a reporter's output)."""
    return any(
        f.name in ("echo", "write_output", "write_stdout") or "/click/" in f.filename
        for f in traceback.extract_tb(exc.__traceback__)[-3:]
    )


def environment_problem(exc: OSError) -> str:
    """``<file>: <reason>`` for an OSError, the file name shortened when very long."""
    from llmfleet.pipeline.redact import remembered, scrub_text

    reason = exc.strerror or str(exc)
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    shown = [n if len(n) <= 120 else f"{n[:60]}...{n[-40:]} ({len(n)} characters)" for n in names]
    where = " -> ".join(shown)
    return scrub_text(f"{where}: {reason}" if where else reason, remembered())


def scrub_arg(text: str) -> str:
    from llmfleet.pipeline.redact import remembered, scrub_text

    return scrub_text(text if len(text) <= 200 else f"{text[:120]}...{text[-40:]}", remembered())


def internal_error(exc: BaseException) -> int:
    """One line naming the exception and where it happened, and where to report it; the
    traceback only with LLMFLEET_DEBUG=1."""
    from llmfleet.pipeline.redact import scrub_internal

    if os.environ.get("LLMFLEET_DEBUG", "") not in ("", "0"):
        traceback.print_exception(exc, file=sys.stderr)
    detail = scrub_internal(str(exc).strip().splitlines()[0] if str(exc).strip() else "")[:300]
    click.echo(
        f"llmfleet: internal error: {type(exc).__name__}{': ' + detail if detail else ''} "
        f"(at {_where(exc)}). This is a bug in llmfleet, not a finding about your manifests: "
        f"please report it at {ISSUES_URL} with the command you ran "
        "(LLMFLEET_DEBUG=1 prints the traceback).",
        err=True,
    )
    return exitcodes.INTERNAL


class Main(click.Group):
    """Turns every LlmfleetError into one message on stderr and its exit code, a signal into
    stopped tools and exit code 128 + N, any other exception into exit code 4 (internal
    error), and loads the subcommands of ``llmfleet.commands`` only when they are called (or
    listed by --help): module ``new_model`` is command ``new-model`` and exposes a click
    ``command``."""

    def _plugin_names(self) -> dict[str, str]:
        from llmfleet import commands

        return {
            m.name.replace("_", "-"): m.name
            for m in pkgutil.iter_modules(commands.__path__)
            if not m.name.startswith("_")
        }

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self._plugin_names()})

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        module = self._plugin_names().get(name)
        if module is None:
            return None
        command = getattr(importlib.import_module(f"llmfleet.commands.{module}"), "command", None)
        return command if isinstance(command, click.Command) else None

    def invoke(self, ctx: click.Context):
        try:
            with procs.handle_signals():
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except LlmfleetError as err:
            from llmfleet.pipeline.redact import remembered, scrub_text

            # A tool's output (kustomize's error, kubeconform's report) may quote a value.
            click.echo(f"llmfleet: error: {scrub_text(str(err), remembered())}", err=True)
            if err.exit_code in (exitcodes.BROKEN_PIPE, exitcodes.USAGE):
                silence_stdout()
            ctx.exit(err.exit_code)
        except procs.Interrupted as exc:
            stopped = procs.kill_all()
            click.echo(
                f"llmfleet: interrupted ({exc.signal_name}): running tools stopped"
                f"{f' ({stopped} more)' if stopped else ''}, temporary files removed",
                err=True,
            )
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("llmfleet: interrupted", err=True)
            ctx.exit(exitcodes.INTERRUPTED)
        except OSError as exc:
            if _writing_stdout(exc):
                problem = stdout_problem(exc)
                click.echo(f"llmfleet: error: {problem}", err=True)
                silence_stdout()
                ctx.exit(problem.exit_code)
            if exc.errno is None:
                ctx.exit(internal_error(exc))
            # The system said no (a name too long, a link loop, a full disk, no permission):
            # about the input or the machine, not a bug.
            click.echo(f"llmfleet: error: {environment_problem(exc)}", err=True)
            ctx.exit(exitcodes.USAGE)
        except RuntimeError as exc:
            if str(exc).startswith("Symlink loop from"):  # pathlib's resolve() on a link loop
                click.echo(f"llmfleet: error: {scrub_arg(str(exc))}: a symbolic link loop", err=True)
                ctx.exit(exitcodes.USAGE)
            ctx.exit(internal_error(exc))
        except Exception as exc:  # RecursionError included
            ctx.exit(internal_error(exc))


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llmfleet")
def main():
    """Render, validate and lint a Kustomize repository of vLLM deployments.

    Exit codes: 0 clean, 1 findings at error severity (warnings too with --strict),
    2 usage error or a report that cannot be written, 3 a tool (kustomize, kubeconform,
    promtool, git) missing, failing or timing out, 4 internal error (a bug in llmfleet),
    141 stdout's reader went away, 128+N stopped by signal N (130 Ctrl-C, 143 SIGTERM).
    """


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


def _options(**kwargs):
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


def _say_tools(options, validator: bool = True, renderer: bool = True) -> None:
    if not options.verbose:
        return
    from llmfleet.pipeline.render import find_renderer
    from llmfleet.pipeline.runner import choose_validator

    if renderer:
        r = find_renderer()
        click.echo(f"llmfleet: rendering with {r.name} ({r.argv[0]})", err=True)
    if validator:
        click.echo(f"llmfleet: validating with {choose_validator(options)}", err=True)


@main.command()
@click.argument("overlay")
@click.option("-v", "--verbose", is_flag=True, help="Say which renderer was used (on stderr).")
def build(overlay: str, verbose: bool):
    """Render one OVERLAY (a folder, or an overlay's name) to stdout (kustomize if on PATH,
    else kubectl kustomize)."""
    from llmfleet.pipeline.render import find_renderer
    from llmfleet.pipeline.render_cache import RenderCache

    config = load_config()
    directory = config.resolve_overlay_arg(overlay)
    renderer = find_renderer()
    if verbose:
        click.echo(f"llmfleet: rendering with {renderer.name} ({renderer.argv[0]})", err=True)
    # Not cached, but its files are checked first (no FIFO, device or oversized file).
    uncached = RenderCache(config.root, renderer, enabled=False, max_bytes=config.limits.max_input_bytes)
    rendered = uncached.render(directory, config.limits.render_timeout_s)
    if not rendered.ok:
        click.echo(f"llmfleet: {overlay}: kustomize build failed: {rendered.error}", err=True)
        sys.exit(exitcodes.FINDINGS)
    write_output(rendered.text, None)


@main.command()
@click.argument("targets", nargs=-1)
@validate_options
@report_options
def validate(targets, fmt, output, strict, **kwargs):
    """Validate TARGETS against their schemas.

    A target is an overlay folder, a YAML file, a folder of YAML files, or - for stdin;
    no target means every overlay.
    """
    options = _options(strict=strict, **kwargs)
    config = load_config(use_cache=options.cache)
    _say_tools(options, renderer=any(Path(t).is_dir() for t in targets) or not targets)
    from llmfleet.pipeline.runner import run_validate

    finish(run_validate(config, list(targets), options), fmt, output, strict)


@main.command()
@click.argument("targets", nargs=-1)
@lint_options
@report_options
def lint(targets, fmt, output, strict, **kwargs):
    """Run the lint rules over TARGETS (overlays, YAML files or folders, - for stdin);
    no target means every overlay."""
    options = _options(strict=strict, **kwargs)
    config = load_config(use_cache=options.cache)
    from llmfleet.pipeline.runner import run_lint

    finish(run_lint(config, list(targets), options), fmt, output, strict)


@main.command()
@click.argument("overlays", nargs=-1)
@click.option(
    "--changed-since",
    metavar="REF",
    help="Only the overlays (and platform kustomizations) affected by the files changed "
    "since this git revision (see `llmfleet affected`; with OVERLAYS, those of them "
    "that are affected), plus the fleet-wide rules.",
)
@validate_options
@lint_options
@report_options
def check(overlays, fmt, output, strict, changed_since=None, **kwargs):
    """Build, validate and lint OVERLAYS (default: all) and run the fleet-wide rules."""
    options = _options(strict=strict, **kwargs)
    # The configuration's schema is checked once the renders have started (Checker.run),
    # and in any case before anything is reported.
    config = load_config(use_cache=options.cache, defer_schema_check=True)
    try:
        _say_tools(options)
        from llmfleet.pipeline.runner import run_check

        report = run_check(config, list(overlays), options, changed_since=changed_since)
    finally:
        config.check_schema()
    finish(report, fmt, output, strict)


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="markdown: the rule reference (docs/rules.md).",
)
def rules(fmt):
    """List the lint rules and the built-in finding ids: id, severity (as lint reports it with
    this repository's llmfleet.yaml), description and remediation."""
    from llmfleet.pipeline.lint import rules_doc

    config = load_config()
    click.echo(rules_doc.render(fmt, config.rule_options, config.disabled_rules), nl=False)

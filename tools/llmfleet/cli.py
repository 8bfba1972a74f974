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
from llmfleet.infra.output import silence_stdout, stdout_problem

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

"""Errors that the CLI turns into one clear message and an exit code, never a traceback."""

from __future__ import annotations

from llmfleet.infra import exitcodes


class LlmfleetError(Exception):
    """Base class: ``str(err)`` is the whole message shown to the user."""

    exit_code = exitcodes.USAGE


class UsageError(LlmfleetError):
    exit_code = exitcodes.USAGE


class ToolError(LlmfleetError):
    """An external tool is missing or failed: name it, its command, exit code and output."""

    exit_code = exitcodes.TOOL

    def __init__(
        self,
        tool: str,
        message: str,
        *,
        command: list[str] | None = None,
        returncode: int | None = None,
        output: str = "",
        install_hint: str = "",
    ):
        self.tool = tool
        self.command = command
        self.returncode = returncode
        self.output = output
        self.install_hint = install_hint
        parts = [f"{tool}: {message}"]
        if command:
            parts.append("command: " + " ".join(command))
        if returncode is not None:
            parts.append(f"exit code: {returncode}")
        if output.strip():
            parts.append("output:\n" + _indent(output.strip()))
        if install_hint:
            parts.append("install: " + install_hint)
        super().__init__("\n".join(parts))


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


class OutputError(LlmfleetError):
    """The report cannot be written: stdout closed or full, -o into an unwritable place."""

    exit_code = exitcodes.USAGE


class BrokenPipe(LlmfleetError):
    """The reader of stdout went away (``llmfleet ... | head -1``)."""

    exit_code = exitcodes.BROKEN_PIPE

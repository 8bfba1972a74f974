"""GitHub Actions workflow commands (``::error file=…,line=…,title=…::message``).

Escaping follows @actions/core ``command.ts``: data escapes ``%``, CR and LF; property
values also escape ``:`` and ``,`` (docs/reference/tooling.md §7.1).  Annotations do not
fail a step by themselves: the exit code does.
"""

from __future__ import annotations

from llmfleet.infra.findings import Severity
from llmfleet.pipeline.report import Report

LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(report: Report) -> str:
    lines = []
    for f in report.sorted_findings():
        props = []
        if f.file:
            props.append(f"file={escape_property(f.file)}")
            props.append(f"line={f.line or 1}")
        title = f"{f.rule}" + (f" ({f.object_ref})" if f.object_ref else "")
        props.append(f"title={escape_property(title)}")
        message = f.message + (f" [{f.path}]" if f.path else "")
        if f.overlay:
            message = f"{f.overlay}: {message}"
        lines.append(f"::{LEVEL[f.severity]} {','.join(props)}::{escape_data(message)}")
    s = report.summary()
    lines.append(
        f"{report.command}: {s['inputs']} input(s), {s['objects']} object(s): "
        f"{s['errors']} error(s), {s['warnings']} warning(s)"
    )
    return "\n".join(lines) + "\n"

"""Human-readable output: one line per finding, grouped by input, and a summary line."""

from __future__ import annotations

from llmfleet.pipeline.report import Report


def location(f) -> str:
    where = f.file or f.overlay or "<input>"
    return f"{where}:{f.line}" if f.line else where


def render(report: Report) -> str:
    lines = []
    for f in report.sorted_findings():
        subject = " ".join(x for x in (f.object_ref, f.path) if x)
        subject = f" {subject}:" if subject else ""
        overlay = f"[{f.overlay}] " if f.overlay and f.overlay not in (f.file or "") else ""
        lines.append(f"{location(f)}: {overlay}{f.severity.value}: {f.rule}:{subject} {f.message}")
    s = report.summary()
    lines.append(
        f"{report.command}: {s['inputs']} input(s), {s['objects']} object(s): "
        f"{s['errors']} error(s), {s['warnings']} warning(s)"
    )
    return "\n".join(lines) + "\n"

"""Reporters, chosen by name: each turns a Report into the text of one output format."""

from __future__ import annotations

from collections.abc import Callable

from llmfleet.pipeline.report import Report
from llmfleet.pipeline.reporters import github, json_report, junit, sarif, text

REPORTERS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json_report.render,
    "github": github.render,
    "sarif": sarif.render,
    "junit": junit.render,
}
FORMATS = tuple(REPORTERS)

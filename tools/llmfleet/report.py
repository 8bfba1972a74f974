"""The result of a validate, lint or check run, which every reporter formats.

Reporters read findings through :meth:`Report.sorted_findings`, which removes secret values
(:mod:`llmfleet.redact`): the values the checker collected from the inputs
(:attr:`Report.secrets`) and anything that looks like a token.  So no format (text, JSON,
GitHub annotations, SARIF, JUnit) can quote one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from llmfleet import exitcodes
from llmfleet.findings import Finding, Severity


@dataclass(frozen=True)
class Subject:
    """One input (an overlay or a file) and, when known, one object in it."""

    input: str
    file: str
    kind: str = ""
    api_version: str = ""
    name: str = ""
    namespace: str = ""

    @property
    def key(self) -> tuple:
        return (self.input, self.kind, self.namespace, self.name)


@dataclass
class Report:
    command: str
    findings: list[Finding] = field(default_factory=list)
    subjects: list[Subject] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    #: Secret values found in the inputs, removed from every finding that is reported.
    secrets: set[str] = field(default_factory=set)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def summary(self) -> dict:
        return {
            "inputs": len(self.inputs),
            "objects": sum(1 for s in self.subjects if s.kind),
            "findings": len(self.findings),
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "infos": self.count(Severity.INFO),
        }

    def exit_code(self, strict: bool = False) -> int:
        if self.count(Severity.ERROR):
            return exitcodes.FINDINGS
        if strict and self.count(Severity.WARNING):
            return exitcodes.FINDINGS
        return exitcodes.OK

    def sorted_findings(self) -> list[Finding]:
        """The findings in report order, secret values removed from every text field."""
        from llmfleet.redact import Scrubber

        scrub = Scrubber(self.secrets)
        findings = [replace(f, message=scrub(f.message)) for f in self.findings]
        return sorted(
            findings,
            key=lambda f: (
                f.overlay,
                f.file,
                f.kind,
                f.namespace,
                f.name,
                -f.severity.rank,
                f.rule,
                f.path,
                f.message,
            ),
        )

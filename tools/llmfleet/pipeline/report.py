"""The result of a validate, lint or check run, which every reporter formats.

Reporters read findings through :meth:`Report.sorted_findings`, which removes secret values
(:mod:`llmfleet.pipeline.redact`): the values the checker collected from the inputs
(:attr:`Report.secrets`) and anything that looks like a token.  So no format (text, JSON,
GitHub annotations, SARIF, JUnit) can quote one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from llmfleet.infra import exitcodes
from llmfleet.infra.findings import Finding, Severity


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

    def scrubber(self):
        """Removes the secret values of these inputs, and of every input this process read."""
        from llmfleet.pipeline.redact import Scrubber, remembered

        return Scrubber(self.secrets | remembered())

    def scrubbed_subjects(self) -> list[Subject]:
        """The subjects with secret values removed from every text field."""
        scrub = self.scrubber()
        return [_scrubbed(s, scrub) for s in self.subjects]

    def scrubbed_inputs(self) -> list[str]:
        scrub = self.scrubber()
        return [scrub(i) for i in self.inputs]

    def sorted_findings(self) -> list[Finding]:
        """The findings in report order, secret values removed from every text field (message,
        rule, kind, name, path, file...: a value can end up in any of them)."""
        scrub = self.scrubber()
        findings = [_scrubbed(f, scrub) for f in self.findings]
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


def _scrubbed(record, scrub):
    """A copy of a Finding or Subject with ``scrub`` applied to each of its text fields."""
    changes = {
        f.name: scrub(value)
        for f in fields(record)
        if isinstance(value := getattr(record, f.name), str) and not isinstance(value, Severity)
    }
    return replace(record, **changes)

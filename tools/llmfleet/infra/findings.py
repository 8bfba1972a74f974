"""The one problem record that validators, lint rules and reporters share."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True)
class Finding:
    """One problem.

    ``rule`` is a lint rule id, ``schema`` for schema validation, or an input/render error id
    (``yaml-syntax``, ``render``, ...).  ``path`` is a JSON pointer into the object ("" for
    the whole object or for problems with no object).  ``file`` is relative to the repository
    root when the input is inside it; ``line`` is 1-based, 0 when unknown.
    """

    rule: str
    severity: Severity
    message: str
    overlay: str = ""
    file: str = ""
    line: int = 0
    kind: str = ""
    api_version: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        data.pop("extra")
        return data

    @property
    def object_ref(self) -> str:
        if not self.kind:
            return ""
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"

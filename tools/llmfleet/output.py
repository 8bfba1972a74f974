"""Writing a command's output: to stdout, or to a file written whole (a temporary file renamed
into place), its folder created when missing."""

from __future__ import annotations

import sys
from pathlib import Path

from llmfleet.errors import UsageError


def write_output(text: str, output: str | None) -> None:
    """Print, or write the file whole (a temporary file renamed into place)."""
    if not output or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UsageError(f"-o {output}: cannot write the report: {exc.strerror or exc}") from None

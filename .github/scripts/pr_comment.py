"""Fit the PR comment into GitHub's limit without breaking its Markdown.

GitHub refuses an issue comment longer than 65,536 characters.  A plain slice can end
inside a code fence (everything after it, including the truncation note, then renders as
code) or inside a ``<details>`` block.  ``cut`` keeps whole lines only, and when the cut
falls inside a fence or ``<details>`` block, closes them (fence first) before the note.

Fences follow CommonMark: an opening line of three or more backticks or tildes (up to three
spaces of indentation) is closed by a line of the same character, at least as long, with
nothing after it but spaces.

Usage: python3 pr_comment.py INPUT OUTPUT [--limit N]   (standard library only)
"""

from __future__ import annotations

import argparse
import re
import sys

#: GitHub's limit is 65,536; stay below it.
DEFAULT_LIMIT = 65_000
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
DETAILS_OPEN = re.compile(r"<details\b", re.I)
DETAILS_CLOSE = re.compile(r"</details\s*>", re.I)


class _State:
    """Open fence (its marker) and the depth of open <details> blocks after each line."""

    def __init__(self) -> None:
        self.fence: str | None = None
        self.details = 0

    def feed(self, line: str) -> None:
        match = FENCE.match(line.rstrip("\r\n"))
        if self.fence is None:
            if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
                self.fence = match.group(1)
                return
            self.details += len(DETAILS_OPEN.findall(line)) - len(DETAILS_CLOSE.findall(line))
            self.details = max(self.details, 0)
        elif match and match.group(1)[0] == self.fence[0] and len(match.group(1)) >= len(self.fence) \
                and not match.group(2).strip():
            self.fence = None

    def closing(self) -> str:
        text = f"{self.fence}\n" if self.fence else ""
        return text + "\n</details>\n" * self.details


def note(dropped: int) -> str:
    return (f"\n> **Truncated:** {dropped:,} more characters did not fit in a comment; "
            "the job summary of this run has everything.\n")


def cut(body: str, limit: int = DEFAULT_LIMIT) -> str:
    """``body`` unchanged when it fits, else its longest prefix of whole lines that, with
    the fences and <details> blocks it leaves open closed and a note, fits in ``limit``."""
    if len(body) <= limit:
        return body
    lines = [line if line.endswith("\n") else line + "\n" for line in body.splitlines(keepends=True)]
    state, kept, length = _State(), 0, 0
    for line in lines:
        after = _State()
        after.fence, after.details = state.fence, state.details
        after.feed(line)
        if length + len(line) + len(after.closing()) + len(note(len(body) - length - len(line))) > limit:
            break
        state, kept, length = after, kept + 1, length + len(line)
    result = "".join(lines[:kept]) + state.closing() + note(len(body) - length)
    return result if len(result) <= limit else note(len(body))[:limit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    args = parser.parse_args(argv)
    with open(args.input, encoding="utf-8") as f:
        body = f.read()
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(cut(body, args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())

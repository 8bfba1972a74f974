"""CRD schemas carry Go (RE2) regular expressions; compile them for Python's ``re``.

The patterns come from Go struct tags (kubebuilder ``+kubebuilder:validation:Pattern``), and
the API server checks them with Go's regexp package.  Two RE2 forms that Python rejects
appear in the vendored schemas: a flag group in the middle of a pattern, which in RE2 applies
to the rest of the enclosing group (prometheus-operator's PrometheusRule
``^(?i)(abort|warn)?$``, AlertmanagerConfig ``^((?i)sun|mon|...)day...``), and ``\\z``.  Both
are rewritten to Python's scoped ``(?i:...)`` and ``\\Z``.  A pattern Python still cannot
compile is not checked (None): a schema must never turn into a false error or a crash.
"""

from __future__ import annotations

import re
from functools import lru_cache

_FLAG_GROUP = re.compile(r"\(\?([imsU]+)\)")


def translate(pattern: str) -> str:
    """Rewrite RE2-only syntax into the Python equivalent (see the module docstring).

    In RE2 a flag group runs to the end of the enclosing group, across ``|``: ``(a(?i)b|c)``
    matches ``aB`` and ``C``.  Python's scoped group cannot span an alternation, so it is
    closed before each ``|`` of that group and reopened after it: ``(a(?i:b)|(?i:c))``.
    """
    out: list[str] = []
    scoped: list[list[str]] = [[]]  # per open group: the scoped-flag groups opened in it
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            escaped = pattern[i + 1]
            out.append("\\Z" if escaped == "z" and not in_class else pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append(char)
            i += 1
            continue
        if char == "[":
            in_class = True
            out.append(char)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading ] is a literal
                out.append("]")
                i += 1
            continue
        match = _FLAG_GROUP.match(pattern, i)
        if match:
            flags = match.group(1).replace("U", "")
            if flags and not out:  # at the very start Python takes it as is
                out.append(f"(?{flags})")
            elif flags:
                out.append(f"(?{flags}:")
                scoped[-1].append(flags)
            i = match.end()
            continue
        if char == "(":
            scoped.append([])
        elif char == ")" and len(scoped) > 1:
            out.append(")" * len(scoped.pop()))
        elif char == "|" and scoped[-1]:
            out.append(")" * len(scoped[-1]) + "|" + "".join(f"(?{f}:" for f in scoped[-1]))
            i += 1
            continue
        out.append(char)
        i += 1
    out.append(")" * len(scoped[0]))
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern | None:
    """The compiled pattern, or None when neither it nor its translation compiles."""
    try:
        return re.compile(pattern)
    except re.error:
        pass
    try:
        return re.compile(translate(pattern))
    except re.error:
        return None

"""Request-target validation: the only paths that reach a backend are plain ones.

aiohttp-style servers keep ``.``/``..`` segments and many HTTP clients and servers
normalise them later, so ``/v1/../metrics`` or ``/v1/%2e%2e/health`` could leave ``/v1/``
on the backend, where vLLM's ``--api-key`` does not apply.  A target is accepted only if
it is origin-form (``/...``), has no empty, ``.`` or ``..`` segment (percent-decoded, also
twice, so ``%2e``, ``%252e`` and mixed forms are caught), no encoded ``/`` or ``\\``, no
raw ``\\``, and no control or non-ASCII byte.  The upstream request line is then built
from the validated bytes, never from a string concatenation of something else.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

#: Bytes allowed in a path segment (RFC 3986 pchar, plus '%' for escapes).
_PCHAR = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:@%]*")
_QUERY = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")
_ESCAPED_SEPARATOR = re.compile(rb"%(2f|5c)", re.I)


def _is_dot_segment(segment: bytes) -> bool:
    segment = segment.split(b";", 1)[0]  # '..;x' is '..' with a path parameter
    for _ in range(3):  # %2e, %252e, %25252e
        if segment in (b".", b".."):
            return True
        if b"%" not in segment:
            return False
        decoded = unquote_to_bytes(segment)
        if decoded == segment:
            return False
        if b"/" in decoded or b"\\" in decoded:
            # An encoded separator: refused if any resulting piece is a dot segment.
            pieces = decoded.replace(b"\\", b"/").split(b"/")
            return any(_is_dot_segment(p) for p in pieces)
        segment = decoded.split(b";", 1)[0]
    return True  # still encoded after three rounds: refuse rather than guess


#: The common case, checked with one regex: no '%', no '\\', no empty or dot segment.
_PLAIN = re.compile(
    rb"(?:/(?!\.\.?(?:/|;|$))[A-Za-z0-9\-._~!$&'()*+,=:@]+)+/?"
    rb"(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?"
)


def split_target(target: bytes, *, encoded_separators: bool = False) -> tuple[bytes, bytes] | None:
    """``(path, query)`` of a safe origin-form request target, else None.

    ``encoded_separators`` allows ``%2F`` inside a segment (for a model id in a path
    the gateway answers itself); a segment that decodes to ``.``/``..`` is always refused."""
    if _PLAIN.fullmatch(target):
        path, _, query = target.partition(b"?")
        return path, query
    path, sep, query = target.partition(b"?")
    if not path.startswith(b"/") or b"#" in target:
        return None
    if sep and not _QUERY.fullmatch(query):
        return None
    if not encoded_separators and _ESCAPED_SEPARATOR.search(path):
        return None
    segments = path[1:].split(b"/")
    for i, segment in enumerate(segments):
        if not _PCHAR.fullmatch(segment):
            return None
        if not segment and i != len(segments) - 1:
            return None  # '//' inside the path
        if _is_dot_segment(segment):
            return None
    return path, query

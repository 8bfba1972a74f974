"""Load Kubernetes YAML into resources that remember where each field came from.

Every input (a file, stdin, or an overlay's rendered output) becomes a list of
:class:`Resource` plus a list of input :class:`Finding` for what could not be loaded.
One bad document never hides the others.  Line numbers come from PyYAML's node marks,
so a finding's JSON pointer can be turned back into a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from llmfleet.infra.findings import Finding, Severity
from llmfleet.kube.safe_yaml import (  # noqa: F401  (limits re-exported)
    KUBERNETES,
    MAX_ALIAS_EXPANSIONS,
    MAX_DEPTH,
    AliasBomb,
    BadValue,
    Builder,
    DuplicateKey,
    TooDeep,
    TooLarge,
    UnsafeYAML,
    describe_error,
    loader_for,
    precheck,
)
from llmfleet.model.api_names import name_problem
from llmfleet.model.k8s import Resource, escape_pointer_token, pointer  # noqa: F401  (re-exported)
from llmfleet.pipeline.builtin_checks import (
    EMPTY_INPUT,
    NOT_KUBERNETES,
    YAML_ALIAS_BOMB,
    YAML_DEPTH,
    YAML_DUPLICATE_KEY,
    YAML_ENCODING,
    YAML_SYNTAX,
    YAML_TOO_LARGE,
)


def _mark_line(exc: yaml.YAMLError, offset: int = 0) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 + offset if mark is not None else 0


def _short_yaml_error(exc: yaml.YAMLError) -> str:
    return describe_error(exc)


def decode(raw: bytes, file: str) -> tuple[str | None, Finding | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Finding(
            YAML_ENCODING,
            Severity.ERROR,
            f"not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} cannot be decoded ({exc.reason})",
            file=file,
            line=line,
        )


#: A document start or end marker at the start of a line.  Block scalars are indented, so a
#: marker at column 0 always separates documents.
_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t]|$)", re.MULTILINE)


def split_documents(text: str) -> Iterator[tuple[int, str]]:
    """``(first line, text)`` of each document of a stream, so that one broken document
    cannot hide the ones after it.  Linear in the size of the stream."""
    starts = [m.start() for m in _MARKER.finditer(text)]
    bounds = [0, *starts, len(text)]
    line, counted = 0, 0
    starts_set = set(starts)
    for begin, end in zip(bounds, bounds[1:]):
        line += text.count("\n", counted, begin)
        counted = begin
        chunk = text[begin:end]
        if begin in starts_set and chunk.startswith("..."):
            continue  # document end: nothing after it
        if chunk.strip() and not all(
            row.lstrip().startswith("#") or not row.strip() or row.startswith("%") or row.strip() == "---"
            for row in chunk.splitlines()
        ):
            yield line, chunk


def iter_documents(text: str, file: str) -> Iterator[tuple[int, Any, dict[str, int]] | Finding]:
    """Yield ``(doc_index, data, lines)`` per document, read as kubectl reads it
    (:data:`safe_yaml.KUBERNETES`), or a Finding for each document that cannot be loaded;
    the other documents are still loaded."""
    for index, (offset, chunk) in enumerate(split_documents(text)):
        first = offset + 1 if chunk.startswith("---") else offset  # the line after a marker
        problem = precheck(chunk)
        if problem is not None:
            yield _refused(problem, file, index, first, offset)
            continue
        loader = None
        try:
            loader = loader_for(chunk, KUBERNETES)
            node = loader.get_single_node()
            if node is None:
                continue
            builder = Builder(offset)
            yield index, builder.build(node), builder.lines
        except UnsafeYAML as exc:
            yield _refused(exc, file, index, first, 0)
        except yaml.YAMLError as exc:
            yield Finding(
                YAML_SYNTAX,
                Severity.ERROR,
                f"YAML syntax error: {_short_yaml_error(exc)}",
                file=file,
                line=_mark_line(exc, offset),
            )
        except RecursionError:
            yield _refused(TooDeep("nests too deeply to load"), file, index, first, 0)
        finally:
            if loader is not None:
                loader.dispose()


def _refused(exc: UnsafeYAML, file: str, index: int, first: int, offset: int) -> Finding:
    """The finding for a document the loader refuses; the message never quotes a value.
    ``offset`` is added to a line counted within the document alone."""
    check = {
        AliasBomb: YAML_ALIAS_BOMB,
        TooDeep: YAML_DEPTH,
        TooLarge: YAML_TOO_LARGE,
        DuplicateKey: YAML_DUPLICATE_KEY,
    }.get(type(exc), YAML_SYNTAX)
    if isinstance(exc, DuplicateKey):
        message = str(exc)
    elif isinstance(exc, BadValue):
        message = f"document {index + 1}: {exc.reason}"
    else:
        message = f"document {index + 1} {exc.reason}; refusing to load it"
    return Finding(
        check, Severity.ERROR, message, file=file, line=exc.line + offset if exc.line else first + 1
    )


def load_text(text: str, file: str, overlay: str = "") -> tuple[list[Resource], list[Finding]]:
    """Parse a multi-document YAML text into resources and input findings."""
    resources: list[Resource] = []
    findings: list[Finding] = []
    saw_document = False
    for item in iter_documents(text, file):
        if isinstance(item, Finding):
            findings.append(_with_overlay(item, overlay))
            saw_document = True
            continue
        index, data, lines = item
        if data is None:
            continue
        saw_document = True
        for res, problem in _to_resources(data, lines, file, index, overlay):
            if problem is not None:
                findings.append(problem)
            else:
                resources.append(res)
    if not saw_document:
        findings.append(
            Finding(
                EMPTY_INPUT,
                Severity.ERROR,
                "no YAML documents: the input is empty",
                file=file,
                overlay=overlay,
            )
        )
    return resources, findings


def load_bytes(raw: bytes, file: str, overlay: str = "") -> tuple[list[Resource], list[Finding]]:
    text, problem = decode(raw, file)
    if problem is not None or text is None:
        return [], [_with_overlay(problem, overlay)] if problem is not None else []
    return load_text(text, file, overlay)


def _with_overlay(finding: Finding, overlay: str) -> Finding:
    if not overlay:
        return finding
    from dataclasses import replace

    return replace(finding, overlay=overlay)


def _members(data: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """The objects a List (``items``) or an OpenShift Template (``objects``) holds: each is
    linted as an object of its own (a Template's parameters ``${X}`` stay as written)."""
    if data["kind"].endswith("List") and isinstance(data.get("items"), list):
        return "items", data["items"]
    if (
        data["kind"] == "Template"
        and str(data.get("apiVersion", "")).startswith("template.openshift.io/")
        and isinstance(data.get("objects"), list)
    ):
        return "objects", data["objects"]
    return None


def _to_resources(data: Any, lines: dict[str, int], file: str, index: int, overlay: str):
    line = lines.get("", 0)
    if not isinstance(data, dict):
        yield (
            None,
            Finding(
                NOT_KUBERNETES,
                Severity.ERROR,
                f"document {index + 1} is a {type(data).__name__}, not a Kubernetes "
                "object (a mapping with apiVersion and kind)",
                file=file,
                line=line,
                overlay=overlay,
            ),
        )
        return
    missing = [
        key for key in ("apiVersion", "kind") if not isinstance(data.get(key), str) or not data.get(key)
    ]
    if missing:
        name = data.get("metadata", {}).get("name", "") if isinstance(data.get("metadata"), dict) else ""
        what = f" ({data.get('kind') or 'object'} {name})" if name else ""
        yield (
            None,
            Finding(
                NOT_KUBERNETES,
                Severity.ERROR,
                f"document {index + 1}{what} has no {' or '.join(missing)}: not a Kubernetes object",
                file=file,
                line=line,
                overlay=overlay,
                kind=str(data.get("kind") or ""),
                name=str(name or ""),
                path="/" + missing[0],
            ),
        )
        return
    problem = name_problem(data["apiVersion"], data["kind"])
    if problem is not None:
        # Checked before the kind reaches a schema file name or URL (llmfleet.pipeline.validate).
        field = "/apiVersion" if problem.startswith("apiVersion") else "/kind"
        yield (
            None,
            Finding(
                NOT_KUBERNETES,
                Severity.ERROR,
                f"document {index + 1}: {problem}: not a Kubernetes object",
                file=file,
                line=lines.get(field, line),
                overlay=overlay,
                path=field,
            ),
        )
        return
    members = _members(data)
    if members is not None:
        key, items = members
        if key == "objects":  # an OpenShift Template is an object too, beside what it holds
            yield Resource(data=data, file=file, doc_index=index, overlay=overlay, lines=lines), None
        for i, item in enumerate(items):
            prefix = f"/{key}/{i}"
            sub_lines = {
                k[len(prefix) :]: v for k, v in lines.items() if k == prefix or k.startswith(prefix + "/")
            }
            yield from _to_resources(item, sub_lines, file, index, overlay)
        return
    yield Resource(data=data, file=file, doc_index=index, overlay=overlay, lines=lines), None

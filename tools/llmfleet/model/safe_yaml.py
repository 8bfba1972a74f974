"""Loading untrusted YAML within bounds: every YAML text llmfleet reads (a manifest, a
rendered overlay, a kustomization, a ``serve.yaml`` inside a ConfigMap) goes through here.

* Alias expansions are counted per document: a "billion laughs" document trips the limit in
  milliseconds, while a large document without aliases, or a stream of many documents,
  loads whatever its size.
* Nesting depth is limited.  Deeper data is refused before libyaml composes it: its C
  composer recurses once per level and overflows the C stack (a segmentation fault, not an
  exception) at some ten thousand levels, and its scanner slows down with the square of
  the flow nesting depth.  A cheap bound on the depth (brackets and line length) lets
  ordinary documents through untouched; a document above it is walked event by event, in
  bounded time, before it is composed.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import CollectionEndEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from llmfleet.model.k8s import escape_pointer_token

#: Alias expansions allowed in one document: Kubernetes manifests use few or none.
MAX_ALIAS_EXPANSIONS = 100_000
#: Nesting depth allowed in one document.  Kubernetes objects nest a few dozen levels (a
#: CRD's openAPIV3Schema some 40); the validators, the YAML dumper and the rules recurse
#: once or more per level, so the limit leaves them room under Python's recursion limit.
MAX_DEPTH = 100
#: Documents whose depth bound is below this are composed directly (well under the depth
#: at which libyaml's composer overflows the C stack).
_SAFE_TO_COMPOSE = 2_000

#: libyaml's C scanner and parser when PyYAML was built with it: the same node marks,
#: several times faster on large rendered overlays.
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnsafeYAML(ValueError):
    """A YAML text that cannot be loaded within the limits, or does not parse."""


class AliasBomb(UnsafeYAML):
    pass


class TooDeep(UnsafeYAML):
    pass


class DuplicateKey(UnsafeYAML):
    def __init__(self, key: str, line: int, first_line: int):
        super().__init__(f"duplicate key {key!r} (first at line {first_line})")
        self.key, self.line, self.first_line = key, line, first_line


def _depth_bound(text: str) -> int:
    """An upper bound of the nesting depth of ``text``: each flow level opens a bracket and
    each block level is indented further than its parent."""
    longest = max(map(len, text.splitlines()), default=0)
    return text.count("[") + text.count("{") + longest + 1


def refuse_to_compose(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when a document nests deeper than ``limit`` and must not be handed to the
    composer.  Found without composing it: an event walk, in time linear in the size (the
    walk stops at the limit), for the rare document whose depth bound is high; the others
    are composed and :class:`Builder` stops at the limit.  A document that does not parse
    is left to the composer, which reports the error."""
    if _depth_bound(text) <= _SAFE_TO_COMPOSE:
        return False
    depth = 0
    try:
        for event in yaml.parse(text, Loader=Loader):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return False
    return False


class Builder:
    """Turns a composed YAML node graph into Python data and a pointer → line map, counting
    alias expansions (a node built again because an alias refers to it) and depth."""

    def __init__(self, line_offset: int = 0, allow_duplicates: bool = False):
        self.constructor = SafeConstructor()
        self.lines: dict[str, int] = {}
        self.offset = line_offset
        self.allow_duplicates = allow_duplicates
        self.built: set[int] = set()
        self.expansions = 0

    def build(self, node: Node, path: str = "", depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise TooDeep(f"nests deeper than {MAX_DEPTH} levels")
        if id(node) in self.built:
            self.expansions += 1
            if self.expansions > MAX_ALIAS_EXPANSIONS:
                raise AliasBomb(f"expands YAML aliases more than {MAX_ALIAS_EXPANSIONS:,} times (alias bomb)")
        else:
            self.built.add(id(node))
        self.lines.setdefault(path, node.start_mark.line + 1 + self.offset)
        if isinstance(node, MappingNode):
            self.constructor.flatten_mapping(node)
            result: dict = {}
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise ConstructorError(
                        None, None, "found an unhashable or complex key", key_node.start_mark
                    )
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise ConstructorError(
                        None, None, "found an unhashable or complex key", key_node.start_mark
                    )
                line = key_node.start_mark.line + 1 + self.offset
                if key in seen and not self.allow_duplicates:
                    raise DuplicateKey(str(key), line, seen[key])
                seen[key] = line
                child = f"{path}/{escape_pointer_token(key)}"
                self.lines[child] = line
                result[key] = self.build(value_node, child, depth + 1)
            return result
        if isinstance(node, SequenceNode):
            return [self.build(item, f"{path}/{i}", depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self.constructor.construct_object(node)


def _first_line(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        text = ", ".join(parts) or str(exc)
        mark = exc.problem_mark or exc.context_mark
        return f"{text} (line {mark.line + 1})" if mark is not None else text
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def load(text: str, allow_duplicates: bool = True) -> Any:
    """One YAML document (the first of a stream), within the limits: what ``yaml.safe_load``
    returns for it.  Raises :class:`UnsafeYAML` with a one-line reason otherwise."""
    if refuse_to_compose(text):
        raise TooDeep(f"nests deeper than {MAX_DEPTH} levels")
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return Builder(allow_duplicates=allow_duplicates).build(node)
    except yaml.YAMLError as exc:
        raise UnsafeYAML(_first_line(exc)) from None
    except RecursionError:
        raise TooDeep("nests too deeply to load") from None
    finally:
        loader.dispose()

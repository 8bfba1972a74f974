"""Loading untrusted YAML within bounds: every YAML text llmfleet reads (a manifest, a
rendered overlay, a kustomization, a ``serve.yaml`` inside a ConfigMap) goes through here.

Two readings of one text:

* ``KUBERNETES``: what kubectl and the API server read (go-yaml v2 under sigs.k8s.io/yaml,
  then JSON): ``y``/``on`` are booleans, ``0o17`` is 15, dates and ``12:30:00`` stay
  strings, ``!!binary`` is decoded, map keys become strings, merge keys (``<<``) apply in
  the order they are written (:mod:`llmfleet.kube.goyaml_resolve`,
  docs/reference/yaml.md).  Manifests and kustomizations are read this way.
* ``PYYAML``: what ``yaml.safe_load`` returns, for files read by Python programs
  (``serve.yaml`` by vLLM, ``llmfleet.yaml`` and the data files by llmfleet).

Bounds, by design rather than by luck:

* Nodes per document (:data:`MAX_NODES`): a document longer than the bound in bytes is
  walked event by event, stopping at the bound, before it is composed.
* Alias and merge-key expansions per document (:data:`MAX_ALIAS_EXPANSIONS`): every node
  built again, through an alias or a ``<<``, is counted, so a "billion laughs" or a merge
  bomb stops in milliseconds.
* Nesting depth (:data:`MAX_DEPTH`), found before libyaml's composer (which recurses in C
  once per level) sees the document.
* Numbers: digits are counted before Python builds an integer; no quadratic
  sexagesimal building.

Every refusal is an :class:`UnsafeYAML` with the line; no message quotes a scalar or a
tag, since either could be a secret.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from llmfleet.kube import goyaml_resolve
from llmfleet.kube.pointers import escape_pointer_token

#: Node builds allowed again per document, through aliases and merge keys: Kubernetes
#: manifests use few or none.
MAX_ALIAS_EXPANSIONS = 100_000
#: Nesting depth allowed in one document.  Kubernetes objects nest a few dozen levels (a
#: CRD's openAPIV3Schema some 40); the validators, the YAML dumper and the rules recurse
#: once or more per level, so the limit leaves them room under Python's recursion limit.
MAX_DEPTH = 100
#: Nodes (scalars, mappings, sequences, aliases) allowed in one document: the largest CRD
#: has under 100,000; a composed node costs some 500 bytes, so this keeps one document
#: well under 256 MB.
MAX_NODES = 400_000
#: Characters of a number PyYAML would build (Python's own limit is 4,300 digits).
MAX_NUMBER_LENGTH = 1_000
#: Documents whose depth bound is below this are composed directly (well under the depth
#: at which libyaml's composer overflows the C stack).
_SAFE_TO_COMPOSE = 2_000

KUBERNETES = "kubernetes"
PYYAML = "pyyaml"

#: libyaml's C scanner and parser when PyYAML was built with it: the same node marks,
#: several times faster on large rendered overlays.
_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: The tag our resolver gives a plain scalar without a tag: go-yaml resolves it by its text.
PLAIN = "tag:llmfleet.io,2026:plain"


class KubernetesResolver(BaseResolver):
    """Leaves plain untagged scalars to :func:`goyaml_resolve.resolve`; no YAML 1.1
    implicit resolvers (those are PyYAML's, not go-yaml's)."""

    def resolve(self, kind, value, implicit):  # type: ignore[no-untyped-def]
        if kind is ScalarNode and implicit[0]:
            return PLAIN
        return super().resolve(kind, value, implicit)


class _KeepNonSpecificTag(Composer):
    """go-yaml leaves a scalar with the non-specific tag ``!`` a string, where libyaml's
    composer resolves it as plain: this composer keeps the ``!``."""

    def compose_scalar_node(self, anchor):  # type: ignore[no-untyped-def]
        event = self.peek_event()  # type: ignore[attr-defined]
        node = super().compose_scalar_node(anchor)
        if event.tag == "!":
            node.tag = "!"
        return node


if _CParser is not None:

    class KubernetesLoader(_CParser, KubernetesResolver):
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            KubernetesResolver.__init__(self)

else:  # pragma: no cover - PyYAML without libyaml

    class KubernetesLoader(Reader, Scanner, Parser, Composer, KubernetesResolver):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            KubernetesResolver.__init__(self)


class KubernetesLoaderNonSpecific(Reader, Scanner, Parser, _KeepNonSpecificTag, KubernetesResolver):
    """The pure-Python loader, for the rare document with a ``!`` tag."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _KeepNonSpecificTag.__init__(self)
        KubernetesResolver.__init__(self)


_NON_SPECIFIC_TAG = re.compile(r"(?:^|[\s\[\{,])!(?=[\s\]\},]|$)", re.MULTILINE)


def loader_for(text: str, semantics: str = KUBERNETES) -> Any:
    if semantics == PYYAML:
        return Loader(text)
    if "!" in text and _NON_SPECIFIC_TAG.search(text):
        return KubernetesLoaderNonSpecific(text)
    return KubernetesLoader(text)


class UnsafeYAML(ValueError):
    """A YAML text that cannot be loaded within the limits, or does not parse."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.reason, self.line = message, line


class AliasBomb(UnsafeYAML):
    pass


class TooDeep(UnsafeYAML):
    pass


class TooLarge(UnsafeYAML):
    pass


class BadValue(UnsafeYAML):
    """A node the reading refuses (a tag its value does not fit, a key JSON cannot hold)."""


class DuplicateKey(UnsafeYAML):
    def __init__(self, key: str, line: int, first_line: int):
        super().__init__(f"duplicate key {key!r} (first at line {first_line})", line)
        self.key, self.first_line = key, first_line


def _depth_bound(text: str) -> int:
    """An upper bound of the nesting depth of ``text``: each flow level opens a bracket and
    each block level is indented further than its parent."""
    longest = max(map(len, text.splitlines()), default=0)
    return text.count("[") + text.count("{") + longest + 1


def _walk(text: str, depth_limit: int, node_limit: int) -> UnsafeYAML | None:
    """The first bound ``text`` breaks, found from parser events (in time linear in the
    part read: the walk stops at the bound), or None.  A document that does not parse is
    left to the composer, which reports the error."""
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=Loader):
            if isinstance(event, (ScalarEvent, AliasEvent, CollectionStartEvent)):
                nodes += 1
                if nodes > node_limit:
                    line = event.start_mark.line + 1 if event.start_mark else 0
                    return TooLarge(f"has more than {node_limit:,} YAML nodes", line)
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > depth_limit:
                    return TooDeep(f"nests deeper than {depth_limit} levels")
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def _node_bound(text: str) -> int:
    """An upper bound of the node count of ``text``: every node but the root follows an
    indicator (a key starts a line or follows ``{``, ``,`` or ``?``, its value follows
    ``:``; an item follows ``-``, ``[`` or ``,``), each introducing at most two nodes."""
    return 1 + 2 * sum(text.count(c) for c in ":,[{?-\n")


def precheck(text: str, depth_limit: int = MAX_DEPTH, node_limit: int = MAX_NODES) -> UnsafeYAML | None:
    """Why ``text`` must not be handed to the composer, or None.  Most documents are
    below both cheap bounds (see :func:`_node_bound`; each level takes a bracket or a
    column) and are not walked."""
    if _depth_bound(text) <= _SAFE_TO_COMPOSE and (
        len(text) <= node_limit or _node_bound(text) <= node_limit
    ):
        return None
    return _walk(text, depth_limit, node_limit)


def refuse_to_compose(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when a document nests deeper than ``limit`` and must not be composed."""
    return isinstance(precheck(text, limit), TooDeep)


class _BoundedSafeConstructor(SafeConstructor):
    """PyYAML's scalars, with numbers bounded in length before Python builds them (a
    300 KB sexagesimal value is quadratic; 4,300+ digits raise in ``int()``)."""

    def construct_yaml_int(self, node):  # type: ignore[no-untyped-def]
        self._bounded(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node):  # type: ignore[no-untyped-def]
        self._bounded(node)
        return super().construct_yaml_float(node)

    @staticmethod
    def _bounded(node: ScalarNode) -> None:
        if len(node.value) > MAX_NUMBER_LENGTH:
            raise BadValue(f"a number longer than {MAX_NUMBER_LENGTH:,} characters", node.start_mark.line + 1)


_BoundedSafeConstructor.yaml_constructors = {
    **SafeConstructor.yaml_constructors,
    "tag:yaml.org,2002:int": _BoundedSafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:float": _BoundedSafeConstructor.construct_yaml_float,
}


class Builder:
    """Turns a composed YAML node graph into Python data and a pointer → line map, counting
    expansions (a node built again through an alias or a merge key) and depth."""

    def __init__(self, line_offset: int = 0, allow_duplicates: bool = False, semantics: str = KUBERNETES):
        self.constructor = _BoundedSafeConstructor()
        self.kubernetes = semantics == KUBERNETES
        self.lines: dict[str, int] = {}
        self.offset = line_offset
        self.allow_duplicates = allow_duplicates
        self.built: set[int] = set()
        self.active: set[int] = set()
        self.expansions = 0

    def _line(self, node: Node) -> int:
        return node.start_mark.line + 1 + self.offset

    def _enter(self, node: Node, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise TooDeep(f"nests deeper than {MAX_DEPTH} levels", self._line(node))
        if id(node) in self.active:
            raise BadValue("an anchor's value contains an alias to itself", self._line(node))
        if id(node) in self.built:
            self.expansions += 1
            if self.expansions > MAX_ALIAS_EXPANSIONS:
                raise AliasBomb(
                    f"expands YAML aliases or merge keys more than {MAX_ALIAS_EXPANSIONS:,} times (alias bomb)",
                    self._line(node),
                )
        else:
            self.built.add(id(node))

    def build(self, node: Node, path: str = "", depth: int = 0) -> Any:
        self._enter(node, depth)
        self.lines.setdefault(path, self._line(node))
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                result: dict = {}
                self._fill(node, result, path, depth, explicit={})
                return result
            assert isinstance(node, SequenceNode)
            return [self.build(item, f"{path}/{i}", depth + 1) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode, key: bool = False) -> Any:
        try:
            if self.kubernetes:
                tag = "" if node.tag == PLAIN else node.tag
                value = goyaml_resolve.resolve(tag, node.value)
                return goyaml_resolve.json_key(value) if key else goyaml_resolve.to_json_value(value)
            return self.constructor.construct_object(node)
        except UnsafeYAML:
            raise
        except goyaml_resolve.GoYAMLError as exc:
            raise BadValue(str(exc), self._line(node)) from None
        except ConstructorError as exc:
            # PyYAML's messages quote the tag ("could not determine a constructor for the
            # tag '!Sup3rS3cret'"): say which kind of problem it is, not the text.
            what = (
                "an unknown tag"
                if "constructor for the tag" in str(exc.problem)
                else "a value its tag refuses"
            )
            raise BadValue(f"{what} (the text is not shown)", self._line(node)) from None
        except (LookupError, ValueError, ArithmeticError, TypeError, AttributeError):
            # int('Hunter2') for !!int, datetime(2024, 2, 30) for an invalid date, the
            # lookup of !!bool maybe, the failed regular-expression match of !!timestamp x.
            raise BadValue("a value its tag refuses (the text is not shown)", self._line(node)) from None

    def _is_merge(self, key: Node) -> bool:
        if not isinstance(key, ScalarNode) or key.value != "<<":
            return False
        return (
            key.tag in (PLAIN, goyaml_resolve.MERGE) if self.kubernetes else key.tag == goyaml_resolve.MERGE
        )

    def _key(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            raise BadValue("a mapping key is a mapping or a list", self._line(node))
        key = self.scalar(node, key=True)
        if self.kubernetes:
            return key
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise BadValue("a mapping key that is not a string, number or boolean", self._line(node))
        return key

    def _fill(
        self, node: MappingNode, result: dict, path: str, depth: int, explicit: dict[Any, int] | None
    ) -> None:
        """Sets ``node``'s pairs in ``result``.  go-yaml applies a merge key where it is
        written (a later key overwrites it, an earlier one is overwritten); PyYAML applies
        every merge first and lets the mapping's own keys win."""
        pairs = node.value
        if not self.kubernetes:
            merges = [value for key, value in pairs if self._is_merge(key)]
            for value in merges:
                self._merge(value, result, path, depth)
        for key_node, value_node in pairs:
            if self._is_merge(key_node):
                if self.kubernetes:
                    self._merge(value_node, result, path, depth)
                continue
            key = self._key(key_node)
            line = self._line(key_node)
            if explicit is not None:
                if key in explicit and not self.allow_duplicates:
                    raise DuplicateKey(str(key), line, explicit[key])
                explicit[key] = line
            child = f"{path}/{escape_pointer_token(key)}"
            self.lines[child] = line
            result[key] = self.build(value_node, child, depth + 1)

    def _merge(self, value: Node, result: dict, path: str, depth: int) -> None:
        sources = list(reversed(value.value)) if isinstance(value, SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise BadValue("a merge key (<<) needs a mapping or a list of mappings", self._line(source))
            self._enter(source, depth + 1)
            self.active.add(id(source))
            try:
                self._fill(source, result, path, depth + 1, explicit=None)
            finally:
                self.active.discard(id(source))


#: Text libyaml quotes from the input in a message ("found undefined tag handle '!x!'"):
#: anything longer than an escaped character is left out, as it could be a secret.
_QUOTED = re.compile(r"'[^'\n]{5,}'|\"[^\"\n]{5,}\"")


def describe_error(exc: yaml.YAMLError) -> str:
    """A one-line YAML error without the input text it may quote."""
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        text = ", ".join(parts) or str(exc).splitlines()[0]
    else:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _QUOTED.sub("(text not shown)", text)


def _first_line(exc: yaml.YAMLError) -> str:
    text = describe_error(exc)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"{text} (line {mark.line + 1})" if mark is not None else text


def load(text: str, allow_duplicates: bool = True, semantics: str = PYYAML) -> Any:
    """One YAML document (the first of a stream), within the limits: what ``yaml.safe_load``
    returns for it (or, with ``semantics=KUBERNETES``, what kubectl reads).  Raises
    :class:`UnsafeYAML` with a one-line reason naming the line otherwise."""
    problem = precheck(text)
    if problem is not None:
        raise problem
    loader = None
    try:
        loader = loader_for(text, semantics)
        node = loader.get_single_node()
        if node is None:
            return None
        return Builder(allow_duplicates=allow_duplicates, semantics=semantics).build(node)
    except UnsafeYAML as exc:
        raise UnsafeYAML(f"{exc.reason} (line {exc.line})" if exc.line else exc.reason, exc.line) from None
    except yaml.YAMLError as exc:
        raise UnsafeYAML(_first_line(exc)) from None
    except RecursionError:
        raise TooDeep("nests too deeply to load") from None
    finally:
        if loader is not None:
            loader.dispose()

"""A property-based fuzz test (hypothesis): the rendered overlays of this repository and the
rule fixtures, mutated as data (values of any type, removed keys, odd kinds and apiVersions,
deep nesting, aliases, duplicated documents) and as text (bytes inserted, removed or
corrupted, documents cut), go through ``llmfleet lint -`` and ``llmfleet validate -``.

Whatever the input: no traceback, no internal error (exit code 4), no rule crash, no hang (a
watchdog per example), and an exit code of 0 or 1 (findings).  Bounded in time: 200 examples
by default (about half a minute); ``--fuzz-examples N`` or ``LLMFLEET_FUZZ_EXAMPLES=N`` for a
longer local run.  The inputs that crashed llmfleet before are kept in ``tests/fuzz/crashes``
and run as regression tests.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmfleet import exitcodes
from llmfleet_testlib import REPO_ROOT, overlay_names

CRASHES = Path(__file__).resolve().parent / "fuzz" / "crashes"
#: Seconds one example may take before the watchdog calls it a hang.
WATCHDOG_S = 60
#: Every example's outcome, for the summary line (input count, tracebacks).
STATS = {"inputs": 0, "failures": 0}


def examples(config) -> int:
    return int(config.getoption("--fuzz-examples", default=None)
               or os.environ.get("LLMFLEET_FUZZ_EXAMPLES") or 200)


@pytest.fixture(scope="module")
def seeds() -> list[str]:
    """Rendered overlays (split into their documents) and the rule fixtures."""
    from llmfleet.render import render
    texts = []
    for name in overlay_names():
        rendered = render(REPO_ROOT / "overlays" / name)
        assert rendered.ok, rendered.error
        texts.append(rendered.text)
    texts += [p.read_text() for p in sorted((REPO_ROOT / "tests" / "rules" / "fixtures").rglob("*.yaml"))]
    return texts


# -- mutations -----------------------------------------------------------------------------------

ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["Config Map", "Cönfig", "K" * 260, "../../etc/passwd", "%2e%2e", "a/b/c", "v1",
                     "apps/v1", "", " ", "\t", "{{.Group}}", "${X}", "$(X)", "--api-key=sk-x",
                     "null", "~", "1e400", "-0", "0x10", "NaN", "2001-01-01", "<<", "*a", "&a"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), ODD_TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(ODD_TEXT, inner, max_size=4)), max_leaves=12)


def _paths(node, limit: int = 40) -> list[tuple]:
    """Paths to the nodes of a document (not deeper than ``limit``)."""
    out, stack = [], [((), node)]
    while stack:
        path, item = stack.pop()
        out.append(path)
        if len(path) >= limit:
            continue
        if isinstance(item, dict):
            stack.extend(((*path, k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend(((*path, i), v) for i, v in enumerate(item))
    return out


def _set(node, path, value):
    if not path:
        return value
    parent = node
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return node


def _delete(node, path):
    if not path:
        return node
    parent = node
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return node


def _nest(value, depth: int):
    for i in range(depth):
        value = {"n": value} if i % 2 else [value]
    return value


#: The seeds of the running test (set by it: a strategy argument would be printed whole).
SEEDS: list[str] = []


@st.composite
def mutated_documents(draw) -> bytes:
    text = SEEDS[draw(st.integers(0, len(SEEDS) - 1))]
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        docs = []
    if docs:
        start = draw(st.integers(0, len(docs) - 1))
        docs = docs[start:start + draw(st.integers(1, 4))]
    for _ in range(draw(st.integers(0, 4)) if docs else 0):
        index = draw(st.integers(0, len(docs) - 1))
        doc = docs[index]
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "kind", "api", "nest", "duplicate", "drop"]))
        if action == "replace":
            docs[index] = _set(doc, path, draw(VALUES))
        elif action == "delete" and path:
            docs[index] = _delete(doc, path)
        elif action == "kind" and isinstance(doc, dict):
            doc["kind"] = draw(ODD_TEXT)
        elif action == "api" and isinstance(doc, dict):
            doc["apiVersion"] = draw(ODD_TEXT)
        elif action == "nest":
            # Deeper nesting is written as text (text_mutation "deep"): PyYAML cannot dump it.
            depth = draw(st.sampled_from([5, 90, 101, 150, 200]))
            docs[index] = _set(doc, path, _nest(draw(SCALARS), depth))
        elif action == "duplicate":
            docs.append(doc)
        elif action == "drop" and len(docs) > 1:
            docs.pop(index)
    try:
        text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=200) if docs else text
    except (RecursionError, yaml.YAMLError):
        text = "\n---\n".join(json.dumps(d) if _jsonable(d) else "{}" for d in docs)
    raw = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 3))):
        raw = draw(text_mutation(raw))
    return raw


def _jsonable(doc) -> bool:
    try:
        json.dumps(doc)
        return True
    except (ValueError, TypeError, RecursionError):
        return False


@st.composite
def text_mutation(draw, raw: bytes) -> bytes:
    at = draw(st.integers(0, len(raw)))
    kind = draw(st.sampled_from(["insert", "remove", "byte", "cut", "marker", "alias", "deep", "tab"]))
    if kind == "insert":
        return raw[:at] + draw(st.binary(max_size=20)) + raw[at:]
    if kind == "remove":
        return raw[:at] + raw[at + draw(st.integers(1, 50)):]
    if kind == "byte" and raw:
        at = min(at, len(raw) - 1)
        return raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1:]
    if kind == "cut":
        return raw[:at]
    if kind == "marker":
        return raw[:at] + draw(st.sampled_from([b"\n---\n", b"\n...\n", b"\n--- |\n", b"\n%YAML 1.1\n---\n"])) + raw[at:]
    if kind == "alias":
        return raw[:at] + draw(st.sampled_from([b" &a ", b" *a ", b" *nope ", b" !!python/object ", b" !x "])) + raw[at:]
    if kind == "deep":
        depth = draw(st.sampled_from([100, 101, 500, 20_000]))
        return raw[:at] + b"[" * depth + b"]" * depth + raw[at:]
    return raw[:at] + b"\t" + raw[at:]


# -- running --------------------------------------------------------------------------------

class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"an example took more than {WATCHDOG_S} s")


def run_cli(args: list[str], data: bytes):
    from llmfleet.cli import main
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(WATCHDOG_S)
    try:
        return CliRunner().invoke(main, args, input=data, catch_exceptions=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_outcome(args: list[str], data: bytes) -> None:
    result = run_cli(args, data)
    STATS["inputs"] += 1
    problem = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        problem = f"raised {result.exception!r}"
    elif result.exit_code not in (exitcodes.OK, exitcodes.FINDINGS):
        problem = f"exit code {result.exit_code}: {result.stderr[-2000:]}"
    elif "Traceback" in result.stderr or "internal error" in result.stderr:
        problem = f"traceback: {result.stderr[-2000:]}"
    else:
        crashed = [f["message"] for f in json.loads(result.stdout)["findings"] if f["rule"] == "rule-crashed"]
        if crashed:
            problem = f"rule crashed: {crashed}"
    if problem is not None:
        STATS["failures"] += 1
        raise AssertionError(f"llmfleet {' '.join(args)} on {data[:300]!r}...: {problem}")


COMMANDS = [["lint", "--format", "json", "-"],
            ["validate", "--offline", "--format", "json", "-"]]


def test_fuzz_mutated_overlays(seeds, request, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)                 # no llmfleet.yaml: another project's manifests
    monkeypatch.delenv("LLMFLEET_ROOT", raising=False)

    SEEDS[:] = seeds

    @settings(max_examples=examples(request.config), deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(data=mutated_documents(), command=st.sampled_from(COMMANDS))
    def fuzz(data: bytes, command: list[str]) -> None:
        check_outcome(command, data)

    fuzz()
    print(f"\nfuzz: {STATS['inputs']} inputs, {STATS['failures']} tracebacks or crashes")
    assert STATS["failures"] == 0


@pytest.mark.parametrize("path", sorted(p for p in CRASHES.iterdir() if p.suffix in (".yaml", ".json")),
                         ids=lambda p: p.name)
@pytest.mark.parametrize("command", COMMANDS, ids=["lint", "validate"])
def test_inputs_that_crashed_before(path, command, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    check_outcome(command, path.read_bytes())

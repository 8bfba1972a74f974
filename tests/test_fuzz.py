"""A property-based fuzz test (hypothesis): the rendered overlays of this repository and the
rule fixtures, mutated as data (values of any type, removed keys, odd kinds and apiVersions,
deep nesting, aliases, duplicated documents) and as text (bytes inserted, removed or
corrupted, documents cut), go through ``llmfleet lint -`` and ``llmfleet validate -``.

Whatever the input: no traceback, no internal error (exit code 4), no rule crash, no hang (a
watchdog per example), and an exit code of 0 or 1 (findings).  Bounded in time: 100 examples
by default (under ten seconds), the same ones every run; ``--fuzz-examples N`` or
``LLMFLEET_FUZZ_EXAMPLES=N`` for a longer run with new random inputs each time.  The inputs that crashed llmfleet before are kept in ``tests/fuzz/crashes``
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
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from llmfleet.infra import exitcodes
from llmfleet_testlib import REPO_ROOT, overlay_names

CRASHES = Path(__file__).resolve().parent / "fuzz" / "crashes"
#: Seconds one example may take before the watchdog calls it a hang.
WATCHDOG_S = 60
#: Examples of the default (CI) run: the same inputs every time.
DEFAULT_EXAMPLES = 100
#: Every example's outcome, for the summary line (input count, tracebacks).
STATS = {"inputs": 0, "failures": 0}


def asked_examples(config) -> int | None:
    """Examples asked for on the command line or in the environment (a longer local run)."""
    asked = config.getoption("--fuzz-examples", default=None) or os.environ.get("LLMFLEET_FUZZ_EXAMPLES")
    return int(asked) if asked else None


@pytest.fixture(scope="module")
def seeds() -> list[str]:
    """Rendered overlays, then the rule fixtures."""
    from llmfleet.pipeline.render import render

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
    st.sampled_from(
        [
            "Config Map",
            "Cönfig",
            "K" * 260,
            "../../etc/passwd",
            "%2e%2e",
            "a/b/c",
            "v1",
            "apps/v1",
            "",
            " ",
            "\t",
            "{{.Group}}",
            "${X}",
            "$(X)",
            "--api-key=sk-x",
            "null",
            "~",
            "1e400",
            "-0",
            "0x10",
            "NaN",
            "2001-01-01",
            "<<",
            "*a",
            "&a",
        ]
    ),
)
#: Words that mean something to the rules: vLLM options, entry points, quantities, names.
MEANINGFUL = st.sampled_from(
    [
        "--tensor-parallel-size",
        "-tp",
        "8",
        "0",
        "-1",
        "--config",
        "/etc/vllm/serve.yaml",
        "--port",
        "--port=abc",
        "8000",
        "vllm",
        "serve",
        "sh",
        "-c",
        "vllm serve m --port $(PORT)",
        "--model",
        "python3",
        "-m",
        "vllm.entrypoints.openai.api_server",
        "nvidia.com/gpu",
        "1Gi",
        "100m",
        "1e3",
        "1.5",
        "NoSchedule",
        "Exists",
        "sum(rate(vllm:num_requests_waiting[5m]))",
        "rate(",
        "{",
        "inference",
        "server",
        "vllm/vllm-openai:v0.33.0",
        "vllm/vllm-openai:latest",
        "true",
        "false",
        "app.kubernetes.io/instance",
        "HF_TOKEN",
        "serve.yaml",
        "model: m\ntensor-parallel-size: x\n",
        "keda.sh/v1alpha1",
        "ScaledObject",
        "Deployment",
        "LeaderWorkerSet",
        "prometheus",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    ODD_TEXT,
    MEANINGFUL,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(ODD_TEXT, MEANINGFUL), inner, max_size=4)
    ),
    max_leaves=12,
)
#: Data mutations, the likely ones repeated: most inputs stay Kubernetes objects whose fields
#: are wrong, which is what reaches the rules.
ACTIONS = ["replace"] * 6 + ["retype"] * 4 + ["delete"] * 3 + ["nest", "duplicate", "drop", "kind", "api"]


def _retyped(value):
    """The value as another type: what a typo or a templating slip produces."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return [str(value), {"value": value}, str(value) + "x"][
            int(abs(value)) % 3 if value == value and abs(value) < 1e9 else 0
        ]
    if isinstance(value, str):
        return [value] if len(value) % 2 else {value: value}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)} if value else ""
    if isinstance(value, dict):
        return list(value.values()) or None
    return "null"


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


#: The seeds of the running test (set by it: a strategy argument would be printed whole):
#: the rendered overlays, then the rule fixtures.
SEEDS: list[str] = []
OVERLAY_SEEDS = [0]


@st.composite
def mutated_documents(draw) -> bytes:
    overlays = OVERLAY_SEEDS[0]
    if draw(st.booleans()) and overlays:  # half the inputs are a whole overlay's objects
        text = SEEDS[draw(st.integers(0, overlays - 1))]
    else:
        text = SEEDS[draw(st.integers(0, len(SEEDS) - 1))]
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        docs = []
    if docs and draw(st.booleans()):
        start = draw(st.integers(0, len(docs) - 1))
        docs = docs[start : start + draw(st.integers(1, 6))]
    for _ in range(draw(st.integers(1, 6)) if docs else 0):
        index = draw(st.integers(0, len(docs) - 1))
        doc = docs[index]
        # apiVersion and kind have their own actions: most inputs stay Kubernetes objects.
        paths = [p for p in _paths(doc) if p and p not in (("apiVersion",), ("kind",))] or [()]
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(ACTIONS))
        if action == "replace":
            docs[index] = _set(doc, path, draw(VALUES))
        elif action == "retype":
            docs[index] = _set(doc, path, _retyped(_get(doc, path)))
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
    if draw(st.integers(0, 3)) == 0:  # a quarter of the inputs are also corrupted
        for _ in range(draw(st.integers(1, 2))):
            raw = draw(text_mutation(raw))
    return raw


def _get(node, path):
    for part in path:
        node = node[part]
    return node


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
        return raw[:at] + raw[at + draw(st.integers(1, 50)) :]
    if kind == "byte" and raw:
        at = min(at, len(raw) - 1)
        return raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    if kind == "cut":
        return raw[:at]
    if kind == "marker":
        return (
            raw[:at]
            + draw(st.sampled_from([b"\n---\n", b"\n...\n", b"\n--- |\n", b"\n%YAML 1.1\n---\n"]))
            + raw[at:]
        )
    if kind == "alias":
        return (
            raw[:at]
            + draw(st.sampled_from([b" &a ", b" *a ", b" *nope ", b" !!python/object ", b" !x "]))
            + raw[at:]
        )
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


def check_outcome(args: list[str], data: bytes, keep: Path | None = None) -> None:
    """Fail on a traceback, an internal error, a rule crash or an exit code other than 0 or
    1; the input is then saved in ``keep`` (to add to tests/fuzz/crashes)."""
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
        saved = ""
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            path = keep / f"failure-{STATS['failures']}.yaml"
            path.write_bytes(data)
            saved = f" (input saved as {path})"
        raise AssertionError(f"llmfleet {' '.join(args)}{saved}: {problem}; input starts {data[:300]!r}")


COMMANDS = [["lint", "--format", "json", "-"], ["validate", "--offline", "--format", "json", "-"]]


def test_fuzz_mutated_overlays(seeds, request, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no llmfleet.yaml: another project's manifests
    monkeypatch.delenv("LLMFLEET_ROOT", raising=False)

    SEEDS[:] = seeds
    OVERLAY_SEEDS[0] = len(overlay_names())

    # No shrinking: the inputs are whole overlays, and shrinking them takes minutes; a failing
    # input is saved instead, and kept in tests/fuzz/crashes once fixed.
    # The default run (CI) is derandomized: the same 100 inputs every time, so a red build is a
    # regression, not luck; a run with --fuzz-examples explores new inputs each time.
    asked = asked_examples(request.config)

    @settings(
        max_examples=asked or DEFAULT_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=asked is None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
    )
    @given(data=mutated_documents(), command=st.sampled_from(COMMANDS))
    def fuzz(data: bytes, command: list[str]) -> None:
        check_outcome(command, data, keep=tmp_path / "failures")

    fuzz()
    print(f"\nfuzz: {STATS['inputs']} inputs, {STATS['failures']} tracebacks or crashes")
    assert STATS["failures"] == 0


@pytest.mark.parametrize(
    "path", sorted(p for p in CRASHES.iterdir() if p.suffix in (".yaml", ".json")), ids=lambda p: p.name
)
@pytest.mark.parametrize("command", COMMANDS, ids=["lint", "validate"])
def test_inputs_that_crashed_before(path, command, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    check_outcome(command, path.read_bytes())

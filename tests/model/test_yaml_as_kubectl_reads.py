"""Differential test: the toolkit reads YAML as kubectl does.

Each scalar form becomes one object of a kind kubectl does not know (so that nothing but
the YAML reading decides its JSON: a known kind would be decoded into typed Go structs), the
scalar as a value and as a key; a whole batch goes through the real kubectl in one call
(``kubectl label --local -o json -f -``: sigs.k8s.io/yaml's reading, printed as JSON, with
no server) and through
:func:`llmfleet.kube.safe_yaml.load` with Kubernetes semantics.  The two must give the same
JSON values, or both refuse the document.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from llmfleet.kube import safe_yaml
from llmfleet_testlib import require

REPO_ROOT = Path(__file__).resolve().parents[2]

#: The forms named in issue 24, and the edges of go-yaml's resolve().
TABLE = [
    "y", "Y", "n", "N", "yes", "No", "on", "OFF", "true", "False", "TRUE", "tRUE", "nO",
    "0o17", "0O17", "017", "08", "0x1F", "0X1f", "-0x1F", "+0x1F", "0b101", "0B101", "-0b101",
    "0b-101", "0b", "0x", "0o", "1e3", "1E3", "1e+3", "1e-3", "1.", ".5", "+.5", "-.5", ".5_0",
    "1_000", "1__0", "_1", "1_", "0x_1F", "1e400", "-1e400", "1e-400", "1e21", "1e20", "1.5e300",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "99999999999999999999", "0", "-0", "+0", "00",
    "0.0", "-0.0", "1.0", "3.14", "0.000001", "0.0000001",
    ".inf", ".Inf", "+.inf", "-.INF", ".nan", "inf", "nan", ".infinity", ".",
    "~", "null", "Null", "NULL", "nulL", "", "<<",
    "2024-02-30", "2024-02-29", "2023-02-29", "2024-01-01", "2024-1-2", "2024-13-01",
    "2024-01-01T10:00:00Z", "2024-01-01t10:00:00+01:00", "2024-01-01 10:00:00", "2024-01-01T25:00:00Z",
    "2001-12-14 21:59:43.10 -5", "12:30:00", "1:20", "190:20:30", "-1:20", "1:20.5",
    "!!binary aGVsbG8=", "!!binary /w==", "!!binary aGVsbG8", "!!binary 4pyTIMOgIGxhIG1vZGU=",
    "!!str 0x10", "!!str y", "!!int 0o17", "!!int 1.5", "!!int Hunter2Sup3rSecret", "!!float 1",
    "!!float abc", "!!float 1e3", "!!bool maybe", "!!bool yes", "!!null ~", "!!null x",
    "!!timestamp x", "!!timestamp 2024-01-01", "!!timestamp 2024-02-30", "!!timestamp 2024-1-2T3:4:5,5Z",
    "!Sup3rS3cretPassw0rd", "!local value", "! 123", "!!map x", "!!merge <<",
    "'y'", '"0x10"', "'2024-02-30'", '"~"',
]  # fmt: skip

_PIECES = [
    "0", "1", "7", "8", "9", "12", "017", "0x", "0X", "0o", "0b", "1F", "ff", "_", "-", "+", ".", "e",
    "E", "e+", "e-", ":", "30", "2024", "-01", "-02-29", "-02-30", "T", " ", "Z", "+01:00", "y", "n",
    "yes", "on", "off", "true", "null", "~", ".inf", ".nan", "<<", "400", "99999999999999999999",
    "9223372036854775808", "abc",
]  # fmt: skip
_TAGS = [""] * 6 + ["!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!timestamp ", "!!binary ", "!x "]

scalars = st.builds(
    lambda tag, parts: tag + "".join(parts).strip(),
    st.sampled_from(_TAGS),
    st.one_of(
        st.lists(st.sampled_from(_PIECES), min_size=1, max_size=4),
        st.text("0123456789abcdefxobEe+-._:~ yYnNTtZ", min_size=1, max_size=12),
    ),
)


def _kubectl() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "kubectl"
    path = str(venv) if venv.is_file() else shutil.which("kubectl")
    require(bool(path), "kubectl not found (make setup installs it)")
    assert path is not None
    return path


def _document(index: int, scalar: str) -> str:
    return (
        f"apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: o{index}\n"
        f"data:\n  v: {scalar}\n  {scalar}: k\n  list: [{scalar}]\n"
    )


def _kubectl_reading(kubectl: str, docs: list[str]) -> list[dict | None]:
    """kubectl's JSON for each document, None where it refuses one: one file per document
    in one folder, one kubectl call (it goes on to the next file after refusing one)."""
    with tempfile.TemporaryDirectory() as folder:
        for i, doc in enumerate(docs):
            (Path(folder) / f"{i:05d}.yaml").write_text(doc, encoding="utf-8")
        proc = subprocess.run(
            [kubectl, "label", "--local", "-o", "json", "-f", folder, "zz-"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    decoder, text, position, printed = json.JSONDecoder(), proc.stdout, 0, {}
    while text[position:].strip():
        obj, position = decoder.raw_decode(text, text.index("{", position))
        printed[obj["metadata"]["name"]] = obj
    results = [printed.get(f"o{i}") for i in range(len(docs))]
    for i, result in enumerate(results):
        if result is None:
            assert f"{i:05d}.yaml: error converting YAML to JSON" in proc.stderr, proc.stderr[-2000:]
    return results


def _ours(doc: str) -> dict | None:
    try:
        return safe_yaml.load(doc, allow_duplicates=True, semantics=safe_yaml.KUBERNETES)
    except safe_yaml.UnsafeYAML:
        return None


def _typed(value):
    """JSON values compared by type: a bool is not the number 1, and a number is compared
    by value whatever its Python type (kubectl prints 1e20 as an integer)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, dict):
        return ("object", {k: _typed(v) for k, v in value.items()})
    return ("array", [_typed(v) for v in value])


def _differences(scalars_: list[str]) -> list[str]:
    kubectl = _kubectl()
    docs = [_document(i, s) for i, s in enumerate(scalars_)]
    theirs = _kubectl_reading(kubectl, docs)
    problems = []
    for scalar, doc, their in zip(scalars_, docs, theirs):
        mine = _ours(doc)
        if (mine is None) != (their is None):
            problems.append(
                f"{scalar!r}: kubectl {'refuses' if their is None else their.get('data')}, ours {mine}"
            )
        elif mine is not None and their is not None:
            if _typed(mine.get("data")) != _typed(their.get("data")):
                problems.append(f"{scalar!r}: kubectl {their.get('data')!r}, ours {mine.get('data')!r}")
    return problems


def test_fixed_table_reads_as_kubectl_does():
    assert _differences(TABLE) == []


@settings(
    max_examples=10,
    deadline=None,
    # Each problem names its scalar; shrinking a 300-scalar batch would take minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(scalars, min_size=300, max_size=300, unique=True))
def test_generated_scalars_read_as_kubectl_does(batch):
    assert _differences(batch) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &a {x: 1, z: 2}\nb:\n  <<: *a\n  x: 3\n", {"x": 3, "z": 2}),
        ("a: &a {x: 1, z: 2}\nb:\n  x: 3\n  <<: *a\n", {"x": 1, "z": 2}),
        ("a: &a {x: 1}\nc: &c {x: 2, z: 0}\nb:\n  <<: [*a, *c]\n", {"x": 1, "z": 0}),
    ],
)
def test_merge_keys_apply_where_written_as_go_yaml_v2_does(text, expected):
    """go-yaml v2 sets a merged mapping's keys where ``<<`` is written (PyYAML lets the
    mapping's own keys win wherever they are); checked against kubectl too."""
    doc = "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: o0}\ndata:\n" + "".join(
        "  " + line + "\n" for line in text.splitlines()
    )
    theirs = _kubectl_reading(_kubectl(), [doc])[0]
    assert theirs is not None and theirs["data"]["b"] == expected
    assert safe_yaml.load(doc, semantics=safe_yaml.KUBERNETES)["data"]["b"] == expected

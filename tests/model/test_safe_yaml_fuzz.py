"""Property: whatever the text, the loader returns data or raises UnsafeYAML (never another
exception), the Kubernetes reading is plain JSON, and no refusal quotes a secret written as
a tag, a tagged value or a key's value.  ``benchmarks/fuzz_yaml_loader.py`` runs the same
property over 100,000+ inputs."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmfleet.kube import safe_yaml

SECRET = "Zq9Sup3rS3cretPassw0rd"

_TOKENS = [
    "a", "b", ":", ": ", "- ", "\n", "\n  ", "\n    ", "[", "]", "{", "}", ",", " ", "&x ", "*x", "<<: ",
    "<<: *x", "<<: [*x, *x]", "!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ", "!!null ",
    "!!str ", "!!map ", "!", "? ", "~", "null", "y", "no", "0o17", "0x1F", "1e3", "1e400", "2024-02-30",
    "12:30:00", "9" * 30, "'", '"', "|\n  ", ">\n  ", "#", "%YAML 1.1\n---\n", "---\n", "...\n", "\t",
    f"!{SECRET} ", f"!!int {SECRET}", f"!!float {SECRET}", f"!!timestamp {SECRET}", SECRET,
]  # fmt: skip

texts = st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join)


def check(text: str) -> None:
    for semantics in (safe_yaml.KUBERNETES, safe_yaml.PYYAML):
        try:
            data = safe_yaml.load(text, semantics=semantics)
        except safe_yaml.UnsafeYAML as exc:
            assert f"!{SECRET}" not in str(exc) and f" {SECRET}" not in str(exc), str(exc)
            continue
        if semantics == safe_yaml.KUBERNETES:
            assert json.loads(json.dumps(data, allow_nan=False)) == data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_loader_raises_only_unsafe_yaml_and_never_quotes_a_secret(text):
    check(text)

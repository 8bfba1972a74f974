"""secret-literal edges (issue 26, surviving mutants): a literal --api-key=VALUE of another
server keeps its whole value (base64 padding included), the messages tell the user what to do,
and a Secret's base64 data is decoded before it is judged."""

from __future__ import annotations

import base64
import json

import pytest
from test_generalisation_tables import deployment
from test_triton_llamacpp_table import LLAMA_IMAGE

from rule_tables import findings

C0 = "/spec/template/spec/containers/0"

ARGS = [
    # (case, args, reported pointer or None)
    (
        "key=value ending in base64 padding",
        ["-m", "/m.gguf", "--api-key=c2VjcmV0a2V5MTIzNA=="],
        f"{C0}/args/2",
    ),
    ("key=value", ["-m", "/m.gguf", "--api-key=sk-abcdef123456"], f"{C0}/args/2"),
    ("key from an env var", ["-m", "/m.gguf", "--api-key=$(KEY)"], None),
]


@pytest.mark.parametrize(("case", "args", "pointer"), ARGS, ids=[r[0] for r in ARGS])
def test_llama_cpp_literal_api_key(case, args, pointer):
    rows = findings("secret-literal", deployment({"name": "server", "image": LLAMA_IMAGE, "args": args}))
    if pointer is None:
        assert rows == []
        return
    assert [r[:4] for r in rows] == [("error", "Deployment", "m", pointer)]
    message = rows[0][4]
    assert "--api-key of llama.cpp server in container 'server' is written literally" in message
    assert "pass it from a Secret" in message
    assert "c2VjcmV0" not in message and "sk-abcdef" not in message  # the value stays secret


KUSTOMIZATION = """
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
secretGenerator:
  - name: hf
    literals: [token=hf_abcdefghijklmnopqrstuvwxyz]
"""


def test_secret_generator_literal_message():
    rows = findings("secret-literal", KUSTOMIZATION)
    assert [r[:4] for r in rows] == [("error", "Kustomization", "", "/secretGenerator/0/literals/0")]
    message = rows[0][4]
    assert "secretGenerator 'hf' literal 'token' commits its value" in message
    assert message.endswith("renders it into a Secret; create the Secret out of band")
    assert "hf_abcdef" not in message


def test_secret_data_is_decoded_from_base64():
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "llm"},
        "data": {"token": base64.b64encode(b"hf_abcdefghijklmnopqrstuvwxyz").decode()},
    }
    rows = findings("secret-literal", json.dumps(secret))
    assert [r[:4] for r in rows] == [("error", "Secret", "s", "/data/token")]

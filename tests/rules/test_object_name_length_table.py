"""object-name-length, edge by edge: a StatefulSet name leaves room for "-" and the 10-character
controller-revision hash (52), a LeaderWorkerSet's last worker StatefulSet ``<name>-<group>``
must fit the same 52, Job and Service names and label values 63."""

from __future__ import annotations

import pytest

from llmfleet.model.k8s import same_generated_name, strip_hash_suffix
from rule_tables import findings, where


def named(length: int, stem: str = "n") -> str:
    return (stem + "-" + "x" * length)[:length]


def statefulset(name: str) -> str:
    return f"""
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: {name}, namespace: llm}}
spec:
  serviceName: x
  selector: {{matchLabels: {{app: c}}}}
  template:
    metadata: {{labels: {{app: c}}}}
    spec: {{containers: [{{name: c, image: busybox:1.36}}]}}
"""


def leaderworkerset(name: str, replicas: int) -> str:
    return f"""
apiVersion: leaderworkerset.x-k8s.io/v1
kind: LeaderWorkerSet
metadata: {{name: {name}, namespace: llm}}
spec:
  replicas: {replicas}
  leaderWorkerTemplate:
    size: 2
    workerTemplate:
      spec: {{containers: [{{name: vllm, image: vllm/vllm-openai:v0.33.0}}]}}
"""


def simple(kind: str, name: str) -> str:
    api = "batch/v1" if kind == "Job" else "v1"
    body = (
        "spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox:1.36}]}}}"
        if kind == "Job"
        else "spec: {selector: {app: x}, ports: [{port: 8000}]}"
    )
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}, namespace: llm}}\n{body}\n"


@pytest.mark.parametrize(("length", "reported"), [(51, False), (52, False), (53, True)])
def test_statefulset_name_leaves_room_for_the_revision_hash(length, reported):
    name = named(length)
    found = findings("object-name-length", statefulset(name))
    assert where(found) == ([("error", "StatefulSet", name, "/metadata/name")] if reported else [])
    if reported:
        assert f"has {length} characters, {length - 52} over the 52 allowed" in found[0][4]


@pytest.mark.parametrize(
    ("length", "replicas", "reported"),
    [
        (50, 10, False),  # last group 9: "<50>-9" = 52
        (50, 11, True),  # last group 10: "<50>-10" = 53
        (51, 1, True),  # one group: "<51>-0" = 53
        (50, 1, False),  # one group: "<50>-0" = 52
    ],
)
def test_leaderworkerset_last_worker_statefulset(length, replicas, reported):
    name = named(length)
    found = findings("object-name-length", leaderworkerset(name, replicas))
    worker = f"{name}-{replicas - 1}"
    assert bool(found) == reported
    if reported:
        assert f"(derived name {worker!r})" in found[0][4]


@pytest.mark.parametrize("kind", ["Job", "Service"])
@pytest.mark.parametrize(("length", "reported"), [(63, False), (64, True)])
def test_job_and_service_names_are_63_at_most(kind, length, reported):
    name = named(length)
    found = where(findings("object-name-length", simple(kind, name)))
    assert found == ([("error", kind, name, "/metadata/name")] if reported else [])


@pytest.mark.parametrize(("length", "reported"), [(63, False), (64, True)])
def test_label_values_are_63_at_most(length, reported):
    value = named(length, "v")
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: llm, labels: {{app.kubernetes.io/instance: {value}}}}}\n"
    found = where(findings("object-name-length", text))
    assert found == (
        [("error", "ConfigMap", "c", "/metadata/labels/app.kubernetes.io~1instance")] if reported else []
    )


@pytest.mark.parametrize(
    ("name", "stripped"),
    [
        ("m-serve-config-7h2k9m4f5t", "m-serve-config"),  # "-" and 10 characters of kustomize's alphabet
        ("m-serve-config-7h2k9m4f5", "m-serve-config-7h2k9m4f5"),  # 9: not a suffix
        ("m-serve-config-7h2k9m4f5tt", "m-serve-config-7h2k9m4f5tt"),  # 11 characters: not one
        ("m-serve-config-7h2k9m4f5a", "m-serve-config-7h2k9m4f5a"),  # "a" is never in a hash
        ("m-serve-config7h2k9m4f5tt", "m-serve-config7h2k9m4f5tt"),  # no dash
    ],
)
def test_kustomize_hash_suffix_is_a_dash_and_ten_characters(name, stripped):
    assert strip_hash_suffix(name) == stripped


def test_generated_names_match_up_to_the_suffix():
    assert same_generated_name("cfg-7h2k9m4f5t", "cfg")
    assert same_generated_name("cfg", "cfg-7h2k9m4f5t")
    assert not same_generated_name("cfg-7h2k9m4f5t", "other")
    assert not same_generated_name("cfg-7h2k9m4f5", "cfg")

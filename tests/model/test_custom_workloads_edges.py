"""The role label llmfleet.model.custom_workloads gives a custom resource's pod template
(mutation-testing survivors, issue 26): findings name the template by it."""

from __future__ import annotations

import pytest

from llmfleet.model.custom_workloads import _label

# (keys of the template's path, declared role, label findings show)
LABELS = [
    (("spec", "template"), "pod", "pod"),
    (("spec", "services", "Frontend", "extraPodSpec"), "pod", "pod"),
    (("spec", "services", "Frontend", "extraPodSpec"), "worker", "worker:extraPodSpec"),
    (("spec", "workers", 0, "template"), "worker", "worker:0"),
    (("spec", "template"), "worker", "worker"),
]


@pytest.mark.parametrize(("keys", "role", "label"), LABELS)
def test_label_names_the_last_meaningful_key(keys, role, label):
    assert _label(keys, role) == label

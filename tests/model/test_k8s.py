"""llmfleet.model.k8s: quantities, names, selectors and the kustomize hash suffix."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmfleet.model.k8s import (
    is_dns1123_label,
    parse_quantity,
    quantity_int,
    same_generated_name,
    selector_matches,
    strip_hash_suffix,
)


@pytest.mark.parametrize(
    "value, expected",
    [
        (2, Decimal(2)),
        ("2", Decimal(2)),
        (2.0, Decimal(2)),
        ("500m", Decimal("0.5")),
        ("16Gi", Decimal(16 * 2**30)),
        ("1e3", Decimal(1000)),
        ("1.5k", Decimal(1500)),
        ("+3", Decimal(3)),
        ("abc", None),
        (True, None),
        ([1], None),
        ("2 Gi", None),
        ("", None),
    ],
)
def test_parse_quantity(value, expected):
    assert parse_quantity(value) == expected


def test_quantity_int_is_whole_numbers_only():
    assert quantity_int("2") == 2 and quantity_int("2000m") == 2 and quantity_int(4.0) == 4
    assert quantity_int("1500m") is None and quantity_int(False) is None


def test_hash_suffix_is_kustomize_alphabet():
    assert strip_hash_suffix("cfg-7h2k9m4f5t") == "cfg"
    assert strip_hash_suffix("cfg-abcdefghij") == "cfg-abcdefghij"  # a, e, i, j never appear
    assert same_generated_name("cfg", "cfg-7h2k9m4f5t") and not same_generated_name("cfg", "other-7h2k9m4f5t")


def test_selectors_and_names():
    labels = {"app": "m", "tier": "gpu"}
    assert selector_matches({"app": "m"}, labels)
    assert selector_matches(
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["gpu"]}]}, labels
    )
    assert not selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)
    assert not selector_matches({}, labels) and not selector_matches(None, labels)
    assert (
        is_dns1123_label("llama-3-1-8b") and not is_dns1123_label("Llama") and not is_dns1123_label("a" * 64)
    )

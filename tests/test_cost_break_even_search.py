"""The break-even search of `llmfleet cost` (OverlayCost._cheaper_from): exact over the first
replica counts, doubling then bisecting beyond them, bounded for any max replica count."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from llmfleet.catalog.entries import find_gpu
from llmfleet.features.cost.estimate import EXACT_REPLICAS, OverlayCost

assert EXACT_REPLICAS < 10_000  # the second and third rows are beyond the exact walk


class FixedPlusMarginal(OverlayCost):
    """A fleet that pays a fixed ``fixed`` $/day plus ``marginal`` $/day per replica."""

    def __init__(self, fixed: float, marginal: float, max_replicas: int):
        super().__init__("m", find_gpu("l4"), 1, 1, max_replicas)
        self.fixed, self.marginal = fixed, marginal

    def per_day_at(self, replicas: int) -> float:
        return self.fixed + self.marginal * replicas


API = SimpleNamespace(per_request=0.001)  # $ per request
CAP = SimpleNamespace(per_replica_per_day=2000.0)  # requests one replica serves a day


@pytest.mark.parametrize(
    "fixed,expected",
    [
        # (fixed + n) * 1000 <= 2000 n  <=>  n >= fixed / 1  (worked by hand)
        (1_000.0, 1_000),  # found by the exact walk
        (10_000.0, 10_000),  # beyond EXACT_REPLICAS: doubling, then bisecting
        (1_000_000.0, 1_000_000),
    ],
)
def test_the_first_replica_count_at_which_self_hosting_is_cheaper(fixed, expected):
    found = FixedPlusMarginal(fixed, 1.0, 2**31 - 1)._cheaper_from(API, CAP)
    assert found is not None
    volume, replicas = found
    assert replicas == expected
    assert volume == pytest.approx(max((expected - 1) * 2000.0, (fixed + expected) * 1000))


def test_never_cheaper_when_a_replica_costs_more_than_the_api_for_its_requests():
    # marginal $3/day per replica against $2/day of API for the 2000 requests it serves
    assert FixedPlusMarginal(10.0, 3.0, 2**31 - 1)._cheaper_from(API, CAP) is None


def test_a_max_below_the_step_finds_nothing():
    assert FixedPlusMarginal(10_000.0, 1.0, 9_999)._cheaper_from(API, CAP) is None
    assert FixedPlusMarginal(10_000.0, 1.0, 10_000)._cheaper_from(API, CAP)[1] == 10_000

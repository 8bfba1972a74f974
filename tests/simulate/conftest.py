"""Fixtures of the simulation tests."""

from __future__ import annotations

import pytest
from sim_testlib import make_replica


@pytest.fixture
def replica():
    return make_replica()

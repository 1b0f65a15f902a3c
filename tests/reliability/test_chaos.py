"""kill -9 of kukeond at random instants while 20 cells are applied, updated and deleted;
then convergence and zero leaks. KUKEON_CHAOS_ITERATIONS sets the number of kills (10 by
default; bench/chaos.py runs 100)."""

from __future__ import annotations

import os

import pytest

from tests.fixtures.kukeond import Kukeond
from tests.reliability.chaos import run_chaos

pytestmark = pytest.mark.integration
ITERATIONS = int(os.environ.get("KUKEON_CHAOS_ITERATIONS") or 10)
SEED = int(os.environ.get("KUKEON_CHAOS_SEED") or 1)


@pytest.mark.timeout(120 + 15 * ITERATIONS)
def test_chaos_kill9_converges_without_leaks(kukeond: Kukeond) -> None:
    result = run_chaos(kukeond, ITERATIONS, seed=SEED)
    print(result.summary())
    assert not result.leaks, f"{result.summary()}\n" + "\n".join(result.leaks)

"""Fixtures of the network driver's unit tests."""

from __future__ import annotations

import pytest

from kukeon.model.naming import Naming
from tests.integration.network.conftest import ChainFixedNaming


@pytest.fixture
def naming(instance: str) -> Naming:
    return ChainFixedNaming(instance)

"""Shared fixtures. Each fixture module lives in tests/fixtures/ and is listed here."""

pytest_plugins = [
    "tests.fixtures.host",
    "tests.fixtures.containerd",
    "tests.fixtures.kukeond",
]

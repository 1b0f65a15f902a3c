"""Fixtures for CLI tests: a fake kukeond on a real unix socket, and a way to run kuke."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner, Result

from kukeon.cli.main import cli
from tests.unit.cli.fakedaemon import Daemon, FakeKukeon, serve

Kuke = Callable[..., Result]


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    yield from serve(FakeKukeon())


@pytest.fixture
def kuke(daemon: Daemon) -> Kuke:
    """Run kuke against the fake daemon: kuke("get", "cells", input=None)."""

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(cli, ["--socket", daemon.socket, *args], input=input)

    return run

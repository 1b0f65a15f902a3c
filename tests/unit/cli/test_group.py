"""Return values, errors and interrupts become exit codes, never tracebacks."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from kukeon.cli.group import KukeonGroup
from kukeon.model.errors import KukeonError, Location, ManifestError


def run(exc: BaseException | None = None, rv: int = 0) -> tuple[int, str]:
    @click.group(cls=KukeonGroup)
    def root() -> None:
        pass

    @root.command()
    def verb() -> int:
        if exc is not None:
            raise exc
        return rv

    result = CliRunner().invoke(root, ["verb"])
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("exc", "rv", "code", "stderr"),
    [
        (None, 0, 0, ""),
        (None, 1, 1, ""),
        (KeyboardInterrupt(), 0, 130, "\n"),
        (KukeonError("it broke", hint="do this"), 0, 1, "error: it broke (do this)\n"),
        (ManifestError(Location("f.yaml", 3, "kind"), "bad"), 0, 2, "error: f.yaml:3: kind: bad\n"),
    ],
)
def test_exit_codes(exc: BaseException | None, rv: int, code: int, stderr: str) -> None:
    assert run(exc, rv) == (code, stderr)


def test_a_bug_is_reported_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUKE_DEBUG", raising=False)
    code, stderr = run(ValueError("oops"))
    assert code == 1
    assert stderr.startswith("kuke: internal error: ValueError: oops (run again with KUKE_DEBUG=1")

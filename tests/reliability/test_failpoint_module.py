"""The failpoint switch itself: parsed once from the environment, typos refused, crash
exits 137 on the spot, raise fires once with the caller's error type."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kukeon.model.failpoints import CRASH_EXIT, ENV, POINTS

POINT = next(iter(POINTS))


def run(code: str, spec: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, ENV: spec}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_crash_exits_137_at_the_point() -> None:
    code = f"from kukeon.model.failpoints import failpoint\nfailpoint({POINT!r})\nprint('after')"
    proc = run(code, f"{POINT}=crash")
    assert proc.returncode == CRASH_EXIT and "after" not in proc.stdout
    assert f"failpoint {POINT}: crash" in proc.stderr


def test_raise_fires_once_with_the_callers_error() -> None:
    code = (
        "from kukeon.model.failpoints import failpoint\n"
        "try:\n"
        f"    failpoint({POINT!r}, KeyError)\n"
        "except KeyError as e:\n"
        "    print('raised', e)\n"
        f"failpoint({POINT!r}, KeyError)\n"
        "print('second hit passes')\n"
    )
    proc = run(code, f"{POINT}=raise")
    assert proc.returncode == 0, proc.stderr
    assert "raised" in proc.stdout and "second hit passes" in proc.stdout


@pytest.mark.parametrize("spec", ["no.such-point=crash", f"{POINT}=explode", POINT])
def test_a_typo_fails_at_import(spec: str) -> None:
    proc = run("import kukeon.model.failpoints", spec)
    assert proc.returncode != 0 and "is not <point>=crash|raise" in proc.stderr


def test_unset_does_nothing() -> None:
    code = f"from kukeon.model.failpoints import failpoint\nfailpoint({POINT!r})\nprint('ok')"
    assert run(code, "").stdout.strip() == "ok"

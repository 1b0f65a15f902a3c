"""The loader and `kuke validate` refuse hostile input: an error naming file, line and
field; in bounded time and memory; never constructing objects or touching the host."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner

from kukeon.cli.main import cli
from kukeon.manifests import LoadResult, load_paths, load_text
from kukeon.model.errors import ManifestError
from tests.security.audit import effects
from tests.security.hostile import (
    CELL_FIELDS,
    HOSTILE_DOCS,
    HOSTILE_NAMES,
    Hostile,
    cell_with,
    q,
    realm_named,
)

T = TypeVar("T")
MAX_SECONDS = 2.0
MAX_EXTRA_BYTES = 40 << 20
KUKE = Path(sys.executable).parent / "kuke"


def measured(call: Callable[[], T]) -> tuple[T, float, int]:
    """``call()``'s result, its wall time, and the peak of what it allocated (a second run
    under tracemalloc, which would slow the timed one)."""
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, seconds, peak


def text_of(h: Hostile, marker: Path) -> str:
    return h.text.replace("{marker}", str(marker))


def check_refused(result: LoadResult, h: Hostile, source: str) -> ManifestError:
    """The error that says what ``h`` must say, with its line and field."""
    assert not result.resources
    shown = [str(e) for e in result.errors]
    err = next((e for e in result.errors if h.says in str(e)), None)
    assert err is not None, f"no error says {h.says!r}: {shown}"
    assert err.location.file == source
    if h.line is not None:
        assert err.location.line == h.line, shown
    elif "larger than" not in h.says:  # only the size of an input has no line
        assert err.location.line is not None, shown
    if h.field is not None:
        assert err.location.field == h.field, shown
    assert "Traceback" not in "\n".join(shown)
    return err


@pytest.mark.parametrize("case", sorted(HOSTILE_DOCS))
def test_loader_refuses_hostile_documents_fast_and_small(case: str, tmp_path: Path) -> None:
    h = HOSTILE_DOCS[case]
    marker = tmp_path / "pwned"
    text = text_of(h, marker)
    with effects() as seen:
        result, seconds, peak = measured(lambda: load_text(text, "hostile.yaml"))
    check_refused(result, h, "hostile.yaml")
    assert seconds < MAX_SECONDS, f"{case}: {seconds:.2f} s"
    assert peak < MAX_EXTRA_BYTES, f"{case}: {peak / 2**20:.1f} MiB"
    assert not marker.exists(), "a YAML tag ran a command"
    assert not seen, f"loading touched the host: {seen}"
    print(f"{case}: {seconds * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB")


@pytest.mark.parametrize("case", ["over-size", "value-flood", "alias-bomb", "python-name"])
def test_load_paths_refuses_hostile_files(case: str, tmp_path: Path) -> None:
    h = HOSTILE_DOCS[case]
    f = tmp_path / "hostile.yaml"
    f.write_text(text_of(h, tmp_path / "pwned"), encoding="utf-8")
    with effects() as seen:
        result, seconds, peak = measured(lambda: load_paths([tmp_path]))
    check_refused(result, h, str(f))
    assert seconds < MAX_SECONDS and peak < MAX_EXTRA_BYTES, (seconds, peak)
    assert not seen, seen


def test_a_file_far_over_the_limit_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    """A 64 MiB file must not cost 64 MiB (nor a 64 GiB one 64 GiB)."""
    f = tmp_path / "huge.yaml"
    with f.open("wb") as out:
        out.truncate(64 << 20)  # sparse: NULs, never read from disk
    result, seconds, peak = measured(lambda: load_paths([f]))
    check_refused(result, HOSTILE_DOCS["over-size"], str(f))
    assert seconds < MAX_SECONDS, seconds
    assert peak < MAX_EXTRA_BYTES, f"{peak / 2**20:.1f} MiB"


def test_invalid_utf8_and_binary_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"kind: Caf\xe9\n")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)))
    for f in (bad, binary):
        result = load_paths([f])
        assert not result.resources and result.errors
        assert all(e.location.file == str(f) for e in result.errors)


@pytest.mark.parametrize("field", sorted(CELL_FIELDS))
@pytest.mark.parametrize("name", sorted(HOSTILE_NAMES))
def test_hostile_names_are_refused_naming_file_line_and_field(name: str, field: str) -> None:
    text, line = cell_with(CELL_FIELDS[field], HOSTILE_NAMES[name])
    with effects() as seen:
        start = time.perf_counter()
        result = load_text(text, "cell.yaml")
        seconds = time.perf_counter() - start
    assert not result.resources
    shown = [str(e) for e in result.errors]
    at = [e for e in result.errors if e.location.field == field]
    assert at, f"no error on {field}: {shown}"
    assert all(e.location.file == "cell.yaml" and e.location.line == line for e in at), shown
    assert seconds < MAX_SECONDS and not seen


@pytest.mark.parametrize("name", sorted(HOSTILE_NAMES))
def test_hostile_realm_names_are_refused(name: str) -> None:
    result = load_text(realm_named(HOSTILE_NAMES[name]), "realm.yaml")
    assert not result.resources
    where = {(e.location.line, e.location.field) for e in result.errors}
    assert where == {(4, "metadata.name")}, [str(e) for e in result.errors]


@pytest.mark.parametrize(
    "host_ip", ["127.0.0.1 -j ACCEPT", "0.0.0.0/0", "$(reboot)", "::1;id", "127.0.0.1\x00", ""]
)
def test_iptables_and_shell_syntax_in_a_host_ip_is_refused(host_ip: str) -> None:
    text, line = cell_with("hostip", host_ip)
    result = load_text(text, "cell.yaml")
    assert not result.resources
    where = [(e.location.line, e.location.field) for e in result.errors]
    assert where == [(line, "spec.containers[0].ports[0].hostIP")], where


def test_valid_look_alike_names_stay_distinct() -> None:
    """Control: the template is valid with good names, so the refusals above are the names'."""
    text, _ = cell_with("name", "web")
    text = text.replace(f"dependsOn: [{q('db')}]", "dependsOn: []")
    result = load_text(text, "cell.yaml")
    assert not result.errors, [str(e) for e in result.errors]
    assert len(result.resources) == 1


# -- kuke validate --------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(HOSTILE_DOCS))
def test_kuke_validate_exits_2_with_file_and_line(case: str, tmp_path: Path) -> None:
    h = HOSTILE_DOCS[case]
    f = tmp_path / f"{case}.yaml"
    f.write_text(text_of(h, tmp_path / "pwned"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "-f", str(f)])
    assert result.exit_code == 2, result.output
    where = f"{f}:{h.line}" if h.line is not None else str(f)
    assert where in result.stderr and h.says in result.stderr, result.stderr[:2000]
    assert "Traceback" not in result.output
    assert not (tmp_path / "pwned").exists()


def test_kuke_validate_process_on_a_directory_of_hostile_files(tmp_path: Path) -> None:
    """The real entry point, once, on every class: exit 2, each file named, no traceback."""
    d = tmp_path / "m"
    d.mkdir()
    for case, h in HOSTILE_DOCS.items():
        (d / f"{case}.yaml").write_text(text_of(h, tmp_path / "pwned"), encoding="utf-8")
    for name, value in HOSTILE_NAMES.items():
        (d / f"name-{name}.yaml").write_text(cell_with("name", value)[0], encoding="utf-8")
    start = time.monotonic()
    proc = subprocess.run(
        [str(KUKE), "validate", "-f", str(d)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KUKE_DEBUG": ""},
    )
    seconds = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    for f in d.iterdir():
        assert str(f) in proc.stderr, f"{f.name} not reported"
    assert not (tmp_path / "pwned").exists()
    files = len(HOSTILE_DOCS) + len(HOSTILE_NAMES)
    assert seconds < MAX_SECONDS * files, seconds
    print(f"kuke validate on {files} hostile files: {seconds:.2f} s")

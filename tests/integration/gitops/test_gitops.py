"""GitOps end to end: a real kukeond follows a local bare repository (no network) and
runs what it declares on real containerd, runc, CNI and cgroups."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kukeon.api import kukeon_pb2 as pb
from tests.fixtures.kukeond import Kukeond, wait_for
from tests.unit.gitsync.remote import Remote, cell

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
WEB = "default/default/default/web"
DB = "default/default/default/db"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote(tmp_path / "repo")


@pytest.fixture
def gitd(kukeond: Kukeond) -> Iterator[Kukeond]:
    """kukeond whose git sources are removed (and their cells pruned) before its teardown."""
    yield kukeond
    for src in kukeond.api.GitList(pb.GitListRequest()).sources:
        kukeond.api.GitRemove(pb.GitRemoveRequest(name=src.spec.name))
    wait_for("git cells pruned", lambda: not kukeond.cells(), 30)


def add(d: Kukeond, name: str, url: str, *, interval: float = 3600, wait: bool = True) -> Any:
    spec = pb.GitSourceSpec(name=name, url=url, interval_seconds=interval)
    return d.api.GitAdd(pb.GitAddRequest(spec=spec, wait=wait, timeout_seconds=20))


def sync(d: Kukeond, name: str) -> Any:
    return d.api.GitSync(pb.GitSyncRequest(name=name, timeout_seconds=20))


def pids(d: Kukeond, path: str) -> dict[str, int]:
    return {c.name: c.pid for c in d.cell(path).containers}


def kuke(d: Kukeond, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "kuke"), "--socket", str(d.socket), *args],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip


def test_push_runs_within_an_interval_change_recreates_delete_prunes(
    gitd: Kukeond, remote: Remote
) -> None:
    first = remote.commit({"apps/web.yaml": cell("web")})
    began = time.monotonic()
    add(gitd, "apps", remote.url, interval=1.0, wait=False)
    gitd.wait_phase(WEB, "Ready", 20)
    assert time.monotonic() - began < 1.0 + 10  # first sync at once, then the cell's start
    assert gitd.cell(WEB).owner == "git:apps"
    before = pids(gitd, WEB)
    # a change pushed is picked up by polling (1 s) and the container recreated
    second = remote.commit({"apps/web.yaml": cell("web", env="A=2")})
    wait_for(
        "web recreated",
        lambda: (c := gitd.cell(WEB)) and c.phase == "Ready" and pids(gitd, WEB) != before,
        20,
    )
    status = gitd.api.GitStatus(pb.GitStatusRequest(name="apps"))
    assert status.applied_revision == status.fetched_revision == second
    assert [h.revision for h in status.history] == [second, first]
    # a deletion, applied now by `kuke git sync` (CLI)
    remote.commit({"apps/web.yaml": None, "apps/db.yaml": cell("db")})
    out = kuke(gitd, "git", "sync", "apps")
    assert out.returncode == 0, out.stderr
    assert "git:apps at" in out.stdout
    wait_for("web pruned", lambda: WEB not in gitd.cells(), 20)
    gitd.wait_phase(DB, "Ready", 20)
    # a file or API apply cannot take a git-owned cell
    with pytest.raises(Exception, match="owned by git:apps"):
        gitd.apply(cell("db"))


def test_broken_commit_changes_nothing_then_a_fix_applies(gitd: Kukeond, remote: Remote) -> None:
    good = remote.commit({"web.yaml": cell("web")})
    assert add(gitd, "apps", remote.url).applied_revision == good
    gitd.wait_phase(WEB, "Ready", 20)
    before = pids(gitd, WEB)
    broken = remote.commit(
        {"web.yaml": cell("web", env="A=2").replace("image:", "imagee:"), "db.yaml": cell("db")}
    )
    status = sync(gitd, "apps")
    assert status.applied_revision == good and status.attempted_revision == broken
    assert f"commit {broken[:12]}: web.yaml:8:" in status.last_error, status.last_error
    out = kuke(gitd, "git", "sync", "apps")
    assert out.returncode == 1 and "imagee" in out.stderr
    out = kuke(gitd, "git", "status", "apps")
    assert out.returncode == 0, out.stderr
    assert f"applied    {good[:12]}" in out.stdout and f"attempted  {broken[:12]}" in out.stdout
    assert "web.yaml:8" in out.stdout and "rejected" in out.stdout
    time.sleep(2.5)  # more than a resync: the host stays as it was
    assert pids(gitd, WEB) == before and DB not in gitd.cells()
    sources = {s.name: s for s in gitd.api.Status(pb.StatusRequest()).sources}
    assert sources["git:apps"].revision == good and "imagee" in sources["git:apps"].error
    fixed = remote.commit({"web.yaml": cell("web", env="A=2")})
    status = sync(gitd, "apps")
    assert status.applied_revision == fixed and status.last_error == ""
    gitd.wait_phase(DB, "Ready", 20)
    wait_for("web recreated", lambda: pids(gitd, WEB) != before, 20)


def test_kill9_during_a_sync_converges_on_the_newest_good_revision(
    gitd: Kukeond, remote: Remote
) -> None:
    remote.commit({"web.yaml": cell("web")})
    add(gitd, "apps", remote.url, interval=0.2)
    gitd.wait_phase(WEB, "Ready", 20)
    before = pids(gitd, WEB)
    newest = remote.commit({"db.yaml": cell("db")})
    time.sleep(0.1)  # likely within the next fetch or apply
    gitd.stop(signal.SIGKILL)
    gitd.start()
    gitd.wait_phase(DB, "Ready", 20)
    assert pids(gitd, WEB) == before  # adopted, not restarted
    status = wait_for(
        "newest applied",
        lambda: (
            (s := gitd.api.GitStatus(pb.GitStatusRequest(name="apps"))).applied_revision == newest
            and s
        ),
    )
    assert status.last_error == ""


def test_two_sources_declaring_one_cell_first_owner_keeps_it(gitd: Kukeond, tmp_path: Path) -> None:
    one, two = Remote(tmp_path / "one"), Remote(tmp_path / "two")
    one.commit({"web.yaml": cell("web")})
    two.commit({"web.yaml": cell("web", env="A=2"), "db.yaml": cell("db")})
    add(gitd, "one", one.url)
    gitd.wait_phase(WEB, "Ready", 20)
    before = pids(gitd, WEB)
    add(gitd, "two", two.url)
    gitd.wait_phase(DB, "Ready", 20)
    conflict = f"{WEB} is declared by both git:one and git:two; git:one keeps it"
    for name in ("one", "two"):
        assert list(gitd.api.GitStatus(pb.GitStatusRequest(name=name)).conflicts) == [conflict]
    assert conflict in gitd.api.Status(pb.StatusRequest()).conflicts
    assert gitd.cell(WEB).owner == "git:one" and gitd.cell(DB).owner == "git:two"
    assert pids(gitd, WEB) == before


def test_sync_timing(gitd: Kukeond, remote: Remote) -> None:
    """Measures one sync of a one-cell repository: first (fetch, checkout, load, apply)
    and no-op (fetch of an unchanged ref)."""
    remote.commit({"web.yaml": cell("web")})
    began = time.monotonic()
    first = add(gitd, "apps", remote.url)
    add_rpc = time.monotonic() - began
    gitd.wait_phase(WEB, "Ready", 20)
    to_ready = time.monotonic() - began
    noops = [sync(gitd, "apps").last_sync_seconds for _ in range(5)]
    print(
        f"\ngit sync 1 cell: first {first.last_sync_seconds * 1000:.0f} ms "
        f"(add RPC {add_rpc * 1000:.0f} ms, to Ready {to_ready:.2f} s); "
        f"no-op median {sorted(noops)[2] * 1000:.0f} ms"
    )
    assert first.last_sync_seconds > 0 and all(n > 0 for n in noops)  # measured, not bounded
    out = kuke(gitd, "git", "ls")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[1].split() == [
        "apps", remote.url, "branch", "main", "/", "3600s", first.applied_revision[:12], "ok",
    ]  # fmt: skip
    out = kuke(gitd, "git", "status", "apps", "-o", "json")
    doc = json.loads(out.stdout)
    assert doc["applied"]["revision"] == first.applied_revision and doc["resources"] == 1
    assert doc["history"][0]["result"] == "applied: 1 resources"


ROOT_BIND = """apiVersion: v1beta1
kind: Cell
metadata: {name: sneaky}
spec:
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [sleep, "1000"]
      volumes: [{kind: bind, source: /, target: /host}]
"""


def test_git_source_asking_for_a_host_bind_of_root_is_refused(gitd: Kukeond, remote: Remote) -> None:
    remote.commit({"sneaky.yaml": ROOT_BIND})
    add(gitd, "ops", remote.url)
    path = "default/default/default/sneaky"
    cell = gitd.wait_phase(path, "Failed", 20)
    assert cell.reason == "PolicyViolation"
    assert "bind mount of / is not allowed" in cell.message and "spec.policy.git" in cell.message
    assert not [c for c in cell.containers if c.state == "running"]
    # the same manifest through the API (root-owned, open by default) runs
    gitd.api.GitRemove(pb.GitRemoveRequest(name="ops"))
    wait_for("pruned", lambda: path not in gitd.cells(), 20)
    gitd.apply(ROOT_BIND)
    gitd.wait_phase(path, "Ready", 20)
    gitd.api.Delete(pb.DeleteRequest(paths=[path]))

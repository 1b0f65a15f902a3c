"""kukeond end to end on real containerd, runc, CNI and cgroups."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from kukeon.api import kukeon_pb2 as pb
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from tests.fixtures.kukeond import Kukeond, wait_for

pytestmark = pytest.mark.integration

HELLO = "default/default/default/hello-world"
ROOT = Path(__file__).resolve().parents[3]


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:  # loopback or a cell we made
        return resp.read().decode()


def cell_yaml(
    name: str,
    *,
    env: str = "A=1",
    restart: str = "always",
    cmd: str = "sleep 1000",
    space: str = "default",
) -> str:
    return f"""
apiVersion: v1beta1
kind: Cell
metadata: {{name: {name}}}
spec:
  spaceId: {space}
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "{cmd}"]
      env: ["{env}"]
      restartPolicy: {restart}
"""


def pids(d: Kukeond, path: str) -> dict[str, int]:
    return {c.name: c.pid for c in d.cell(path).containers}


def test_hello_world_from_the_manifests_dir(kukeond: Kukeond) -> None:
    (kukeond.manifests / "hello.yaml").write_text((ROOT / "examples/hello-world.yaml").read_text())
    cell = kukeond.wait_phase(HELLO, "Ready")
    assert cell.ip.startswith("10.218.")
    assert "Hello from kukeon" in wait_for("page", lambda: _try_get(f"http://{cell.ip}:8080/"))
    assert "Hello from kukeon" in http_get("http://127.0.0.1:8080/")  # published port
    log = kukeond.log_dir / "default/default/default/hello-world/web.log"
    assert log.parent.is_dir()
    # deleting the file prunes the cell and everything it had on the host
    (kukeond.manifests / "hello.yaml").unlink()
    wait_for("cell pruned", lambda: HELLO not in kukeond.cells(), 30)


def _try_get(url: str) -> str | None:
    try:
        return http_get(url)
    except OSError:
        return None


def test_env_change_recreates_only_that_cell_and_broken_file_keeps_it(kukeond: Kukeond) -> None:
    (kukeond.manifests / "a.yaml").write_text(cell_yaml("a"))
    (kukeond.manifests / "b.yaml").write_text(cell_yaml("b"))
    a = "default/default/default/a"
    b = "default/default/default/b"
    kukeond.wait_phase(a, "Ready")
    kukeond.wait_phase(b, "Ready")
    before_a, before_b = pids(kukeond, a), pids(kukeond, b)
    (kukeond.manifests / "a.yaml").write_text(cell_yaml("a", env="A=2"))
    wait_for(
        "a recreated",
        lambda: (c := kukeond.cell(a)) and c.phase == "Ready" and pids(kukeond, a) != before_a,
    )
    assert pids(kukeond, b) == before_b
    events = list(kukeond.api.Events(pb.EventsRequest(prefix=a + "/main", limit=50)))
    assert any(e.reason == "Deleted" and "spec changed: env" in e.message for e in events)
    # a file that turns invalid keeps its last good content in force, error with file:line
    (kukeond.manifests / "a.yaml").write_text(cell_yaml("a").replace("image:", "imagee:"))
    status = wait_for(
        "error reported",
        lambda: [s for s in kukeond.api.Status(pb.StatusRequest()).sources if s.error],
    )
    assert "a.yaml:" in status[0].error and "imagee" in status[0].error
    assert kukeond.cell(a).phase == "Ready"
    assert pids(kukeond, a) != before_a  # still the recreated one, untouched


def test_kill9_and_restart_adopts_running_containers(kukeond: Kukeond) -> None:
    kukeond.apply(cell_yaml("svc"))
    path = "default/default/default/svc"
    kukeond.wait_phase(path, "Ready")
    before = pids(kukeond, path)
    kukeond.stop(signal.SIGKILL)
    kukeond.start()
    cell = kukeond.wait_phase(path, "Ready")
    assert {c.name: c.pid for c in cell.containers} == before
    ctr = subprocess.run(["pgrep", "-f", "sleep 1000"], capture_output=True, text=True)
    assert str(before["main"]) in ctr.stdout.split()


def test_restart_policies(kukeond: Kukeond) -> None:
    kukeond.apply(
        cell_yaml("flaky", cmd="sleep 0.3; exit 3")
        + "---\n"
        + cell_yaml("once", cmd="exit 4", restart="never")
    )
    flaky = "default/default/default/flaky"
    wait_for(
        "restarted twice",
        lambda: (c := kukeond.cell(flaky)) and c.containers[0].restart_count >= 2,
        30,
    )
    once = kukeond.wait_phase("default/default/default/once", "Failed")
    assert once.containers[0].exit_code == 4 and once.containers[0].restart_count == 0


def test_spaces_resolve_names_inside_and_are_isolated_across(kukeond: Kukeond) -> None:
    web = "httpd -f -p 8080 -h /etc"
    docs = "\n---\n".join(
        [
            cell_yaml("web", cmd=web, space="front"),
            cell_yaml("client", space="front"),
            cell_yaml("other", space="back"),
        ]
    )
    kukeond.apply(docs)
    for name, space in (("web", "front"), ("client", "front"), ("other", "back")):
        kukeond.wait_phase(f"default/{space}/default/{name}", "Ready")
    client_ip = kukeond.cell("default/front/default/client").ip
    other_ip = kukeond.cell("default/back/default/other").ip
    web_ip = kukeond.cell("default/front/default/web").ip
    assert client_ip.rsplit(".", 1)[0] == web_ip.rsplit(".", 1)[0] != other_ip.rsplit(".", 1)[0]
    hosts = (kukeond.run_dir / "cells").rglob("hosts")
    client_hosts = [h.read_text() for h in hosts if "client" in str(h)]
    assert client_hosts and web_ip in client_hosts[0] and " web" in client_hosts[0]
    naming = Naming(kukeond.instance)

    def fetch_from(cell: str) -> int:
        pin = kukeond.run_dir / "netns" / naming.netns_pin(ResourcePath.parse(cell))
        # (busybox-static segfaults on wget -T; timeout(1) bounds it instead)
        argv = ["timeout", "3", "nsenter", f"--net={pin}", "busybox", "wget", "-q", "-O", "/dev/null", f"http://{web_ip}:8080/hostname"]
        return subprocess.run(argv, capture_output=True, timeout=10).returncode

    assert fetch_from("default/front/default/client") == 0
    assert fetch_from("default/back/default/other") != 0


def test_doctor_reports_the_host(kukeond: Kukeond) -> None:
    checks = {c.name: c for c in kukeond.api.Doctor(pb.DoctorRequest()).checks}
    assert checks["containerd"].ok and checks["runc"].ok and checks["cni:bridge"].ok
    mode = "unified v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "hybrid"
    assert checks["cgroups"].ok and mode in checks["cgroups"].detail
    assert "memory" in checks["cgroups"].detail


def test_drift_is_corrected_with_an_event(kukeond: Kukeond) -> None:
    kukeond.apply(cell_yaml("drifty") + "  resources: {pidsLimit: 50}\n")
    path = "default/default/default/drifty"
    kukeond.wait_phase(path, "Ready")
    naming = Naming(kukeond.instance)
    pids_max = Path("/sys/fs/cgroup/pids", naming.cgroup(ResourcePath.parse(path)).lstrip("/"), "pids.max")
    if not pids_max.exists():  # unified v2
        pids_max = Path("/sys/fs/cgroup", naming.cgroup(ResourcePath.parse(path)).lstrip("/"), "pids.max")
    assert pids_max.read_text().strip() == "50"
    pids_max.write_text("77")  # changed by hand
    wait_for("limit restored", lambda: pids_max.read_text().strip() == "50", 15)
    evs = list(kukeond.api.Events(pb.EventsRequest(prefix=path, limit=100)))
    assert any(e.reason == "CgroupEnsured" and "limits differ: pids_limit" in e.message for e in evs)
    # a container killed behind kukeond's back is started again
    pid = kukeond.cell(path).containers[0].pid
    os.kill(pid, signal.SIGKILL)
    wait_for("restarted", lambda: (c := kukeond.cell(path)) and c.containers[0].pid not in (0, pid) and c.phase == "Ready", 20)

"""hostNetwork and hostPID. hostNetwork: a cell in the test's own network namespace (the
"host" here is the private netns pytest runs in), and moving a cell onto and off the host
network; Ready needs its http check to pass: at 127.0.0.1 on the host network, at the
cell's IP otherwise. hostPID and hostCgroup: containers of one cell in the host's PID or
cgroup namespace, the others in their own."""

from __future__ import annotations

import os
import urllib.request

import pytest

from tests.fixtures.kukeond import Kukeond, host_leaks, wait_for

pytestmark = pytest.mark.integration
CELL = "default/default/default/edge"


def manifest(*, host: bool) -> str:
    return f"""
apiVersion: v1beta1
kind: Cell
metadata: {{name: edge}}
spec:
  containers:
    - id: web
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 18081 -h /w"]
      hostNetwork: {str(host).lower()}
      healthCheck: {{http: {{port: 18081, path: /}}, intervalSeconds: 0.5}}
"""


def page(host: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{host}:18081/", timeout=2) as resp:  # ours only
            return str(resp.read().decode())
    except OSError:
        return None


def namespaces(pid: int) -> tuple[str, str]:
    return os.readlink(f"/proc/{pid}/ns/net"), os.readlink(f"/proc/{pid}/ns/uts")


def running_pid(d: Kukeond, other_than: int = 0) -> int:
    def probe() -> int | None:
        c = d.cell(CELL)
        if c is None or c.phase != "Ready" or c.containers[0].pid in (0, other_than):
            return None
        return int(c.containers[0].pid)

    return int(wait_for("edge running anew", probe, 60))


def test_host_network_cell_shares_the_hosts_network_and_can_move_off_and_back(
    kukeond: Kukeond,
) -> None:
    ours = namespaces(os.getpid())
    pins = kukeond.run_dir / "netns"
    (kukeond.manifests / "edge.yaml").write_text(manifest(host=True))
    pid = running_pid(kukeond)
    assert kukeond.cell(CELL).ip == "host"
    assert namespaces(pid) == ours  # the host's network and name
    served = wait_for("page on the host's loopback", lambda: page("127.0.0.1"), 30)
    assert served.strip() == os.uname().nodename
    assert not pins.exists() or not list(pins.iterdir())  # no namespace of its own

    (kukeond.manifests / "edge.yaml").write_text(manifest(host=False))
    pid = running_pid(kukeond, other_than=pid)
    ip = kukeond.cell(CELL).ip
    assert ip.startswith("10.218.") and namespaces(pid)[0] != ours[0]
    assert wait_for("page on the cell's IP", lambda: page(ip), 30).strip() == "edge"
    assert page("127.0.0.1") is None

    (kukeond.manifests / "edge.yaml").write_text(manifest(host=True))
    pid = running_pid(kukeond, other_than=pid)
    assert namespaces(pid) == ours
    wait_for("its namespace removed", lambda: not list(pins.iterdir()), 30)
    assert wait_for("page back on loopback", lambda: page("127.0.0.1"), 30).strip() != "edge"

    (kukeond.manifests / "edge.yaml").unlink()
    wait_for("edge pruned", lambda: CELL not in kukeond.cells(), 30)
    wait_for("no leaks", lambda: not host_leaks(kukeond.instance, kukeond.run_dir), 30)


def test_host_pid_and_host_cgroup_apply_to_the_containers_that_ask(kukeond: Kukeond) -> None:
    (kukeond.manifests / "pid.yaml").write_text("""
apiVersion: v1beta1
kind: Cell
metadata: {name: pid}
spec:
  containers:
    - {id: top, image: docker.io/library/busybox:latest, command: [sleep, "1000"], hostPID: true}
    - {id: boxed, image: docker.io/library/busybox:latest, command: [sleep, "1000"]}
    - {id: tree, image: docker.io/library/busybox:latest, command: [sleep, "1000"],
       hostCgroup: true}
""")
    cell = kukeond.wait_phase("default/default/default/pid", "Ready")
    pids = {c.name: c.pid for c in cell.containers}
    ours = os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{pids['top']}/ns/pid") == ours
    assert os.readlink(f"/proc/{pids['boxed']}/ns/pid") != ours
    tree = os.readlink("/proc/self/ns/cgroup")
    assert os.readlink(f"/proc/{pids['tree']}/ns/cgroup") == tree
    assert os.readlink(f"/proc/{pids['boxed']}/ns/cgroup") != tree  # its own, by default
    (kukeond.manifests / "pid.yaml").unlink()
    wait_for("pid pruned", lambda: "default/default/default/pid" not in kukeond.cells(), 30)

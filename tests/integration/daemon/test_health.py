"""Health checks and dependsOn with real containers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import grpc
import pytest

from kukeon.api import kukeon_pb2 as pb
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from tests.fixtures.kukeond import Kukeond, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]

WEB = """
apiVersion: v1beta1
kind: Cell
metadata: {name: web}
spec:
  containers:
    - id: httpd
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www"]
      healthCheck: {http: {port: 8080, path: /health}, intervalSeconds: 0.3, failureThreshold: 2}
"""


def events(d: Kukeond, prefix: str) -> list[pb.Event]:
    return list(d.api.Events(pb.EventsRequest(prefix=prefix, limit=500)))


def rootfs_file(containerd_dir: Path, d: Kukeond, container: str, rel: str) -> Path:
    naming = Naming(d.instance)
    cid = naming.container_id(ResourcePath.parse(container))
    state = containerd_dir / "run" / "containerd" / "state" / "io.containerd.runtime.v2.task"
    return state / naming.namespace("default") / cid / "rootfs" / rel


def test_http_check_starting_healthy_unhealthy_restarted(
    kukeond: Kukeond, containerd_dir: Path
) -> None:
    kukeond.apply(WEB)
    path = "default/default/default/web"
    cell = kukeond.wait_phase(path, "Ready", 30)
    assert cell.containers[0].state == "running"
    assert any(e.reason == "Healthy" for e in events(kukeond, path))
    # make the check fail from the host side: the served file disappears
    rootfs_file(containerd_dir, kukeond, path + "/httpd", "www/health").unlink()
    wait_for(
        "unhealthy event", lambda: [e for e in events(kukeond, path) if e.reason == "Unhealthy"], 20
    )
    wait_for("restarted", lambda: [e for e in events(kukeond, path) if e.reason == "Restarted"], 20)
    cell = kukeond.wait_phase(path, "Ready", 30)  # the restart wrote the file again
    assert cell.containers[0].restart_count == 1
    unhealthy = next(e for e in events(kukeond, path) if e.reason == "Unhealthy")
    assert "health check failed 2 times: HTTP 404" in unhealthy.message


def test_failing_exec_check_keeps_the_cell_out_of_ready_and_wait_names_it(
    kukeond: Kukeond, tmp_path: Path
) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text("""
apiVersion: v1beta1
kind: Cell
metadata: {name: bad}
spec:
  containers:
    - id: app
      image: docker.io/library/busybox:latest
      command: [sleep, "1000"]
      restartPolicy: never
      healthCheck: {exec: [sh, -c, "echo no db here; exit 1"], intervalSeconds: 0.2, failureThreshold: 1}
""")
    argv = [str(ROOT / ".venv/bin/kuke"), "--socket", str(kukeond.socket), "apply", "-f", str(manifest),
            "--wait", "--timeout", "4s"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done
    assert "bad" in done.stderr and "health check failed" in done.stderr, done.stderr
    cell = kukeond.cell("default/default/default/bad")
    assert cell.phase == "Degraded"
    assert re.search(r"health check failed \d+ times: no db here", cell.message), cell.message


DB = """
apiVersion: v1beta1
kind: Cell
metadata: {name: db}
spec:
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "sleep 1; touch /tmp/ready; exec sleep 100000"]
      healthCheck: {exec: [test, -f, /tmp/ready], intervalSeconds: 0.2, failureThreshold: 50}
"""
APP = """
apiVersion: v1beta1
kind: Cell
metadata: {name: app}
spec:
  dependsOn: [{cell: db, condition: healthy}]
  containers:
    - {id: main, image: docker.io/library/busybox:latest, command: [sleep, "100000"]}
"""


def _order_ok(d: Kukeond, after_id: int = 0) -> None:
    evs = [e for e in events(d, "default/default/default") if e.id > after_id]
    healthy = [
        e.id for e in evs if e.path == "default/default/default/db/main" and e.reason == "Healthy"
    ]
    started = [e.id for e in evs if e.path.startswith("default/default/default/app/main")
               and e.reason in ("Created", "Started")]  # fmt: skip
    assert healthy and started and min(started) > min(healthy), [(e.path, e.reason) for e in evs]


def test_depends_on_waits_for_healthy_also_after_a_kill9_restart(kukeond: Kukeond) -> None:
    (kukeond.manifests / "app.yaml").write_text(APP)
    (kukeond.manifests / "db.yaml").write_text(DB)
    wait_for(
        "app waits",
        lambda: (
            (c := kukeond.cell("default/default/default/app"))
            and "waiting for db (healthy)" in c.message
        ),
        15,
    )
    kukeond.wait_phase("default/default/default/app", "Ready", 30)
    _order_ok(kukeond)
    # kill -9 kukeond, stop both containers behind its back, restart: the order holds
    pids = [
        c.pid
        for name in ("db", "app")
        for c in kukeond.cell(f"default/default/default/{name}").containers
    ]
    last = max(e.id for e in events(kukeond, ""))
    kukeond.stop(signal.SIGKILL)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    kukeond.start()
    kukeond.wait_phase("default/default/default/app", "Ready", 40)
    _order_ok(kukeond, after_id=last)


def test_dependency_cycle_is_refused_and_nothing_applied(kukeond: Kukeond) -> None:
    a = APP.replace("name: app", "name: a").replace("cell: db", "cell: b")
    b = APP.replace("name: app", "name: b").replace("cell: db", "cell: a")
    with pytest.raises(grpc.RpcError) as err:
        kukeond.apply(a + "---\n" + b)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cycle: a -> b -> a" in err.value.details()
    assert not kukeond.cells()

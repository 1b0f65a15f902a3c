"""kuke against a fake kukeond on a real unix socket: output, exit codes, error paths."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
import yaml

from kukeon.api import kukeon_pb2 as pb
from kukeon.api.client import Client
from kukeon.cli.ops.apply import WaitOptions, wait_ready
from kukeon.cli.ops.get import GetOptions, run_get
from kukeon.cli.output import Out, age
from tests.unit.cli.conftest import Kuke
from tests.unit.cli.fakedaemon import CELL_MANIFEST, Daemon, FakeKukeon, cell

pytestmark = pytest.mark.timeout(30)

BAD_MANIFEST = """\
apiVersion: v1beta1
kind: Cell
metadata:
  name: web
spec:
  containers:
  - id: app
    imag: busybox
"""


@pytest.fixture
def web_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "web.yaml"
    path.write_text(CELL_MANIFEST)
    return path


def no_traceback(text: str) -> bool:
    return "Traceback" not in text


# -- apply ---------------------------------------------------------------------------------


def test_apply_prints_configured_lines_and_sends_documents(
    kuke: Kuke, daemon: Daemon, web_yaml: Path
) -> None:
    daemon.fake.apply_reply = pb.ApplyReply(
        applied=["cell/default/default/default/web"],
        unchanged=["stack/default/default/default"],
        warnings=[pb.Problem(file=str(web_yaml), line=8, field="spec.x", message="not yet")],
        pass_number=7,
    )
    result = kuke("apply", "-f", str(web_yaml))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "cell/default/default/default/web configured",
        "stack/default/default/default unchanged",
    ]
    assert f"warning: {web_yaml}:8: spec.x: not yet" in result.stderr
    name, request = daemon.fake.requests[-1]
    assert name == "Apply"
    assert [(d.name, d.content) for d in request.documents] == [(str(web_yaml), CELL_MANIFEST)]


def test_apply_names_bare_paths_by_their_kind(kuke: Kuke, daemon: Daemon, web_yaml: Path) -> None:
    daemon.fake.apply_reply = pb.ApplyReply(
        applied=["default/default/default/web"], unchanged=["default/default"], pass_number=7
    )
    result = kuke("apply", "-f", str(web_yaml))
    assert result.stdout.splitlines() == [
        "cell/default/default/default/web configured",
        "space/default/default unchanged",
    ]


def test_apply_reads_stdin_and_directories(
    kuke: Kuke, daemon: Daemon, tmp_path: Path, web_yaml: Path
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "db.yml").write_text(CELL_MANIFEST)
    (tmp_path / ".hidden.yaml").write_text("ignored")
    result = kuke("apply", "-f", str(tmp_path), "-f", "-", input="kind: Cell\n")
    assert result.exit_code == 0, result.output
    names = [d.name for d in daemon.fake.requests[-1][1].documents]
    assert names == [str(web_yaml), "-"]  # no -R: the subdirectory is not read
    kuke("apply", "-R", "-f", str(tmp_path))
    names = [d.name for d in daemon.fake.requests[-1][1].documents]
    assert names == [str(tmp_path / "sub" / "db.yml"), str(web_yaml)]


def test_invalid_manifest_exits_2_with_file_and_line(
    kuke: Kuke, daemon: Daemon, web_yaml: Path
) -> None:
    daemon.fake.fail["Apply"] = (
        grpc.StatusCode.INVALID_ARGUMENT,
        f"{web_yaml}:8: spec.containers[0].imag: unknown field (did you mean 'image'?)\n"
        f"{web_yaml}:4: metadata.name: bad name",
    )
    result = kuke("apply", "-f", str(web_yaml))
    assert result.exit_code == 2
    assert f"{web_yaml}:8: spec.containers[0].imag: unknown field" in result.stderr
    assert f"{web_yaml}:4: metadata.name: bad name" in result.stderr
    assert no_traceback(result.output)


def test_missing_file_is_a_usage_error(kuke: Kuke, tmp_path: Path) -> None:
    result = kuke("apply", "-f", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_delete_of_a_file_owned_resource_names_the_owner(kuke: Kuke, daemon: Daemon) -> None:
    daemon.fake.fail["Delete"] = (
        grpc.StatusCode.FAILED_PRECONDITION,
        "cell default/default/default/web is owned by file:web.yaml: delete that file instead",
    )
    result = kuke("delete", "cell", "web")
    assert result.exit_code == 1
    assert "owned by file:web.yaml" in result.stderr
    assert daemon.fake.requests[-1][1].paths == ["default/default/default/web"]


def test_apply_wait_succeeds_once_a_later_pass_sees_the_cell_ready(
    kuke: Kuke, daemon: Daemon, web_yaml: Path
) -> None:
    # Ready in an old pass does not count: it must be observed after the apply's pass 7.
    daemon.fake.resources = [cell(phase="Ready", observed_pass=7)]

    def progress(fake: FakeKukeon) -> None:
        if fake.list_calls == 2:
            fake.resources = [cell(phase="Ready", observed_pass=8)]

    daemon.fake.on_list = progress
    result = kuke("apply", "-f", str(web_yaml), "--wait", "--timeout", "10s")
    assert result.exit_code == 0, result.output
    assert daemon.fake.list_calls == 2
    assert "1 ready" in result.stderr


def test_apply_wait_fails_when_a_cell_fails(kuke: Kuke, daemon: Daemon, web_yaml: Path) -> None:
    failed = cell(phase="Failed", observed_pass=8)
    failed.reason, failed.message = "ImagePullFailed", "no route to registry"
    daemon.fake.resources = [failed]
    result = kuke("apply", "-f", str(web_yaml), "--wait")
    assert result.exit_code == 1
    assert "web failed: Failed: ImagePullFailed: no route to registry" in result.stderr


def test_apply_wait_times_out_naming_what_is_not_ready(
    kuke: Kuke, daemon: Daemon, web_yaml: Path
) -> None:
    daemon.fake.resources = [cell(phase="Creating", observed_pass=8)]
    result = kuke("apply", "-f", str(web_yaml), "--wait", "--timeout", "1")
    assert result.exit_code == 1
    assert "timed out after 1s" in result.stderr
    assert "default/default/default/web: Creating" in result.stderr


def test_wait_ready_polls_on_its_own_clock(daemon: Daemon) -> None:
    """The operation runs without click; a fake clock makes the timeout instant."""
    daemon.fake.resources = [cell(phase="Creating", observed_pass=8)]
    now = [0.0]
    opts = WaitOptions(
        timeout=5, interval=1, now=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)
    )
    err = io.StringIO()
    with Client(daemon.socket) as client:
        code = wait_ready(client, ["default/default/default/web"], 7, opts, Out(stderr=err))
    assert code == 1
    assert daemon.fake.list_calls == 6  # at t=0..5
    assert "timed out after 5s" in err.getvalue()


# -- daemon down ---------------------------------------------------------------------------


def test_daemon_down_says_how_to_check_without_traceback(tmp_path: Path) -> None:
    sock = tmp_path / "kukeond.sock"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kukeon.cli.main import entry; entry()",
            "--socket",
            str(sock),
            "get",
            "cells",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1
    assert f"cannot reach kukeond at {sock}: is it running?" in result.stderr
    assert "systemctl status kukeond" in result.stderr
    assert no_traceback(result.stderr + result.stdout)


def test_stale_socket_maps_unavailable_to_cannot_reach(kuke: Kuke, tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    if len(path) > 100:
        pytest.skip("tmp path too long for a unix socket")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.close()  # the file stays, nobody listens: what a crashed daemon leaves
    from click.testing import CliRunner

    from kukeon.cli.main import cli

    result = CliRunner().invoke(cli, ["--socket", path, "get", "cells"])
    assert result.exit_code == 1
    assert f"cannot reach kukeond at {path}" in result.stderr
    assert no_traceback(result.output)


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)
def test_a_socket_kuke_may_not_use_says_which_group_to_join(daemon: Daemon) -> None:
    os.chmod(daemon.socket, 0o660)
    os.chmod(os.path.dirname(daemon.socket), 0o755)
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-c",
            "from kukeon.cli.main import entry; entry()",
            "--socket",
            daemon.socket,
            "get",
            "cells",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=Path(__file__).parents[3],
    )
    assert result.returncode == 1
    assert f"permission denied on kukeond's socket {daemon.socket}" in result.stderr
    assert "join the socket's group" in result.stderr
    assert no_traceback(result.stderr)


def test_unavailable_from_the_daemon_is_its_own_message(kuke: Kuke, daemon: Daemon) -> None:
    daemon.fake.fail["Status"] = (grpc.StatusCode.UNAVAILABLE, "containerd is not reachable")
    result = kuke("status")
    assert result.exit_code == 1
    assert "containerd is not reachable (temporary: try again shortly)" in result.stderr
    assert "cannot reach kukeond" not in result.stderr


# -- get -------------------------------------------------------------------------------------


def test_get_cells_table(kuke: Kuke, daemon: Daemon) -> None:
    daemon.fake.resources = [cell("web"), cell("db", phase="Creating", since=time.time() - 3 * 3600)]
    result = kuke("get", "cells")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "REALM",
        "SPACE",
        "STACK",
        "PHASE",
        "CONTAINERS",
        "RESTARTS",
        "IP",
        "OWNER",
        "AGE",
    ]
    assert lines[1].split() == [
        "db",
        "default",
        "default",
        "default",
        "Creating",
        "1/1",
        "1",
        "10.88.0.2",
        "api",
        "3h",
    ]
    assert lines[2].split()[0] == "web" and lines[2].split()[-1] == "-"  # age unknown
    assert lines[1].index("Creating") == lines[0].index("PHASE")  # columns are aligned
    request = daemon.fake.requests[-1][1]
    assert (request.kind, request.prefix) == ("Cell", "default")


def test_get_json_is_the_manifest_plus_status(kuke: Kuke, daemon: Daemon) -> None:
    daemon.fake.resources = [cell("web")]
    result = kuke("get", "cells", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["kind"] == "List"
    item = doc["items"][0]
    assert item["metadata"]["name"] == "web"
    assert item["spec"]["containers"][0]["image"] == "docker.io/library/busybox:latest"
    assert item["status"]["phase"] == "Ready"
    assert item["status"]["containers"] == [
        {"name": "app", "state": "running", "pid": 42, "restartCount": 1, "image": "busybox"}
    ]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3 * 3600 + 5, "3h"),
     (7 * 3600 + 60, "7h1m"), (47 * 3600, "47h"), (3 * 86400 + 7200, "3d2h"), (10 * 86400, "10d"),
     (800 * 86400, "2y70d"), (9 * 365 * 86400, "9y")],
)  # fmt: skip
def test_age_reads_like_kubectl(seconds: int, shown: str) -> None:
    assert age(1000.0, now=1000.0 + seconds) == shown
    assert age(0.0) == "-"


def test_get_one_cell_as_yaml(kuke: Kuke, daemon: Daemon) -> None:
    daemon.fake.resources = [cell("web")]
    result = kuke("--stack", "default", "get", "cell", "web", "-o", "yaml")
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.stdout)
    assert doc["kind"] == "Cell"
    assert doc["status"]["path"] == "default/default/default/web"
    assert daemon.fake.requests[-1][1].path == "default/default/default/web"


def test_get_missing_cell_is_not_found(kuke: Kuke) -> None:
    result = kuke("get", "cell", "nope")
    assert result.exit_code == 1
    assert "default/default/default/nope not found" in result.stderr


def test_get_unknown_kind_is_a_usage_error(kuke: Kuke) -> None:
    result = kuke("get", "pods")
    assert result.exit_code == 2
    assert "unknown kind 'pods'" in result.stderr


def test_get_operation_without_click(daemon: Daemon) -> None:
    daemon.fake.resources = [cell("web")]
    stdout = io.StringIO()
    with Client(daemon.socket) as client:
        assert run_get(client, GetOptions("Cell", output="name"), Out(stdout=stdout)) == 0
    assert stdout.getvalue() == "cell/default/default/default/web\n"


# -- diff ------------------------------------------------------------------------------------


def test_diff_exits_0_when_nothing_differs(kuke: Kuke, web_yaml: Path) -> None:
    result = kuke("diff", "-f", str(web_yaml))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_diff_exits_1_and_prints_the_plan(kuke: Kuke, daemon: Daemon, web_yaml: Path) -> None:
    daemon.fake.plan = pb.Plan(
        actions=[
            pb.PlanAction(
                op="create-container",
                path="default/default/default/web/app",
                cause="not on the host",
            ),
            pb.PlanAction(
                op="delete-cell", path="default/default/default/old", cause="no longer declared"
            ),
            pb.PlanAction(op="update-limits", path="default/default/default/web", cause="memory"),
        ],
        unowned=["default/default/default/stray"],
    )
    result = kuke("diff", "-f", str(web_yaml))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "+ create-container default/default/default/web/app  (not on the host)",
        "- delete-cell default/default/default/old  (no longer declared)",
        "~ update-limits default/default/default/web  (memory)",
        "! unowned default/default/default/stray  (in no source; kuke prune --unowned deletes it)",
    ]


# -- logs, events, status, stop, doctor, image ----------------------------------------------


def test_logs_streams_bytes_to_stdout(kuke: Kuke, daemon: Daemon) -> None:
    daemon.fake.log_chunks = [b"line 1\n", b"line 2\n", b"\xffraw\n"]
    result = kuke("logs", "web", "-c", "app", "--tail", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b"line 1\nline 2\n\xffraw\n"
    request = daemon.fake.requests[-1][1]
    assert (request.cell, request.container, request.tail, request.follow) == (
        "default/default/default/web",
        "app",
        5,
        False,
    )


def test_events_table(kuke: Kuke, daemon: Daemon) -> None:
    daemon.fake.events = [
        pb.Event(
            id=1,
            time=1.7e9,
            type="Normal",
            path="default/default/default/web",
            reason="Started",
            message="app started",
        ),
    ]
    result = kuke("events")
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split() == ["TIME", "TYPE", "PATH", "REASON", "MESSAGE"]
    assert row.endswith("Normal  default/default/default/web  Started  app started")


def test_status_at_a_glance(kuke: Kuke, daemon: Daemon) -> None:
    daemon.fake.resources = [cell("web")]
    result = kuke("status")
    assert result.exit_code == 0, result.output
    assert "instance:   kt" in result.stdout
    assert "cells:      1 Ready" in result.stdout


def test_status_of_a_file_shows_what_is_applied(kuke: Kuke, daemon: Daemon, tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(CELL_MANIFEST + "---\n" + CELL_MANIFEST.replace("name: web", "name: db"))
    daemon.fake.resources = [cell("web")]
    result = kuke("status", "-f", str(path))
    assert result.exit_code == 1  # db was never applied
    lines = result.stdout.splitlines()
    assert lines[1].split()[:4] == ["cell/default/default/default/web", f"{path}:1", "api", "Ready"]
    assert lines[2].split()[:4] == [
        "cell/default/default/default/db",
        f"{path}:10",
        "not",
        "applied",
    ]


def test_stop_sends_the_expanded_path(kuke: Kuke, daemon: Daemon) -> None:
    result = kuke("--realm", "r1", "--space", "s1", "stop", "web")
    assert result.exit_code == 0, result.output
    assert result.stdout == "cell/r1/s1/default/web stopped\n"


def test_doctor_reports_failures_and_fixes(kuke: Kuke) -> None:
    result = kuke("doctor")
    assert result.exit_code == 1
    assert "ok    kukeond: 0.1.0 (instance kt)" in result.stdout
    assert "FAIL  cni plugins: no bridge\n      fix: apt install" in result.stdout


def test_doctor_without_a_daemon_still_checks_the_socket(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kukeon.cli.main import cli

    result = CliRunner().invoke(cli, ["--socket", str(tmp_path / "x.sock"), "doctor"])
    assert result.exit_code == 1
    assert f"FAIL  socket: {tmp_path / 'x.sock'} does not exist" in result.stdout
    assert "fix: start the daemon" in result.stdout


def test_image_import_streams_the_archive(kuke: Kuke, daemon: Daemon, tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    archive.write_bytes(b"x" * (2 * 1024 * 1024 + 5))
    result = kuke("--realm", "r1", "image", "import", str(archive))
    assert result.exit_code == 0, result.output
    chunks = daemon.fake.requests[-1][1]
    assert [len(c.data) for c in chunks] == [1 << 20, 1 << 20, 5]
    assert [c.realm for c in chunks] == ["r1", "", ""]
    assert "busybox:seed imported (sha256:ab, 2.0MiB)" in result.stdout


def test_image_pull_reports_each_stage_once_without_a_terminal(kuke: Kuke, daemon: Daemon) -> None:
    result = kuke("image", "pull", "docker.io/library/busybox:latest")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["resolving", "downloading", "unpacking"]
    assert result.stdout == "docker.io/library/busybox:latest pulled (sha256:cafe)\n"
    assert daemon.fake.requests[-1][1].realm == "default"


def test_prune_needs_an_explicit_opt_in(kuke: Kuke, daemon: Daemon) -> None:
    assert kuke("prune").exit_code == 2
    result = kuke("prune", "--unowned", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout == "cell/default/default/default/stray would be pruned\n"
    request = daemon.fake.requests[-1][1]
    assert (request.unowned, request.dry_run) == (True, True)


def test_delete_wait_returns_once_the_cell_is_gone(kuke: Kuke, daemon: Daemon) -> None:
    daemon.fake.resources = [cell("web")]
    result = kuke("delete", "cell", "web", "--wait", "--timeout", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout == "cell/default/default/default/web deleted\n"
    assert daemon.fake.requests[-1][0] == "List"


def test_version_without_a_daemon(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kukeon.cli.main import cli

    result = CliRunner().invoke(cli, ["--socket", str(tmp_path / "x.sock"), "version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("kuke 0.1.0\nkukeond: not reachable (cannot reach kukeond")


def test_completion_script(kuke: Kuke) -> None:
    result = kuke("completion", "bash")
    assert result.exit_code == 0
    assert "_KUKE_COMPLETE" in result.stdout


# -- validate (no daemon) -------------------------------------------------------------------


def test_validate_a_good_file_without_a_daemon(tmp_path: Path, web_yaml: Path) -> None:
    from click.testing import CliRunner

    from kukeon.cli.main import cli

    result = CliRunner().invoke(
        cli, ["--socket", str(tmp_path / "none.sock"), "validate", "-f", str(web_yaml)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 resource(s) valid\n"


def test_validate_a_bad_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kukeon.cli.main import cli

    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_MANIFEST)
    result = CliRunner().invoke(cli, ["validate", "-f", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:8" in result.stderr
    assert "imag" in result.stderr
    assert no_traceback(result.output)

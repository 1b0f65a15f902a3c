"""A private containerd child: kukeond starts it when no containerd socket answers.

Its pid file and socket live in kukeon's run dir, so a restarted kukeond adopts a child
that is still running instead of starting a second one on the same root. The child runs
in its own session: stopping kukeond does not stop it (nor the containers).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from google.protobuf import empty_pb2

from kukeon.drivers.base import PermanentError, TransientError
from kukeon.drivers.containerd.client import Client

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

CONFIG = """\
version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
"""


def _paths(run_dir: Path) -> tuple[Path, Path, Path]:
    base = run_dir / "containerd"
    return base / "containerd.sock", base / "containerd.pid", base / "config.toml"


def _alive(pid_file: Path, config: Path) -> int | None:
    """The pid of the running child started with ``config``, if any."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if os.fsencode(str(config)) in cmdline and cmdline[0].endswith(b"containerd"):
        return pid
    return None


async def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    client = Client(str(sock), call_timeout=1.0)
    try:
        await client.version.Version(empty_pb2.Empty(), timeout=1.0)
        return True
    except Exception:
        return False
    finally:
        await client.close()


def _reap(pid: int) -> bool:
    """True if ``pid`` is our child and has exited (it is reaped)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return False


async def start_embedded(run_dir: Path, state_dir: Path, log_path: Path) -> str:
    """Start (or adopt) the private containerd; return its socket path once it answers."""
    sock, pid_file, config = _paths(run_dir)
    if _alive(pid_file, config) and await _answers(sock):
        return str(sock)
    # overlayfs cannot live on overlay or 9p: state_dir must be on a real filesystem
    root = state_dir / "containerd"
    for d in (sock.parent, root, log_path.parent):
        d.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG.format(root=root, state=sock.parent / "state", sock=sock,
                                    opt=root / "opt"))  # fmt: skip
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    exe = shutil.which("containerd")
    if exe is None:
        raise PermanentError("containerd is not installed",
                             hint="apt-get install containerd")  # fmt: skip
    # posix_spawn, not a subprocess object: the child outlives us and is reaped by whoever
    # is its parent then (stop_embedded reaps it when it is still ours).
    pid = os.posix_spawn(
        exe, [exe, "--config", str(config)], os.environ,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
             0o640),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )  # fmt: skip
    pid_file.write_text(f"{pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _reap(pid):
            raise PermanentError("containerd exited at start", hint=f"see {log_path}")
        if await _answers(sock):
            return str(sock)
        await asyncio.sleep(0.02)
    raise TransientError(f"containerd did not answer on {sock} in {START_TIMEOUT:.0f} s",
                         hint=f"see {log_path}")  # fmt: skip


async def stop_embedded(run_dir: Path) -> None:
    """SIGTERM the child (SIGKILL after STOP_TIMEOUT); containers' shims keep running."""
    sock, pid_file, config = _paths(run_dir)
    pid = _alive(pid_file, config)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while not _reap(pid) and _alive(pid_file, config) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if _alive(pid_file, config):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for path in (pid_file, sock):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

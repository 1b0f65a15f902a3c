"""Access: the API socket is 0660 root:kukeon; a user outside the group is refused with
the permission message, a member is served; kukeond listens on no TCP/UDP port unless
--web is given, and then on loopback only (a non-loopback address needs a token)."""

from __future__ import annotations

import grp
import os
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.kukeond import Kukeond, _teardown

pytestmark = pytest.mark.integration
GROUP = "kukeon"
KUKE = Path(sys.executable).parent / "kuke"
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup"]


@pytest.fixture(scope="module")
def group_id() -> Iterator[int]:
    """The kukeon group (install.sh creates it; created here when missing, then removed)."""
    created = False
    try:
        gid = grp.getgrnam(GROUP).gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", GROUP], check=True)
        created = True
        gid = grp.getgrnam(GROUP).gr_gid
    yield gid
    if created:
        subprocess.run(["groupdel", GROUP], check=False)


@pytest.fixture(scope="module")
def daemon(group_id: int, containerd_socket: str) -> Iterator[Kukeond]:
    # Every directory down to the socket is traversable (0755), as /run/kukeon is: a
    # refusal must come from the socket's own mode, not from a parent directory.
    top = Path(tempfile.mkdtemp(prefix="kukeon-access-", dir="/var/tmp"))
    top.chmod(0o755)
    d = Kukeond(top, "kt" + secrets.token_hex(3), containerd_socket)
    d.start()
    try:
        yield d
    finally:
        try:
            _teardown(d)
        finally:
            shutil.rmtree(top, ignore_errors=True)


def kuke_as(user: list[str], d: Kukeond, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*user, str(KUKE), "--socket", str(d.socket), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ["PATH"], "HOME": "/nonexistent", "LANG": "C.UTF-8"},
        cwd="/",
    )


def test_the_socket_is_0660_root_and_group_kukeon(daemon: Kukeond, group_id: int) -> None:
    st = daemon.socket.stat()
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    assert (st.st_uid, st.st_gid) == (0, group_id)


def test_a_user_outside_the_group_is_refused(daemon: Kukeond) -> None:
    proc = kuke_as([*NOBODY, "--clear-groups"], daemon, "get", "cells")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert f"permission denied on kukeond's socket {daemon.socket}" in proc.stderr
    assert "usermod -aG kukeon" in proc.stderr  # says how to get access
    assert "Traceback" not in proc.stderr
    assert not proc.stdout
    # and a raw connect, without kuke, is refused by the kernel
    probe = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        "try: s.connect(sys.argv[1])\n"
        "except PermissionError: sys.exit(13)\n"
    )
    raw = subprocess.run(
        [*NOBODY, "--clear-groups", sys.executable, "-c", probe, str(daemon.socket)],
        timeout=30,
        cwd="/",
    )
    assert raw.returncode == 13


def test_a_member_of_the_group_is_served(daemon: Kukeond, group_id: int) -> None:
    proc = kuke_as([*NOBODY, f"--groups={group_id}"], daemon, "get", "cells")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def listeners(pid: int) -> list[str]:
    """TCP sockets in LISTEN and bound UDP sockets owned by ``pid``, as "proto addr:port"."""
    mine = _socket_inodes(pid)
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        rows = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
        for row in rows:
            f = row.split()
            local, state, inode = f[1], f[3], f[9]
            if inode in mine and (proto.startswith("udp") or state == "0A"):
                found.append(f"{proto} {_address(local)}")
    return found


def _address(hex_addr: str) -> str:
    ip_hex, port_hex = hex_addr.split(":")
    raw = bytes.fromhex(ip_hex)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:  # four host-order 32-bit words
        words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(words))
    return f"{ip}:{int(port_hex, 16)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_tcp_or_udp_listener_without_web_then_loopback_only_with_it(daemon: Kukeond) -> None:
    assert daemon.proc is not None
    assert listeners(daemon.proc.pid) == []
    port = _free_port()
    daemon.stop()
    daemon.extra_args = ["--web", f"127.0.0.1:{port}"]
    try:
        daemon.start()
        assert daemon.proc is not None
        assert listeners(daemon.proc.pid) == [f"tcp 127.0.0.1:{port}"]
    finally:
        daemon.stop()
        daemon.extra_args = []
        daemon.start()


def test_a_non_loopback_web_address_without_a_token_is_refused(daemon: Kukeond) -> None:
    argv = [*daemon.argv(), "--web", f"0.0.0.0:{_free_port()}"]
    other = daemon.base / "other.sock"
    argv[argv.index("--socket") + 1] = str(other)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "refusing to serve the web UI on non-loopback" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not other.exists()

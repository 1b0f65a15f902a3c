"""doctor and version: is everything in place, and which versions are talking."""

from __future__ import annotations

import grp
import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kukeon import __version__
from kukeon.cli.output import Out

if TYPE_CHECKING:
    from kukeon.api.client import Client


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


def socket_checks(socket: str) -> list[Check]:
    """What can be checked from this side: the socket exists and we may use it."""
    try:
        st = os.stat(socket)
    except PermissionError:
        return [Check("socket", False, f"{socket}: permission denied", _join_group_fix(socket))]
    except OSError:
        return [
            Check(
                "socket",
                False,
                f"{socket} does not exist",
                "start the daemon (systemctl start kukeond), or point kuke at its socket "
                "with --socket or KUKEON_SOCKET",
            )
        ]
    if not stat.S_ISSOCK(st.st_mode):
        return [Check("socket", False, f"{socket} is not a socket", "check --socket")]
    checks = [Check("socket", True, socket)]
    if os.access(socket, os.R_OK | os.W_OK):
        checks.append(Check("socket access", True, "read and write"))
    else:
        checks.append(
            Check("socket access", False, "no read/write permission", _join_group_fix(socket))
        )
    return checks


def _join_group_fix(socket: str) -> str:
    try:
        group = grp.getgrgid(os.stat(socket).st_gid).gr_name
    except (OSError, KeyError):
        group = "kukeon"
    return f"run as root, or join group {group}: sudo usermod -aG {group} $USER (then log in again)"


def run_doctor(client: Client, out: Out) -> int:
    from kukeon.api.client import ClientError

    checks = socket_checks(client.socket)
    try:
        version = client.version()
        checks.append(Check("kukeond", True, f"{version.version} (instance {version.instance})"))
        checks.extend(Check(c.name, c.ok, c.detail, c.fix) for c in client.doctor().checks)
    except ClientError as err:
        checks.append(Check("kukeond", False, err.message, err.hint or ""))
    for c in checks:
        mark = out.style("ok  ", fg="green") if c.ok else out.style("FAIL", fg="red", bold=True)
        out.echo(f"{mark}  {c.name}: {c.detail}" if c.detail else f"{mark}  {c.name}")
        if not c.ok and c.fix:
            out.echo(f"      fix: {c.fix}")
    return 0 if all(c.ok for c in checks) else 1


def run_version(client: Client, out: Out) -> int:
    from kukeon.api.client import ClientError

    out.echo(f"kuke {__version__}")
    try:
        v = client.version()
    except ClientError as err:
        out.echo(f"kukeond: not reachable ({err.message})")
        return 0
    out.echo(
        f"kukeond {v.version} (instance {v.instance}, containerd {v.containerd_version or '-'}, "
        f"cgroups {v.cgroup_mode or '-'})"
    )
    return 0

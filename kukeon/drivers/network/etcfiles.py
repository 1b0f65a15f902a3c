"""A cell's /etc/hosts, /etc/hostname and /etc/resolv.conf, rendered and written."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path

HOSTS_HEADER = """\
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def render_hosts(own: tuple[str, str, str], peers: Iterable[tuple[str, str, str]]) -> str:
    """``own`` and ``peers`` are (ip, name, stack); a name also answers as ``name.stack``."""
    lines = [HOSTS_HEADER]
    ip, name, stack = own
    lines.append(f"{ip}\t{name} {name}.{stack}\n")
    for pip, pname, pstack in sorted(peers, key=lambda p: (p[1], p[2], p[0])):
        lines.append(f"{pip}\t{pname} {pname}.{pstack}\n")
    return "".join(lines)


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _split_resolv(text: str) -> tuple[list[str], int, list[str]]:
    """(reachable nameserver lines, number of loopback ones dropped, other lines)."""
    servers: list[str] = []
    other: list[str] = []
    dropped = 0
    for line in text.splitlines():
        parts = line.split()
        if parts[:1] == ["nameserver"] and len(parts) > 1:
            if _is_loopback(parts[1]):
                dropped += 1
            else:
                servers.append(line.strip())
        elif line.strip():
            other.append(line.strip())
    return servers, dropped, other


def render_resolv(host_resolv: str, fallback: str | None = None) -> str:
    """The host's resolv.conf without loopback nameservers (unreachable from a cell).

    When the host uses a local stub (systemd-resolved's 127.0.0.53), ``fallback`` (the
    stub's upstream file) supplies the real nameservers, as Docker does.
    """
    servers, dropped, other = _split_resolv(host_resolv)
    if not servers and dropped and fallback is not None:
        servers, _, other = _split_resolv(fallback)
    return "".join(f"{line}\n" for line in (*other, *servers))


def write_in_place(path: Path, content: str) -> None:
    """Rewrite keeping the inode: runc bind-mounts the file, a rename would not be seen.
    Not atomic, so a reader in the cell never sees it empty: the new bytes go over the
    old ones before the tail is cut. Unchanged content is not written at all."""
    data = content.encode()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.pread(fd, len(data) + 1, 0) == data:
            return
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)

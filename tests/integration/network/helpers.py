"""Probes for the network tests: traffic only between namespaces the test made."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import subprocess
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec

P = ParamSpec("P")


def in_netns(pin: str, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nsenter", f"--net={pin}", *argv], capture_output=True, text=True, timeout=timeout
    )


def ping(pin: str, ip: str) -> bool:
    return in_netns(pin, "busybox", "ping", "-c1", "-W1", ip).returncode == 0


def tcp_ok(server_pin: str, client_pin: str, ip: str, port: int = 8080) -> bool:
    """A line sent with busybox nc from one netns arrives at a listener in the other."""
    with subprocess.Popen(
        ["nsenter", f"--net={server_pin}", "busybox", "nc", "-l", "-p", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as server:
        try:
            for _ in range(50):  # wait for the listener
                if f":{port} " in in_netns(server_pin, "busybox", "netstat", "-ltn").stdout:
                    break
            sent = subprocess.run(
                ["nsenter", f"--net={client_pin}", "busybox", "nc", "-w", "2", ip, str(port)],
                input="hello-kukeon\n", capture_output=True, text=True, timeout=10,
            )
            if sent.returncode != 0:
                return False
            out, _ = server.communicate(timeout=5)
            return "hello-kukeon" in out
        finally:
            if server.poll() is None:
                server.kill()


def veths() -> list[str]:
    out = subprocess.run(
        ["ip", "-j", "link", "show", "type", "veth"], capture_output=True, text=True, check=True
    ).stdout
    return [link["ifname"] for link in json.loads(out or "[]")]


def links() -> list[str]:
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
    return [link["ifname"] for link in json.loads(out or "[]")]


def iptables_state() -> list[str]:
    """iptables-save without comments and counters, comparable across time."""
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [re.sub(r"\[\d+:\d+\]", "", line) for line in out.splitlines()
            if not line.startswith("#")]


def lease_files(state_dir: Path) -> list[Path]:
    ipam = state_dir / "cni" / "ipam"
    return [p for p in ipam.rglob("*") if p.is_file() and not p.name.startswith(("last_", "lock"))]


def pins(run_dir: Path) -> list[Path]:
    d = run_dir / "netns"
    return sorted(d.iterdir()) if d.exists() else []


def sync(fn: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async test body in its own event loop (no pytest-asyncio here)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper

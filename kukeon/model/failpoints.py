"""Failpoints: named places where a test makes kukeond crash or fail, to prove that every
step is recoverable.

Enabled only by the environment, read once at import::

    KUKEON_FAILPOINTS="runtime.after-container-create=crash,network.after-cni-add=raise"

``crash`` ends the process right there with ``os._exit(137)`` (what ``kill -9`` looks
like: no cleanup, no flush); ``raise`` raises the caller's error type (TransientError in
drivers) once, at the first hit. Unset, ``failpoint()`` costs one truth test.

``POINTS`` lists every point with the phases of a cell's life it is hit in (``apply``: a
new cell is created; ``delete``: a running cell is deleted; ``restart``: a container that
exited is restarted), so tests enumerate them: adding a point adds a test case.
"""

from __future__ import annotations

import os
from collections.abc import Callable

ENV = "KUKEON_FAILPOINTS"
CRASH_EXIT = 137  # the status of a process killed by SIGKILL, as a shell reports it

# name -> (phases it is hit in, the recovery it exercises)
POINTS: dict[str, tuple[tuple[str, ...], str]] = {
    "store.after-document-write": (
        ("apply", "delete"),
        "the API document is saved but the reply never sent: the next start acts on it",
    ),
    "store.after-inventory-write": (
        ("apply",),
        "the inventory says the cell is ours before anything exists: created on restart",
    ),
    "cgroups.after-create": (
        ("apply",),
        "cgroup made, limits not written: the next pass sees the limits differ",
    ),
    "network.after-netns-pin": (
        ("apply",),
        "netns pinned, no CNI ADD: the pin is reused and ADD runs",
    ),
    "network.after-cni-add": (
        ("apply",),
        "ADD ran but its result is not recorded: DEL with the recorded config, then ADD",
    ),
    "runtime.after-snapshot-prepare": (
        ("apply",),
        "snapshot prepared under a lease, no container: the stale lease is swept, "
        "the snapshot reused",
    ),
    "runtime.after-container-create": (
        ("apply",),
        "container without a task: the next pass starts it (no second container)",
    ),
    "runtime.after-task-create": (
        ("apply", "restart"),
        "task created, not started: the next pass starts the created task",
    ),
    "loop.before-event-write": (
        ("apply", "delete"),
        "an action done, its event not written: the state is observed, not remembered",
    ),
    "loop.before-restart-record": (
        ("restart",),
        "a container restarted, its restart count not stored: it keeps running, "
        "nothing restarts twice",
    ),
    "runtime.after-task-delete": (
        ("delete",),
        "task gone, container left: the delete resumes from the container",
    ),
    "runtime.after-container-delete": (
        ("delete",),
        "container gone, its snapshot left: the orphan snapshot is swept",
    ),
    "network.after-cni-del": (
        ("delete",),
        "CNI DEL ran, netns still pinned and recorded: DEL again (idempotent), unpin",
    ),
}


class FailpointError(RuntimeError):
    """The default error of ``raise`` (the executor maps it to a TransientError)."""


def _parse(spec: str) -> dict[str, str]:
    armed: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition("=")
        if name not in POINTS or action not in ("crash", "raise"):
            raise ValueError(
                f"{ENV}: {item!r} is not <point>=crash|raise; points: {', '.join(POINTS)}"
            )
        armed[name] = action
    return armed


_ARMED = _parse(os.environ.get(ENV, ""))


def failpoint(name: str, error: Callable[[str], Exception] = FailpointError) -> None:
    """Crash or raise here if the environment armed ``name``."""
    if _ARMED:
        _hit(name, error)


def _hit(name: str, error: Callable[[str], Exception]) -> None:
    action = _ARMED.get(name)
    if action == "crash":
        os.write(2, f"failpoint {name}: crash\n".encode())
        os._exit(CRASH_EXIT)
    if action == "raise":
        del _ARMED[name]  # once: the retry must then succeed
        raise error(f"failpoint {name}")

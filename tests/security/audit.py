"""An in-process audit hook (PEP 578) that records what code run under ``effects()`` does
to the host: files opened for writing, files removed or renamed, processes started,
libraries loaded. The loader must do none of these."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_EFFECTS = {
    "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "pty.spawn", "ctypes.dlopen", "os.remove", "os.rmdir", "os.rename",
    "os.mkdir", "os.symlink", "os.link", "os.chmod", "os.chown", "os.truncate",
    "shutil.rmtree", "socket.connect", "socket.bind",
}  # fmt: skip

_recording: list[list[str]] = []  # the active recorders (a hook cannot be removed)
_installed = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _recording:
        return
    if event == "open":
        path, mode, flags = args
        writes = (mode is not None and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writes:
            _recording[-1].append(f"open for writing {path!r}")
    elif event in _EFFECTS:
        _recording[-1].append(f"{event} {args!r}"[:200])


@contextlib.contextmanager
def effects() -> Iterator[list[str]]:
    """Yields the list of host effects recorded while the block runs."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    seen: list[str] = []
    _recording.append(seen)
    try:
        yield seen
    finally:
        _recording.remove(seen)

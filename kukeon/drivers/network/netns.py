"""Pinned network namespaces: a bind mount of an nsfs file, made by a child process.

No thread of kukeond ever enters or creates a namespace itself: ``unshare`` (util-linux)
creates it, bind-mounts it on the pin file and brings loopback up inside it.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
from pathlib import Path

_MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def is_pinned(pin: Path) -> bool:
    """A pin is mounted when it sits on another device (nsfs) than its directory."""
    try:
        return os.stat(pin).st_dev != os.stat(pin.parent).st_dev
    except FileNotFoundError:
        return False


async def pin(pin: Path, timeout: float) -> None:
    pin.parent.mkdir(parents=True, exist_ok=True)
    pin.touch(exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        "unshare", f"--net={pin}", "ip", "link", "set", "lo", "up",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise OSError(errno.ETIMEDOUT, f"unshare --net={pin} did not finish") from None
    if proc.returncode != 0:
        raise OSError(errno.EIO, f"unshare --net={pin}: {err.decode(errors='replace').strip()}")


def unpin(pin: Path) -> None:
    """Unmount (lazily: a container may still hold the namespace) and remove the pin."""
    if _libc.umount2(os.fsencode(pin), _MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):  # not mounted / already gone
            raise OSError(err, f"umount {pin}: {os.strerror(err)}")
    pin.unlink(missing_ok=True)

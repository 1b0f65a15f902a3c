"""Runs CNI plugins per the CNI spec (ADD, CHECK, DEL of a conflist).

Kept free of kukeon's resource model: it takes a conflist dict and a container id,
so it can be tested against any plugin. Errors carry the plugin's own JSON error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JsonDict = dict[str, Any]

# CNI error codes that will fail again with the same config (spec "Well-known error codes").
PERMANENT_CODES = frozenset({1, 2, 4, 6, 7})


class CniError(Exception):
    """A plugin failed; ``msg``/``details`` are the plugin's own words."""

    def __init__(
        self, plugin: str, command: str, code: int, msg: str, details: str = ""
    ) -> None:
        text = f"CNI {command} failed in plugin {plugin!r} (code {code}): {msg}"
        super().__init__(text + (f": {details}" if details else ""))
        self.plugin = plugin
        self.command = command
        self.code = code
        self.msg = msg
        self.details = details

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT_CODES


class CniPluginMissing(CniError):
    @property
    def permanent(self) -> bool:
        return False  # the host's fault, not the spec's: retried until it is installed


class CniTimeout(CniError):
    pass


@dataclass(frozen=True)
class Attachment:
    """Who is being attached: the CNI_* values that identify one container interface."""

    container_id: str
    netns: str
    ifname: str = "eth0"


class CniExecutor:
    def __init__(self, bin_dirs: Sequence[Path], *, timeout: float = 30.0) -> None:
        self.bin_dirs = tuple(bin_dirs)
        self.timeout = timeout

    def find(self, plugin: str) -> Path | None:
        for d in self.bin_dirs:
            candidate = d / plugin
            if os.access(candidate, os.X_OK):
                return candidate
        return None

    async def add(
        self, conflist: JsonDict, att: Attachment, runtime_config: Mapping[str, Any] | None = None
    ) -> JsonDict:
        """Plugins in order, each given the previous one's result; returns the last result."""
        result: JsonDict | None = None
        for plugin in conflist["plugins"]:
            conf = _plugin_config(conflist, plugin, result, runtime_config)
            result = await self.run_plugin("ADD", conf, att)
        return result or {}

    async def check(
        self,
        conflist: JsonDict,
        att: Attachment,
        prev_result: JsonDict,
        runtime_config: Mapping[str, Any] | None = None,
    ) -> None:
        for plugin in conflist["plugins"]:
            conf = _plugin_config(conflist, plugin, prev_result, runtime_config)
            await self.run_plugin("CHECK", conf, att)

    async def delete(
        self,
        conflist: JsonDict,
        att: Attachment,
        prev_result: JsonDict | None,
        runtime_config: Mapping[str, Any] | None = None,
    ) -> None:
        """Plugins in reverse order, each given the cached ADD result (if any)."""
        for plugin in reversed(conflist["plugins"]):
            conf = _plugin_config(conflist, plugin, prev_result, runtime_config)
            await self.run_plugin("DEL", conf, att)

    async def run_plugin(self, command: str, conf: JsonDict, att: Attachment) -> JsonDict:
        plugin = str(conf["type"])
        binary = self.find(plugin)
        if binary is None:
            dirs = ", ".join(map(str, self.bin_dirs))
            raise CniPluginMissing(plugin, command, 7, f"plugin binary not found in {dirs}")
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": att.container_id,
            "CNI_NETNS": att.netns,
            "CNI_IFNAME": att.ifname,
            "CNI_PATH": os.pathsep.join(map(str, self.bin_dirs)),
        }
        proc = await asyncio.create_subprocess_exec(
            str(binary),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # so a timeout kills whatever the plugin started too
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(json.dumps(conf).encode()), self.timeout
            )
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise CniTimeout(plugin, command, 11, f"no answer within {self.timeout:g}s") from None
        if proc.returncode != 0:
            raise _plugin_error(plugin, command, proc.returncode or 0, out, err)
        if command != "ADD" or not out.strip():
            return {}
        try:
            parsed = json.loads(out)
        except ValueError:
            raise CniError(plugin, command, 6, f"unparsable result: {out[:200]!r}") from None
        return parsed if isinstance(parsed, dict) else {}


def _plugin_config(
    conflist: JsonDict,
    plugin: JsonDict,
    prev_result: JsonDict | None,
    runtime_config: Mapping[str, Any] | None,
) -> JsonDict:
    conf: JsonDict = dict(plugin)
    conf["name"] = conflist["name"]
    conf["cniVersion"] = conflist["cniVersion"]
    if prev_result is not None:
        conf["prevResult"] = prev_result
    # Only the capabilities a plugin declares are passed to it (libcni does the same).
    caps = [k for k, on in plugin.get("capabilities", {}).items() if on]
    wanted = {k: v for k, v in (runtime_config or {}).items() if k in caps}
    if wanted:
        conf["runtimeConfig"] = wanted
    return conf


def _plugin_error(plugin: str, command: str, rc: int, out: bytes, err: bytes) -> CniError:
    try:
        data = json.loads(out)
        return CniError(
            plugin, command, int(data.get("code", rc)), str(data.get("msg", "")),
            str(data.get("details", "")),
        )
    except (ValueError, AttributeError, TypeError):
        text = (err or out).decode(errors="replace").strip()[-500:]
        return CniError(plugin, command, 999, f"exit status {rc}", text)

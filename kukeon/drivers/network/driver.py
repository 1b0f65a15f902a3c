"""CniNetwork: pinned netns per cell, one CNI bridge network per space."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import structlog

from kukeon.drivers.base import (
    NetworkObservation,
    ObservedCellNetwork,
    ObservedSpaceNetwork,
    PermanentError,
    SpaceNetwork,
    TransientError,
)
from kukeon.drivers.network import etcfiles, netns, subnets
from kukeon.drivers.network.cni import Attachment, CniError, CniExecutor
from kukeon.drivers.network.conflist import (
    AUTO_KEY,
    conflist_bridge,
    conflist_subnet,
    space_conflist,
)
from kukeon.drivers.network.firewall import SpaceRules, orphan_masq_script, restore_script
from kukeon.drivers.network.records import (
    CellRecord,
    Layout,
    drop_leases,
    read_conflists,
    read_json,
    read_records,
    write_json,
)
from kukeon.model.failpoints import failpoint
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import Cell, Egress, EgressRule

log = structlog.get_logger(__name__)
T = TypeVar("T")
EGRESS_KEY = "kukeon.io/egress"
ETC_FILES = ("hosts", "hostname", "resolv.conf")
HOST_RESOLV = Path("/etc/resolv.conf")
RESOLVED_UPSTREAM = Path("/run/systemd/resolve/resolv.conf")


class CniNetwork:
    def __init__(
        self,
        naming: Naming,
        *,
        run_dir: Path,
        state_dir: Path,
        cni_bin_dirs: Sequence[Path] = (Path("/usr/lib/cni"), Path("/opt/cni/bin")),
        subnet_pool: str = "10.218.0.0/16",
        plugin_timeout: float = 30.0,
    ) -> None:
        self.naming = naming
        self.layout = Layout(run_dir, state_dir)
        self.cni = CniExecutor(cni_bin_dirs, timeout=plugin_timeout)
        self.subnet_pool = subnet_pool
        self.timeout = plugin_timeout
        self._spaces_lock = asyncio.Lock()  # subnet allocation, conflists, iptables
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # ------------------------------------------------------------------ observe
    async def observe(self) -> NetworkObservation:
        return await asyncio.to_thread(self._observe)

    def _observe(self) -> NetworkObservation:
        spaces = tuple(
            ObservedSpaceNetwork(path=p, bridge=conflist_bridge(c), subnet=conflist_subnet(c))
            for p, c in sorted(read_conflists(self.layout).items())
        )
        cells = []
        for rec in read_records(self.layout):
            pin = Path(rec.netns)
            if not netns.is_pinned(pin):
                continue  # stale (host rebooted, pin lost): release_stale's business
            # a crash between ADD and writing the /etc files leaves a cell runc cannot
            # start: it counts as not attached, so the next ensure_cell writes them
            attached = (
                rec.config is not None
                and rec.result is not None
                and all((self.layout.etc_dir(pin.name) / f).exists() for f in ETC_FILES)
            )
            cells.append(
                ObservedCellNetwork(
                    path=rec.path,
                    netns_path=rec.netns,
                    ip=rec.ip if attached else None,
                    etc_files=self._etc_files(pin.name) if attached else {},
                )
            )
        return NetworkObservation(spaces=spaces, cells=tuple(sorted(cells, key=lambda c: c.path)))

    def _etc_files(self, pin_name: str) -> dict[str, str]:
        d = self.layout.etc_dir(pin_name)
        return {f"/etc/{name}": str(d / name) for name in ETC_FILES}

    # ------------------------------------------------------------------ spaces
    async def ensure_space(self, space: SpaceNetwork) -> ObservedSpaceNetwork:
        if space.path.kind.value != "Space":
            raise PermanentError(f"{space.path} is not a space path")
        _validate_egress(space)
        network = self.naming.network_name(space.path)
        async with self._spaces_lock:
            confs = await _io(read_conflists, self.layout)
            current = confs.pop(space.path, None)
            subnet = await self._subnet_for(space, current, confs)
            conf = space_conflist(
                self.naming, space.path, subnet, ipam_dir=self.layout.ipam_dir,
                auto=space.subnet is None,
            )
            conf[EGRESS_KEY] = _egress_json(space.egress)
            if conf != current:
                await _io(write_json, self.layout.conflist(network), conf)
            confs[space.path] = conf
            await self._sync_firewall(confs, removed=())
        return ObservedSpaceNetwork(path=space.path, bridge=conflist_bridge(conf), subnet=subnet)

    async def _subnet_for(
        self, space: SpaceNetwork, current: dict[str, Any] | None,
        others: dict[ResourcePath, dict[str, Any]],
    ) -> str:
        taken = {p: ipaddress.ip_network(conflist_subnet(c)) for p, c in others.items()}
        if space.subnet is not None:
            try:
                net = subnets.parse_subnet(space.subnet)
            except ValueError as e:
                raise PermanentError(f"space {space.path}: {e}") from None
            for other, onet in taken.items():
                if net.overlaps(onet):
                    raise PermanentError(
                        f"space {space.path}: subnet {net} overlaps {onet} of space {other}",
                        hint="give each space its own subnet",
                    )
            return str(net)
        if current is not None and current.get(AUTO_KEY):
            return conflist_subnet(current)  # stable once chosen
        routes = subnets.routes_from_ip_json(
            await self._run("ip", "-j", "route", "show", "table", "all")
        )
        free = subnets.first_free(self.subnet_pool, [*routes, *taken.values()])
        if free is None:
            raise PermanentError(
                f"space {space.path}: no free /24 left in the subnet pool {self.subnet_pool}",
                hint="set spec.network.subnet or a larger pool",
            )
        return str(free)

    async def delete_space(self, path: ResourcePath) -> None:
        for rec in await _io(read_records, self.layout):
            if rec.space == path:
                await self.delete_cell(rec.path)
        network = self.naming.network_name(path)
        async with self._spaces_lock:
            confs = await _io(read_conflists, self.layout)
            confs.pop(path, None)
            await self._sync_firewall(confs, removed=(path,))
            bridge = self.naming.bridge(path)
            await self._run("ip", "link", "del", "dev", bridge, ok_errors=("Cannot find",))
            await _io(shutil.rmtree, self.layout.leases(network), True)
            await _io(self.layout.conflist(network).unlink, True)

    async def _sync_firewall(
        self, confs: dict[ResourcePath, dict[str, Any]], removed: Sequence[ResourcePath]
    ) -> None:
        rules = [
            SpaceRules(
                bridge=conflist_bridge(c),
                egress_chain=self.naming.chain("EG", p),
                egress=_egress_from_json(c.get(EGRESS_KEY)),
            )
            for p, c in sorted(confs.items())
        ]
        stale = [self.naming.chain("EG", p) for p in (*confs, *removed)]
        saved = await self._run("iptables-save", "-t", "filter")
        script = restore_script(
            self.naming.chain("ISO"), self.naming.chain("ISO2"), rules, stale, saved
        )
        await self._run("iptables-restore", "--noflush", "-w", stdin=script)

    # ------------------------------------------------------------------ cells
    async def ensure_cell(self, cell: Cell) -> ObservedCellNetwork:
        path = cell.path
        space = ResourcePath(path.segments[:2])
        cid = self.naming.cni_container_id(path)
        pin_name = self.naming.netns_pin(path)
        pin = self.layout.pin(pin_name)
        async with self._lock(cid):
            conf = await _io(read_json, self.layout.conflist(self.naming.network_name(space)))
            if conf is None:
                raise TransientError(
                    f"cell {path}: the network of space {space} does not exist yet",
                    hint="the space is created before its cells; this retries",
                )
            rec = await _io(self._read_record, cid)
            pinned = await _io(netns.is_pinned, pin)
            if rec is not None and rec.config is not None and not pinned:
                # The namespace that attachment lived in is gone: release it first.
                await self._release(rec)
                rec = None
            if rec is None:
                rec = CellRecord(path=path, container_id=cid, netns=str(pin))
                await _io(self._write_record, rec)
            if not pinned:
                await self._guard(f"pin the netns of cell {path}", netns.pin(pin, self.timeout))
                failpoint("network.after-netns-pin", TransientError)
            elif rec.config is None:
                # Pinned but no config on record: an ADD may have run before the record
                # was lost; DEL with the regenerated config clears it (DEL is idempotent).
                rec.config = conf
            runtime = _runtime_config(cell)
            if rec.result is None or rec.config != conf or rec.runtime_config != runtime:
                await self._attach(rec, conf, runtime)
            assert rec.ip is not None
            await self._write_etc(rec, pin_name)
        return ObservedCellNetwork(
            path=path, netns_path=str(pin), ip=rec.ip, etc_files=self._etc_files(pin_name)
        )

    async def _attach(self, rec: CellRecord, conf: dict[str, Any], runtime: dict[str, Any]) -> None:
        att = Attachment(rec.container_id, rec.netns)
        if rec.config is not None:
            # ADD ran (maybe half) with a recorded config: DEL it first, since host-local
            # refuses a second ADD for a container id it already leased.
            await self._guard(
                f"CNI DEL of cell {rec.path}",
                self.cni.delete(rec.config, att, rec.result, rec.runtime_config),
            )
        rec.config, rec.runtime_config, rec.result = conf, runtime, None
        await _io(self._write_record, rec)
        rec.result = await self._guard(
            f"CNI ADD of cell {rec.path}", self.cni.add(conf, att, runtime)
        )
        failpoint("network.after-cni-add", TransientError)
        if rec.ip is None:
            raise PermanentError(f"CNI ADD of cell {rec.path} returned no IP address")
        await _io(self._write_record, rec)

    async def check_cell(self, path: ResourcePath) -> None:
        """CNI CHECK of an attached cell (raises if the plugins find drift)."""
        rec = await _io(self._read_record, self.naming.cni_container_id(path))
        if rec is None or rec.config is None or rec.result is None:
            raise TransientError(f"cell {path} is not attached to its space network")
        att = Attachment(rec.container_id, rec.netns)
        await self._guard(
            f"CNI CHECK of cell {path}",
            self.cni.check(rec.config, att, rec.result, rec.runtime_config),
        )

    async def delete_cell(self, path: ResourcePath) -> None:
        cid = self.naming.cni_container_id(path)
        pin_name = self.naming.netns_pin(path)
        pin = self.layout.pin(pin_name)
        async with self._lock(cid):
            rec = await _io(self._read_record, cid)
            if rec is not None and rec.config is not None:
                pinned = await _io(netns.is_pinned, pin)
                att = Attachment(cid, str(pin) if pinned else "")
                await self._guard(
                    f"CNI DEL of cell {path}",
                    self.cni.delete(rec.config, att, rec.result, rec.runtime_config),
                )
                failpoint("network.after-cni-del", TransientError)
            await self._guard(f"unpin the netns of cell {path}", _io(netns.unpin, pin))
            space = ResourcePath(path.segments[:2])
            # under the space's lock: a peer rewrite running now would recreate the hosts
            # file inside a directory being removed, and the directory would stay
            async with self._lock(f"space:{space}"):
                await _io(self.layout.record(cid).unlink, True)
                await _io(shutil.rmtree, self.layout.etc_dir(pin_name), True)
                await self._rewrite_peers_locked(space, skip=None)

    async def release_stale(self) -> int:
        """Release attachments whose netns is gone (after a host reboot). Returns how many."""
        released = 0
        spaces: set[ResourcePath] = set()
        for rec in await _io(read_records, self.layout):
            pin = Path(rec.netns)
            async with self._lock(rec.container_id):
                if await _io(netns.is_pinned, pin):
                    continue
                await self._release(rec)
                await _io(shutil.rmtree, self.layout.etc_dir(pin.name), True)
                await _io(pin.unlink, True)
            spaces.add(rec.space)
            released += 1
        for space in spaces:
            await self._rewrite_peers(space)
        return released

    async def _release(self, rec: CellRecord) -> None:
        """Best effort DEL of an attachment without a netns, then drop record and leases."""
        if rec.config is not None:
            try:
                att = Attachment(rec.container_id, "")
                await self.cni.delete(rec.config, att, rec.result, rec.runtime_config)
            except (CniError, OSError) as e:
                log.warning("stale CNI DEL failed", cell=str(rec.path), error=str(e))
            script = orphan_masq_script(await self._run("iptables-save", "-t", "nat"),
                                        rec.container_id)
            if script:
                await self._run("iptables-restore", "--noflush", "-w", stdin=script)
            leases = self.layout.leases(str(rec.config["name"]))
            await _io(drop_leases, leases, rec.container_id)
        await _io(self.layout.record(rec.container_id).unlink, True)

    # ------------------------------------------------------------------ /etc files
    async def _write_etc(self, rec: CellRecord, pin_name: str) -> None:
        async with self._lock(f"space:{rec.space}"):
            await _io(self._write_etc_sync, rec, pin_name)
            await self._rewrite_peers_locked(rec.space, skip=rec.container_id)

    def _write_etc_sync(self, rec: CellRecord, pin_name: str) -> None:
        d = self.layout.etc_dir(pin_name)
        d.mkdir(parents=True, exist_ok=True)
        etcfiles.write_in_place(d / "hostname", rec.path.name + "\n")
        host = HOST_RESOLV.read_text() if HOST_RESOLV.exists() else ""
        upstream = RESOLVED_UPSTREAM.read_text() if RESOLVED_UPSTREAM.exists() else None
        etcfiles.write_in_place(d / "resolv.conf", etcfiles.render_resolv(host, upstream))
        self._write_hosts(rec, read_records(self.layout))

    def _write_hosts(self, rec: CellRecord, records: list[CellRecord]) -> None:
        assert rec.ip is not None
        peers = [
            (r.ip, r.path.name, r.path.segments[2])
            for r in records
            if r.space == rec.space and r.ip and r.container_id != rec.container_id
        ]
        d = self.layout.etc_dir(Path(rec.netns).name)
        own = (rec.ip, rec.path.name, rec.path.segments[2])
        etcfiles.write_in_place(d / "hosts", etcfiles.render_hosts(own, peers))

    async def _rewrite_peers(self, space: ResourcePath) -> None:
        async with self._lock(f"space:{space}"):
            await self._rewrite_peers_locked(space, skip=None)

    async def _rewrite_peers_locked(self, space: ResourcePath, skip: str | None) -> None:
        def rewrite() -> None:
            records = read_records(self.layout)
            for r in records:
                if r.space != space or r.ip is None or r.container_id == skip:
                    continue
                if not self.layout.etc_dir(Path(r.netns).name).is_dir():
                    continue
                try:
                    self._write_hosts(r, records)
                except OSError as e:  # one peer's file must not fail another cell
                    log.warning("rewriting a peer's hosts file failed", cell=str(r.path),
                                error=str(e))

        await _io(rewrite)

    # ------------------------------------------------------------------ helpers
    def _read_record(self, cid: str) -> CellRecord | None:
        data = read_json(self.layout.record(cid))
        return CellRecord.from_json(data) if data else None

    def _write_record(self, rec: CellRecord) -> None:
        write_json(self.layout.record(rec.container_id), rec.to_json())

    async def _guard(self, what: str, aw: Awaitable[T]) -> T:
        """Map library errors to driver errors at this edge."""
        try:
            return await aw
        except CniError as e:
            cls = PermanentError if e.permanent else TransientError
            raise cls(f"{what}: {e}", hint="see the plugin's message") from e
        except OSError as e:
            raise TransientError(f"{what}: {e}") from e

    async def _run(
        self, *argv: str, stdin: str | None = None, ok_errors: Sequence[str] = ()
    ) -> str:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(stdin.encode() if stdin is not None else None), self.timeout
            )
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise TransientError(f"{argv[0]} did not finish within {self.timeout:g}s") from None
        text = err.decode(errors="replace").strip()
        if proc.returncode != 0 and not any(s in text for s in ok_errors):
            raise TransientError(f"{' '.join(argv[:3])} failed: {text}")
        return out.decode()

    async def close(self) -> None:
        return None


async def _io(fn: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.to_thread(fn, *args)
    except OSError as e:
        raise TransientError(f"{getattr(fn, '__name__', 'file operation')}: {e}") from e


def _runtime_config(cell: Cell) -> dict[str, Any]:
    mappings = [
        {"hostPort": p.host_port, "containerPort": p.container_port,
         "protocol": p.protocol, "hostIP": p.host_ip}
        for c in cell.containers for p in c.ports if p.host_port
    ]
    return {"portMappings": mappings} if mappings else {}


def _validate_egress(space: SpaceNetwork) -> None:
    if space.egress.default not in ("allow", "deny"):
        raise PermanentError(
            f"space {space.path}: egress default {space.egress.default!r} is not allow or deny"
        )
    for rule in space.egress.allow:
        try:
            ipaddress.ip_network(rule.cidr, strict=False)
        except ValueError:
            raise PermanentError(
                f"space {space.path}: egress cidr {rule.cidr!r} is invalid"
            ) from None
        if any(not 0 < p < 65536 for p in rule.ports):
            raise PermanentError(f"space {space.path}: egress ports must be 1-65535")


def _egress_json(egress: Egress) -> dict[str, Any]:
    return {
        "default": egress.default,
        "allow": [{"cidr": r.cidr, "ports": list(r.ports)} for r in egress.allow],
    }


def _egress_from_json(data: Any) -> Egress:
    if not isinstance(data, dict):
        return Egress()
    return Egress(
        default=str(data.get("default", "allow")),
        allow=tuple(
            EgressRule(cidr=str(r["cidr"]), ports=tuple(int(p) for p in r.get("ports", ())))
            for r in data.get("allow", ())
        ),
    )

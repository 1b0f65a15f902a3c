"""CniNetwork against the real CNI plugins and iptables (inside scripts/test's netns)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kukeon.drivers.base import SpaceNetwork
from kukeon.drivers.network import CniNetwork
from kukeon.drivers.network.netns import is_pinned
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import Cell, Egress, EgressRule
from tests.integration.network import helpers as h

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

WEB = ResourcePath.of("default", "web")
DB = ResourcePath.of("default", "db")


def cell(space: ResourcePath, name: str, stack: str = "app") -> Cell:
    return Cell(path=space.child(stack).child(name))


def make(naming: Naming, tmp_path: Path) -> CniNetwork:
    return CniNetwork(naming, run_dir=tmp_path / "run", state_dir=tmp_path / "state")


async def _cleanup(driver: CniNetwork) -> None:
    for space in (await driver.observe()).spaces:
        await driver.delete_space(space.path)
    for c in (await driver.observe()).cells:
        await driver.delete_cell(c.path)


@pytest.fixture
def net(naming: Naming, tmp_path: Path) -> Iterator[CniNetwork]:
    yield make(naming, tmp_path)
    # Clean up what the test left (a new driver on the same dirs: it keeps no memory),
    # then prove nothing leaked.
    asyncio.run(_cleanup(make(naming, tmp_path)))
    assert h.pins(tmp_path / "run") == []
    assert not any(link.startswith("kk-") for link in h.links())
    assert not [line for line in h.iptables_state() if naming.chain("ISO") in line]


@h.sync
async def test_cell_gets_ip_in_space_subnet_and_etc_files(net: CniNetwork) -> None:
    space = await net.ensure_space(SpaceNetwork(WEB, None, Egress()))
    assert ipaddress.ip_network(space.subnet).subnet_of(ipaddress.ip_network("10.218.0.0/16"))
    c = await net.ensure_cell(cell(WEB, "api"))
    assert c.ip is not None and ipaddress.ip_address(c.ip) in ipaddress.ip_network(space.subnet)
    assert is_pinned(Path(c.netns_path))
    addr = h.in_netns(c.netns_path, "ip", "-4", "-o", "addr", "show").stdout
    assert f"{c.ip}/24" in addr and "lo" in addr  # eth0 got the IP, loopback is up
    files = c.etc_files
    assert Path(files["/etc/hostname"]).read_text() == "api\n"
    assert f"{c.ip}\tapi api.app" in Path(files["/etc/hosts"]).read_text()
    resolv = Path(files["/etc/resolv.conf"]).read_text()
    assert "127.0.0.53" not in resolv and "nameserver 127." not in resolv
    obs = await net.observe()
    assert [s.path for s in obs.spaces] == [WEB]
    assert [(x.path, x.ip) for x in obs.cells] == [(c.path, c.ip)]
    await net.check_cell(c.path)


@h.sync
async def test_explicit_subnet_and_auto_allocation_skip_taken(net: CniNetwork) -> None:
    db = await net.ensure_space(SpaceNetwork(DB, "10.218.0.0/24", Egress()))
    web = await net.ensure_space(SpaceNetwork(WEB, None, Egress()))
    assert db.subnet == "10.218.0.0/24" and web.subnet == "10.218.1.0/24"
    again = await net.ensure_space(SpaceNetwork(WEB, None, Egress()))
    assert again == web  # stable once chosen


@h.sync
async def test_same_space_cells_reach_each_other_other_spaces_do_not(net: CniNetwork) -> None:
    await net.ensure_space(SpaceNetwork(WEB, None, Egress()))
    await net.ensure_space(SpaceNetwork(DB, None, Egress()))
    a, b = await asyncio.gather(net.ensure_cell(cell(WEB, "a")), net.ensure_cell(cell(WEB, "b")))
    d = await net.ensure_cell(cell(DB, "d"))
    assert a.ip and b.ip and d.ip
    assert h.ping(a.netns_path, b.ip)
    assert h.tcp_ok(b.netns_path, a.netns_path, b.ip)
    assert not h.ping(a.netns_path, d.ip)
    assert not h.ping(d.netns_path, a.ip)
    assert not h.tcp_ok(d.netns_path, a.netns_path, d.ip)


@pytest.fixture
def outside(instance: str, tmp_path: Path) -> Iterator[str]:
    """A netns of the test's own, routed from the host side: 198.51.100.2 and .3."""
    pin = tmp_path / "outside"
    pin.touch()
    subprocess.run(["unshare", f"--net={pin}", "ip", "link", "set", "lo", "up"], check=True)
    inner, outer = f"{instance}i", f"{instance}o"
    ns = ["nsenter", f"--net={pin}"]
    subprocess.run([*ns, "ip", "link", "add", inner, "type", "veth", "peer", "name", outer,
                    "netns", str(os.getpid())], check=True)
    for cmd in (
        [*ns, "ip", "addr", "add", "198.51.100.2/24", "dev", inner],
        [*ns, "ip", "addr", "add", "198.51.100.3/24", "dev", inner],
        [*ns, "ip", "link", "set", inner, "up"],
        [*ns, "ip", "route", "add", "default", "via", "198.51.100.1"],
        ["ip", "addr", "add", "198.51.100.1/24", "dev", outer],
        ["ip", "link", "set", outer, "up"],
    ):
        subprocess.run(cmd, check=True)
    yield str(pin)
    subprocess.run(["umount", str(pin)], check=True)  # the veth pair dies with the netns


@h.sync
async def test_egress_deny_blocks_host_side_and_other_addresses(
    net: CniNetwork, outside: str
) -> None:
    deny = Egress(default="deny", allow=(EgressRule("198.51.100.2/32"),))
    closed = await net.ensure_space(SpaceNetwork(DB, None, deny))
    await net.ensure_space(SpaceNetwork(WEB, None, Egress()))
    locked = await net.ensure_cell(cell(DB, "locked"))
    peer = await net.ensure_cell(cell(DB, "peer"))
    free = await net.ensure_cell(cell(WEB, "free"))
    gateway = str(next(ipaddress.ip_network(closed.subnet).hosts()))
    # Control: an allow space reaches both outside addresses and its gateway.
    assert h.ping(free.netns_path, "198.51.100.3")
    assert h.ping(free.netns_path, "198.51.100.2")
    # The deny space: only the allowed CIDR and its own space.
    assert h.ping(locked.netns_path, "198.51.100.2")
    assert not h.ping(locked.netns_path, "198.51.100.3")
    assert not h.ping(locked.netns_path, gateway)  # host side (INPUT)
    assert peer.ip and h.ping(locked.netns_path, peer.ip)
    # Back to allow: the egress chain and its hooks go away.
    await net.ensure_space(SpaceNetwork(DB, None, Egress()))
    assert h.ping(locked.netns_path, "198.51.100.3")
    assert not [x for x in h.iptables_state() if net.naming.chain("EG", DB) in x]


@h.sync
async def test_hosts_file_lists_peers_and_is_rewritten_in_place(net: CniNetwork) -> None:
    await net.ensure_space(SpaceNetwork(WEB, None, Egress()))
    await net.ensure_space(SpaceNetwork(DB, None, Egress()))
    a = await net.ensure_cell(cell(WEB, "a"))
    hosts = Path(a.etc_files["/etc/hosts"])
    inode = hosts.stat().st_ino
    b = await net.ensure_cell(cell(WEB, "b", stack="other"))
    await net.ensure_cell(cell(DB, "stranger"))
    text = hosts.read_text()
    assert f"{b.ip}\tb b.other" in text and "stranger" not in text
    assert f"{a.ip}\ta a.app" in Path(b.etc_files["/etc/hosts"]).read_text()
    await net.delete_cell(b.path)
    assert "\tb b.other" not in hosts.read_text()
    assert hosts.stat().st_ino == inode


@h.sync
async def test_idempotent_ensure_and_delete(net: CniNetwork, tmp_path: Path) -> None:
    spec = SpaceNetwork(WEB, None, Egress())
    assert await net.ensure_space(spec) == await net.ensure_space(spec)
    first = await net.ensure_cell(cell(WEB, "a"))
    assert await net.ensure_cell(cell(WEB, "a")) == first
    assert len(h.lease_files(tmp_path / "state")) == 1
    await net.delete_cell(first.path)
    await net.delete_cell(first.path)
    await net.delete_space(WEB)
    await net.delete_space(WEB)
    assert (await net.observe()).cells == ()
    assert h.lease_files(tmp_path / "state") == []


@pytest.mark.parametrize("lost", ["result", "record"])
@h.sync
async def test_crash_between_add_and_result_is_repaired(
    net: CniNetwork, tmp_path: Path, lost: str
) -> None:
    import json

    await net.ensure_space(SpaceNetwork(WEB, None, Egress()))
    c = await net.ensure_cell(cell(WEB, "a"))
    record = tmp_path / "state/cni/results" / f"{net.naming.cni_container_id(c.path)}.json"
    if lost == "result":
        data = json.loads(record.read_text())
        data["result"] = None
        record.write_text(json.dumps(data))
    else:
        record.unlink()
    again = await net.ensure_cell(cell(WEB, "a"))
    assert again.ip is not None
    assert len(h.lease_files(tmp_path / "state")) == 1
    assert h.in_netns(again.netns_path, "ip", "-o", "link", "show", "eth0").returncode == 0
    await net.check_cell(c.path)


@h.sync
async def test_release_stale_after_reboot(net: CniNetwork, tmp_path: Path) -> None:
    await net.ensure_space(SpaceNetwork(WEB, None, Egress()))
    c = await net.ensure_cell(cell(WEB, "a"))
    before = len(h.iptables_state())
    subprocess.run(["umount", c.netns_path], check=True)  # what a reboot does to /run
    assert await net.release_stale() == 1
    assert await net.release_stale() == 0
    assert h.lease_files(tmp_path / "state") == []
    assert (await net.observe()).cells == ()
    assert len(h.iptables_state()) < before  # the masquerade chain of the cell went too
    again = await net.ensure_cell(cell(WEB, "a"))
    assert again.ip is not None


@h.sync
async def test_twenty_cells_leave_nothing(net: CniNetwork, tmp_path: Path) -> None:
    spec = SpaceNetwork(WEB, None, Egress(default="deny"))
    # Warm-up: the plugins' shared chains (CNI-FORWARD...) stay by design.
    await net.ensure_space(spec)
    await net.delete_cell((await net.ensure_cell(cell(WEB, "warm"))).path)
    await net.delete_space(WEB)
    rules, links = h.iptables_state(), h.links()

    await net.ensure_space(spec)
    cells = [cell(WEB, f"c{i}") for i in range(20)]
    made = await asyncio.gather(*(net.ensure_cell(c) for c in cells))
    assert len({m.ip for m in made}) == 20
    assert len(h.pins(tmp_path / "run")) == 20
    assert len(h.lease_files(tmp_path / "state")) == 20
    assert len(h.veths()) >= 20
    await asyncio.gather(*(net.delete_cell(c.path) for c in cells))
    await net.delete_space(WEB)

    assert h.pins(tmp_path / "run") == []
    assert h.lease_files(tmp_path / "state") == []
    assert h.links() == links
    assert h.iptables_state() == rules
    assert list((tmp_path / "state/cni/results").iterdir()) == []
    assert list((tmp_path / "run/cells").iterdir()) == []


@h.sync
async def test_missing_etc_files_count_as_not_attached_and_ensure_rewrites_them(
    net: CniNetwork,
) -> None:
    """A crash between CNI ADD and writing /etc files must not leave a cell runc cannot
    start (it bind-mounts those files)."""
    await net.ensure_space(SpaceNetwork(WEB, None, Egress()))
    first = await net.ensure_cell(cell(WEB, "a"))
    Path(first.etc_files["/etc/hostname"]).unlink()
    (seen,) = (await net.observe()).cells
    assert seen.ip is None
    again = await net.ensure_cell(cell(WEB, "a"))
    assert again.ip == first.ip  # no second ADD: the lease is the same
    assert Path(again.etc_files["/etc/hostname"]).read_text() == "a\n"
    (seen,) = (await net.observe()).cells
    assert seen.ip == first.ip

"""Subnet allocation, conflist generation, iptables rules and /etc files (no I/O)."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from kukeon.drivers.network import etcfiles
from kukeon.drivers.network.conflist import PATH_KEY, conflist_bridge, space_conflist
from kukeon.drivers.network.firewall import SpaceRules, orphan_masq_script, restore_script
from kukeon.drivers.network.subnets import first_free, parse_subnet, routes_from_ip_json
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import Egress, EgressRule

SPACE = ResourcePath.of("default", "web")


def nets(*texts: str) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(t) for t in texts]


def test_first_free_skips_overlaps_and_reports_exhaustion() -> None:
    assert str(first_free("10.218.0.0/16", [])) == "10.218.0.0/24"
    taken = nets("10.218.0.0/23", "10.218.2.128/25")
    assert str(first_free("10.218.0.0/16", taken)) == "10.218.3.0/24"
    assert first_free("10.218.0.0/23", nets("10.0.0.0/8")) is None


def test_routes_ignore_default_and_local() -> None:
    text = json.dumps([
        {"dst": "default", "gateway": "10.0.0.1"},
        {"dst": "10.218.0.0/24", "dev": "eth0"},
        {"type": "local", "dst": "10.218.5.1", "table": "local"},
        {"dst": "fd00::/64"},
    ])
    assert [str(r) for r in routes_from_ip_json(text)] == ["10.218.0.0/24", "fd00::/64"]


@pytest.mark.parametrize("bad", ["10.0.0.1/24", "fd00::/64", "10.0.0.0/31", "nope"])
def test_parse_subnet_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_subnet(bad)


def test_conflist_shape(naming: Naming, tmp_path: Path) -> None:
    conf = space_conflist(naming, SPACE, "10.218.3.0/24", ipam_dir=tmp_path, auto=True)
    assert conf["name"] == naming.network_name(SPACE)
    assert conf[PATH_KEY] == "default/web"
    assert [p["type"] for p in conf["plugins"]] == ["bridge", "portmap", "firewall"]
    bridge = conf["plugins"][0]
    assert conflist_bridge(conf) == naming.bridge(SPACE)
    assert bridge["isGateway"] and bridge["ipMasq"] and bridge["hairpinMode"]
    assert bridge["ipam"] == {
        "type": "host-local", "ranges": [[{"subnet": "10.218.3.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(tmp_path),
    }
    assert conf["plugins"][2]["iptablesAdminChainName"] == naming.chain("ISO")


EMPTY_SAVE = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"


def test_restore_script_isolates_and_hooks_egress() -> None:
    deny = Egress("deny", (EgressRule("192.0.2.0/24", (53, 443)),))
    spaces = [SpaceRules("br-a", "EG-A", deny), SpaceRules("br-b", "EG-B", Egress())]
    script = restore_script("ISO", "ISO2", spaces, ["EG-A", "EG-B"], EMPTY_SAVE)
    lines = script.splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    assert ":EG-B - [0:0]" not in lines  # allow space: no chain
    for line in (
        "-A ISO -i br-a -o br-a -j RETURN", "-A ISO -i br-a -j ISO2", "-A ISO -i br-a -j EG-A",
        "-A ISO2 -o br-a -j DROP", "-A ISO2 -o br-b -j DROP", "-I INPUT 1 -i br-a -j EG-A",
        "-A EG-A -d 192.0.2.0/24 -p udp -m multiport --dports 53,443 -j RETURN",
        "-A EG-A -j DROP",
    ):
        assert line in lines
    assert "-A ISO -i br-b -j EG-B" not in lines
    # An existing hook is not inserted twice.
    saved = EMPTY_SAVE.replace("COMMIT", ":EG-A - [0:0]\n-A INPUT -i br-a -j EG-A\nCOMMIT")
    again = restore_script("ISO", "ISO2", spaces, ["EG-A"], saved)
    assert "-I INPUT 1 -i br-a -j EG-A" not in again and "-D INPUT" not in again


def test_restore_script_removes_everything_with_the_last_space() -> None:
    saved = (
        "*filter\n:INPUT ACCEPT [0:0]\n:CNI-FORWARD - [0:0]\n:ISO - [0:0]\n:ISO2 - [0:0]\n"
        ":EG-A - [0:0]\n-A INPUT -i br-a -j EG-A\n-A CNI-FORWARD -j ISO\n"
        "-A ISO -i br-a -j ISO2\nCOMMIT\n"
    )
    lines = restore_script("ISO", "ISO2", [], ["EG-A"], saved).splitlines()
    assert "-D INPUT -i br-a -j EG-A" in lines and "-D CNI-FORWARD -j ISO" in lines
    assert lines.index(":ISO - [0:0]") < lines.index("-X ISO2")  # flushed before deleted
    assert {"-X ISO", "-X ISO2", "-X EG-A"} <= set(lines)


def test_orphan_masq_script() -> None:
    saved = (
        '-A POSTROUTING -s 10.0.0.2/32 -m comment --comment "name: \\"n\\" id: \\"c1\\"" '
        "-j CNI-abc\n"
        '-A CNI-abc -d 10.0.0.0/24 -m comment --comment "name: \\"n\\" id: \\"c1\\"" -j ACCEPT\n'
        '-A POSTROUTING -s 10.0.0.3/32 -m comment --comment "name: \\"n\\" id: \\"c2\\"" '
        "-j CNI-def\n"
    )
    script = orphan_masq_script(saved, "c1")
    assert script is not None
    lines = script.splitlines()
    assert lines[:2] == ["*nat", ":CNI-abc - [0:0]"] and "-X CNI-abc" in lines
    assert [x for x in lines if x.startswith("-D")] == [
        '-D POSTROUTING -s 10.0.0.2/32 -m comment --comment "name: \\"n\\" id: \\"c1\\"" '
        "-j CNI-abc"
    ]
    assert orphan_masq_script(saved, "c9") is None


def test_hosts_render() -> None:
    text = etcfiles.render_hosts(("10.0.0.2", "api", "app"), [("10.0.0.3", "db", "data")])
    assert text.startswith("127.0.0.1\tlocalhost\n")
    assert "10.0.0.2\tapi api.app\n10.0.0.3\tdb db.data\n" in text


def test_resolv_drops_loopback_and_uses_resolved_upstream() -> None:
    host = "search lan\nnameserver 127.0.0.53\nnameserver 10.1.1.1\noptions edns0\n"
    assert etcfiles.render_resolv(host) == (
        "search lan\noptions edns0\nnameserver 10.1.1.1\n"
    )
    stub = "nameserver 127.0.0.53\nsearch lan\n"
    upstream = "nameserver 192.0.2.53\n"
    assert etcfiles.render_resolv(stub, upstream) == "nameserver 192.0.2.53\n"
    assert etcfiles.render_resolv(stub) == "search lan\n"


def test_write_in_place_keeps_inode(tmp_path: Path) -> None:
    f = tmp_path / "hosts"
    etcfiles.write_in_place(f, "a long first version\n")
    inode = f.stat().st_ino
    etcfiles.write_in_place(f, "short\n")
    assert f.read_text() == "short\n" and f.stat().st_ino == inode
    os.utime(f, ns=(0, 0))
    etcfiles.write_in_place(f, "short\n")  # unchanged: not written
    assert f.stat().st_mtime_ns == 0
    etcfiles.write_in_place(f, "short\nlonger\n")
    assert f.read_text() == "short\nlonger\n" and f.stat().st_mtime_ns != 0

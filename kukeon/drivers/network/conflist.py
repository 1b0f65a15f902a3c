"""The CNI conflist of one space: bridge + host-local, portmap, firewall."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming

CNI_VERSION = "1.0.0"
# Our own key in the conflist (plugins never see it): which space it belongs to.
PATH_KEY = "kukeon.io/path"
AUTO_KEY = "kukeon.io/subnet-auto"


def space_conflist(
    naming: Naming, space: ResourcePath, subnet: str, *, ipam_dir: Path, auto: bool
) -> dict[str, Any]:
    return {
        "cniVersion": CNI_VERSION,
        "name": naming.network_name(space),
        PATH_KEY: str(space),
        AUTO_KEY: auto,
        "plugins": [
            {
                "type": "bridge",
                "bridge": naming.bridge(space),
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": subnet}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
            {
                "type": "firewall",
                "backend": "iptables",
                # Evaluated before the plugin's own ACCEPT rules: where isolation and
                # egress policy must sit (see firewall.py).
                "iptablesAdminChainName": naming.chain("ISO"),
            },
        ],
    }


def conflist_subnet(conflist: dict[str, Any]) -> str:
    return str(conflist["plugins"][0]["ipam"]["ranges"][0][0]["subnet"])


def conflist_bridge(conflist: dict[str, Any]) -> str:
    return str(conflist["plugins"][0]["bridge"])


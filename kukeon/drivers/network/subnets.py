"""First-fit /24 allocation from a pool, avoiding routes and other spaces' subnets."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    """A space subnet: IPv4, strict (host bits zero), at most /30 so it has room for cells."""
    net = ipaddress.ip_network(text, strict=True)
    if not isinstance(net, ipaddress.IPv4Network) or net.prefixlen > 30:
        raise ValueError(f"subnet {text!r} must be an IPv4 network of /30 or larger")
    return net


def first_free(pool: str, taken: Iterable[Net], prefix: int = 24) -> ipaddress.IPv4Network | None:
    """The first ``/prefix`` of ``pool`` that overlaps nothing in ``taken``."""
    pool_net = parse_subnet(pool)
    busy = [t for t in taken if t.version == 4 and t.overlaps(pool_net)]
    for candidate in pool_net.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(t) for t in busy):
            return candidate
    return None


def routes_from_ip_json(text: str) -> list[Net]:
    """Destinations of ``ip -j route show table all``, without default routes.

    A default route overlaps everything, so it cannot count as taken.
    """
    out: list[Net] = []
    for route in json.loads(text or "[]"):
        dst = route.get("dst", "default")
        if dst == "default" or route.get("type") in ("broadcast", "local"):
            continue
        try:
            out.append(ipaddress.ip_network(dst, strict=False))
        except ValueError:
            continue
    return out

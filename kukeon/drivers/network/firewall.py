"""Isolation between spaces and per-space egress policy, in iptables chains of ours.

Where the rules sit: the ``firewall`` CNI plugin puts its own ``CNI-FORWARD`` chain
first in FORWARD and ACCEPTs every packet from a cell there, so a rule appended to
FORWARD would never see a cell's traffic. The plugin jumps to an "admin chain" before
its ACCEPTs; each space's conflist names our ISO chain as that admin chain.

  ISO:   -i B -o B -j RETURN     same space (bridged/hairpin traffic) is always allowed
         -i B -j ISO2            every space's bridge, then
         -i B -j EG(space)       spaces whose egress default is deny
  ISO2:  -o B -j DROP            every space's bridge: no traffic between two spaces
  EG:    established -> RETURN, allowed CIDR[/ports] -> RETURN, else DROP
  INPUT: -i B -j EG(space)       egress deny also covers the host side

The whole set is rebuilt from the list of spaces with one ``iptables-restore --noflush``
(declaring a chain flushes it), after one ``iptables-save`` says which hooks exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kukeon.model.resources import Egress

PLUGIN_CHAIN = "CNI-FORWARD"  # the firewall plugin's chain that jumps to our ISO chain
_MULTIPORT_MAX = 15


@dataclass(frozen=True)
class SpaceRules:
    bridge: str
    egress_chain: str
    egress: Egress

    @property
    def deny(self) -> bool:
        return self.egress.default == "deny"


def egress_rules(space: SpaceRules) -> list[str]:
    chain = space.egress_chain
    rules = [f"-A {chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"]
    for rule in space.egress.allow:
        if not rule.ports:
            rules.append(f"-A {chain} -d {rule.cidr} -j RETURN")
            continue
        ports = [str(p) for p in rule.ports]
        for i in range(0, len(ports), _MULTIPORT_MAX):
            chunk = ",".join(ports[i : i + _MULTIPORT_MAX])
            for proto in ("tcp", "udp"):
                rules.append(
                    f"-A {chain} -d {rule.cidr} -p {proto} -m multiport --dports {chunk} -j RETURN"
                )
    rules.append(f"-A {chain} -j DROP")
    return rules


def restore_script(
    iso: str,
    iso2: str,
    spaces: Sequence[SpaceRules],
    stale_egress_chains: Iterable[str],
    saved: str,
) -> str:
    """iptables-restore input that makes the filter table match ``spaces``.

    ``saved`` is the current ``iptables-save -t filter``; ``stale_egress_chains`` are
    chains of ours that may exist and must go (deleted spaces, egress back to allow).
    """
    existing = set(re.findall(r"^:(\S+)", saved, re.M))
    rules = [line for line in saved.splitlines() if line.startswith("-A ")]
    wanted_eg = {s.egress_chain for s in spaces if s.deny}
    dropped = (set(stale_egress_chains) - wanted_eg) & existing
    ours = wanted_eg | dropped | {iso, iso2}

    out = ["*filter"]
    keep_iso = bool(spaces)
    declare = [iso, iso2, *sorted(wanted_eg)] if keep_iso else sorted(existing & {iso, iso2})
    out += [f":{c} - [0:0]" for c in (*declare, *sorted(dropped))]
    # Hooks of ours in INPUT (and the plugin's jump to ISO once ISO goes) that must not stay.
    wanted_hooks = {f"-A INPUT -i {s.bridge} -j {s.egress_chain}" for s in spaces if s.deny}
    for line in rules:
        target = line.rsplit(" -j ", 1)[-1]
        chain = line.split()[1]
        if target not in ours or chain in ours:
            continue
        if line in wanted_hooks or (chain == PLUGIN_CHAIN and target == iso and keep_iso):
            continue
        out.append("-D" + line[2:])
    if keep_iso:
        for s in spaces:
            out.append(f"-A {iso} -i {s.bridge} -o {s.bridge} -j RETURN")
        for s in spaces:
            out.append(f"-A {iso} -i {s.bridge} -j {iso2}")
        for s in spaces:
            if s.deny:
                out.append(f"-A {iso} -i {s.bridge} -j {s.egress_chain}")
        for s in spaces:
            out.append(f"-A {iso2} -o {s.bridge} -j DROP")
        for s in spaces:
            if s.deny:
                out += egress_rules(s)
        for hook in sorted(wanted_hooks - set(rules)):
            out.append("-I INPUT 1" + hook[len("-A INPUT") :])
    else:
        out += [f"-X {c}" for c in (iso, iso2) if c in existing]
    out += [f"-X {c}" for c in sorted(dropped)]
    out.append("COMMIT")
    return "\n".join(out) + "\n"


def orphan_masq_script(saved_nat: str, container_id: str) -> str | None:
    """Remove the bridge plugin's per-container masquerade rules and chain.

    The bridge plugin's DEL skips them when the netns is gone (it learns the IPs inside
    it), so a cell whose pin vanished without a reboot would leak them. They carry
    ``id: "<container id>"`` in a comment.
    """
    marker = f'id: \\"{container_id}\\"'
    lines = [line for line in saved_nat.splitlines() if line.startswith("-A ") and marker in line]
    if not lines:
        return None
    chains = {line.split()[1] for line in lines} - {"POSTROUTING"}
    out = ["*nat", *(f":{c} - [0:0]" for c in sorted(chains))]
    out += ["-D" + line[2:] for line in lines if line.split()[1] not in chains]
    out += [f"-X {c}" for c in sorted(chains)]
    out.append("COMMIT")
    return "\n".join(out) + "\n"

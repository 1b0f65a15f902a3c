"""Which policy applies to a resource: the one of the source that owns it."""

from __future__ import annotations

from collections.abc import Callable

from kukeon.model.identity import ResourcePath
from kukeon.model.policy import OPEN, RESTRICTED, Policy, violations
from kukeon.reconcile.desired import DesiredState


class PolicyGate:
    def __init__(self, policies: tuple[tuple[str, Policy], ...]) -> None:
        self.policies = dict(policies)

    def policy_for(self, owner: str) -> tuple[Policy, str]:
        """The policy and the config key that sets it (named in messages)."""
        if owner.startswith("git:"):
            if owner in self.policies:
                return self.policies[owner], f"spec.policy.{owner}"
            return self.policies.get("git", RESTRICTED), "spec.policy.git"
        key = "dir" if owner.startswith("file:") else "api"
        return self.policies.get(key, OPEN), f"spec.policy.{key}"

    def refused(self, desired: DesiredState) -> dict[ResourcePath, str]:
        out = {}
        for cell in desired.cells():
            owner = desired.owners.get(cell.path, "")
            policy, key = self.policy_for(owner)
            broken = violations(cell, policy)
            if broken:
                out[cell.path] = (
                    f"refused by the policy of {owner}: {'; '.join(broken)} "
                    f"(allow it in kukeond.yaml {key})"
                )
        return out


def gate(
    policies: tuple[tuple[str, Policy], ...],
) -> Callable[[DesiredState], dict[ResourcePath, str]]:
    return PolicyGate(policies).refused

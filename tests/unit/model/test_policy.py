from __future__ import annotations

from pathlib import Path

from kukeon.daemon.policy import PolicyGate
from kukeon.model.identity import ResourcePath
from kukeon.model.policy import OPEN, RESTRICTED, Policy, violations
from kukeon.model.resources import Cell, Container, Volume
from kukeon.reconcile.desired import merge

PATH = ResourcePath.of("default", "default", "default", "web")


def cell(**kw: object) -> Cell:
    return Cell(path=PATH, containers=(Container(name="app", image="busybox", **kw),))  # type: ignore[arg-type]


def test_restricted_refuses_each_rule_by_name() -> None:
    assert violations(cell(privileged=True), RESTRICTED) == [
        "container app: privileged is not allowed"
    ]
    assert (
        "adding capabilities (NET_ADMIN)"
        in violations(cell(capabilities_add=("NET_ADMIN",)), RESTRICTED)[0]
    )
    assert violations(cell(host_network=True), RESTRICTED) == [
        "container app: hostNetwork is not allowed"
    ]
    assert violations(cell(host_network=True), OPEN) == []
    assert violations(cell(host_pid=True), RESTRICTED) == ["container app: hostPID is not allowed"]
    assert violations(cell(host_cgroup=True), RESTRICTED) == [
        "container app: hostCgroup is not allowed"
    ]
    root_bind = cell(volumes=(Volume(target="/host", source="/"),))
    assert violations(root_bind, RESTRICTED) == ["container app: bind mount of / is not allowed"]
    assert violations(root_bind, OPEN) == []
    assert violations(cell(volumes=(Volume(target="/t", kind="tmpfs"),)), RESTRICTED) == []


def test_allowed_host_paths_follow_symlinks(tmp_path: Path) -> None:
    allowed = tmp_path / "srv"
    (allowed / "data").mkdir(parents=True)
    (allowed / "escape").symlink_to("/etc")
    policy = Policy(allowed_host_paths=(str(allowed),))
    ok = cell(volumes=(Volume(target="/d", source=str(allowed / "data")),))
    assert violations(ok, policy) == []
    sneaky = cell(volumes=(Volume(target="/d", source=str(allowed / "escape")),))
    (msg,) = violations(sneaky, policy)
    assert "-> /etc" in msg and "outside the allowed host paths" in msg
    prefix_trick = cell(volumes=(Volume(target="/d", source=str(allowed) + "-other"),))
    assert violations(prefix_trick, policy)


def test_git_sources_are_restricted_by_default_and_messages_name_the_setting() -> None:
    gate = PolicyGate(())
    bad = cell(privileged=True)
    desired = merge([("git:ops", [bad])])
    (why,) = gate.refused(desired).values()
    assert "refused by the policy of git:ops" in why and "spec.policy.git" in why
    assert gate.refused(merge([("file:web.yaml", [bad])])) == {}
    assert gate.refused(merge([("api", [bad])])) == {}
    opened = PolicyGate((("git:ops", OPEN),))
    assert opened.refused(desired) == {}

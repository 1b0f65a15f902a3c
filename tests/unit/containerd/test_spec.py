"""Each OCI spec option alone, then the whole spec."""

from __future__ import annotations

import resource

import pytest

from kukeon.drivers.base import ContainerRequest, PermanentError
from kukeon.drivers.containerd import spec as s
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Cell, Container, Resources, Volume


def run(opt: s.SpecOpt) -> s.Spec:
    return s.apply(s.base_spec(), [opt])


def test_args_follow_kubernetes_rules() -> None:
    image = {"Entrypoint": ["/ep"], "Cmd": ["c1"]}
    assert run(s.with_args((), (), image))["process"]["args"] == ["/ep", "c1"]
    assert run(s.with_args((), ("a",), image))["process"]["args"] == ["/ep", "a"]
    assert run(s.with_args(("sh",), (), image))["process"]["args"] == ["sh"]
    assert run(s.with_args(("sh",), ("-c", "x"), image))["process"]["args"] == ["sh", "-c", "x"]
    with pytest.raises(PermanentError):
        s.with_args((), (), {})


def test_env_merges_image_env_and_defaults_path() -> None:
    env = run(s.with_env((("A", "2"), ("B", "x=y")), ["A=1", "C=3"]))["process"]["env"]
    assert env == ["A=2", "C=3", "B=x=y", f"PATH={s.DEFAULT_PATH}"]
    assert run(s.with_env((), ["PATH=/bin"]))["process"]["env"] == ["PATH=/bin"]


def test_cwd_and_user() -> None:
    assert run(s.with_cwd("/", "/app"))["process"]["cwd"] == "/app"
    assert run(s.with_cwd("/w", "/app"))["process"]["cwd"] == "/w"
    assert run(s.with_user("1000:50"))["process"]["user"] == {"uid": 1000, "gid": 50}
    assert run(s.with_user("", "nobody"))["process"]["user"] == {"uid": 65534, "gid": 65534}
    assert run(s.with_user(""))["process"]["user"] == {"uid": 0, "gid": 0}
    with pytest.raises(PermanentError):
        s.with_user("www-data")


def test_capabilities_default_add_drop_privileged() -> None:
    caps = run(s.with_capabilities())["process"]["capabilities"]
    assert caps["bounding"] == list(s.DEFAULT_CAPS) == caps["effective"]
    caps = run(s.with_capabilities(add=("NET_ADMIN",), drop=("CAP_KILL",)))["process"]
    assert "CAP_NET_ADMIN" in caps["capabilities"]["bounding"]
    assert "CAP_KILL" not in caps["capabilities"]["bounding"]
    only = run(s.with_capabilities(add=("CHOWN",), drop=("ALL",)))["process"]["capabilities"]
    assert only["permitted"] == ["CAP_CHOWN"]
    assert "CAP_SYS_ADMIN" in run(s.with_capabilities(privileged=True))["process"][
        "capabilities"]["bounding"]  # fmt: skip
    with pytest.raises(PermanentError):
        s.with_capabilities(add=("NOT_A_CAP",))


def test_rlimits_are_clamped_to_the_host_hard_limit() -> None:
    spec = run(s.with_rlimits(1 << 20, hard_limit=lambda res: 20000))
    assert spec["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 20000, "soft": 1024}]
    host = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert run(s.with_rlimits())["process"]["rlimits"][0]["hard"] <= host


def test_namespaces_hostname_and_cgroups_path() -> None:
    spec = run(s.with_namespaces("/run/netns/x"))
    assert {"type": "network", "path": "/run/netns/x"} in spec["linux"]["namespaces"]
    assert {n["type"] for n in spec["linux"]["namespaces"]} == {
        "pid", "ipc", "uts", "mount", "network", "cgroup"}  # fmt: skip
    named = s.apply(s.base_spec(), [s.with_namespaces("/run/netns/x"), s.with_hostname("web")])
    assert named["hostname"] == "web"
    assert run(s.with_cgroups_path("/k/a/b"))["linux"]["cgroupsPath"] == "/k/a/b"


def test_host_network_shares_the_hosts_network_and_name() -> None:
    spec = s.apply(s.base_spec(), [s.with_namespaces(""), s.with_hostname("web")])
    assert [n["type"] for n in spec["linux"]["namespaces"]] == ["ipc", "mount", "pid", "cgroup"]
    assert spec["hostname"] == ""  # runc sets no name: the host's stays
    host = run(s.with_namespaces("/run/netns/x", host_pid=True, host_cgroup=True))
    assert [n["type"] for n in host["linux"]["namespaces"]] == [
        "ipc", "mount", "uts", "network"]  # fmt: skip


def test_default_mounts_etc_files_and_volumes() -> None:
    spec = s.apply(s.base_spec(), [
        s.with_default_mounts,
        s.with_etc_files({"/etc/hosts": "/run/k/hosts"}),
        s.with_volumes((Volume(target="/data", source="/srv"),
                        Volume(target="/t", kind="tmpfs", size_bytes=1024, read_only=True))),
    ])  # fmt: skip
    by_dest = {m["destination"]: m for m in spec["mounts"]}
    assert {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"} <= set(by_dest)
    assert "ro" in by_dest["/sys"]["options"]
    assert by_dest["/etc/hosts"]["source"] == "/run/k/hosts"
    assert by_dest["/data"]["options"] == ["rbind", "rprivate", "rw"]
    assert by_dest["/t"]["options"] == ["nosuid", "nodev", "ro", "size=1024"]
    with pytest.raises(PermanentError):
        s.with_volumes((Volume(target="/x", source="relative"),))
    with pytest.raises(PermanentError):
        s.with_volumes((Volume(target="/x", kind="nfs"),))


def test_masked_paths_no_new_privileges_readonly_root_devices() -> None:
    spec = s.apply(s.base_spec(), [s.with_masked_paths, s.with_no_new_privileges,
                                   s.with_readonly_rootfs(True), s.with_devices()])  # fmt: skip
    assert "/proc/kcore" in spec["linux"]["maskedPaths"]
    assert "/proc/sys" in spec["linux"]["readonlyPaths"]
    assert spec["process"]["noNewPrivileges"] is True
    assert spec["root"] == {"path": "rootfs", "readonly": True}
    assert spec["linux"]["resources"]["devices"] == [{"allow": False, "access": "rwm"}]


def test_resources() -> None:
    res = Resources(memory_limit_bytes=64 << 20, cpu_shares=512, cpu_millis=250, pids_limit=9)
    out = run(s.with_resources(res))["linux"]["resources"]
    assert out["memory"] == {"limit": 64 << 20}
    assert out["cpu"] == {"shares": 512, "quota": 25000, "period": 100000}
    assert out["pids"] == {"limit": 9}
    assert "memory" not in run(s.with_resources(Resources()))["linux"]["resources"]


def test_build_spec_puts_it_together() -> None:
    c = Container(name="main", image="busybox", args=("echo", "hi"))
    cell = Cell(path=ResourcePath.of("r", "s", "t", "web"), containers=(c,))
    req = ContainerRequest(
        path=cell.path.child("main"), cell=cell, container=c, spec_hash="h", image_digest="d",
        netns_path="/run/netns/n", cgroup_parent="/k/r/s/t/web", etc_files={},
        log_path="/tmp/x.log", spec_fields={},
    )  # fmt: skip
    spec = s.build_spec(req, {"Entrypoint": ["/bin/sh", "-c"], "Env": ["PATH=/bin"]})
    assert spec["process"]["args"] == ["/bin/sh", "-c", "echo", "hi"]
    assert spec["hostname"] == "web"
    assert spec["linux"]["cgroupsPath"] == "/k/r/s/t/web/main"
    assert spec["process"]["noNewPrivileges"] is True

"""The OCI runtime spec, built from small composable options (containerd's oci.SpecOpts).

``build_spec`` applies them in order to a minimal base; each option only touches its own
part of the spec, so each is tested alone.
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kukeon.drivers.base import ContainerRequest, PermanentError
from kukeon.model.limits import CPU_PERIOD_US, millis_to_quota
from kukeon.model.resources import Resources, Volume

Spec = dict[str, Any]
SpecOpt = Callable[[Spec], None]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NOFILE = 1024 * 1024  # what we ask for; clamped to the host's hard limit

# Docker's default capability set
DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)  # fmt: skip
ALL_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip
MASKED_PATHS = (
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/proc/scsi",
)  # fmt: skip
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
DEFAULT_MOUNTS: tuple[Spec, ...] = (
    {"destination": "/proc", "type": "proc", "source": "proc",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["ro", "nosuid", "noexec", "nodev", "relatime"]},
)  # fmt: skip
_NAMED_USERS = {"root": 0, "nobody": 65534}


def base_spec() -> Spec:
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": [],
            "env": [],
            "cwd": "/",
            "capabilities": {},
            "noNewPrivileges": False,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "",
        "mounts": [],
        "linux": {"namespaces": [], "resources": {"devices": []}},
    }


def _caps(spec: Spec) -> dict[str, list[str]]:
    caps: dict[str, list[str]] = spec["process"]["capabilities"]
    return caps


# --------------------------------------------------------------------------- process
def with_args(command: Sequence[str], args: Sequence[str], image: Mapping[str, Any]) -> SpecOpt:
    """Kubernetes' rule: command replaces the image Entrypoint, args replace its Cmd."""
    entrypoint = list(command) if command else list(image.get("Entrypoint") or [])
    cmd = list(args) if (args or command) else list(image.get("Cmd") or [])
    argv = entrypoint + cmd
    if not argv:
        raise PermanentError("no command: the container has none and the image has no "
                             "Entrypoint/Cmd")  # fmt: skip

    def opt(spec: Spec) -> None:
        spec["process"]["args"] = argv

    return opt


def with_env(env: Iterable[tuple[str, str]], image_env: Iterable[str]) -> SpecOpt:
    """Image env, overridden by the container's; PATH defaults to the usual one."""

    def opt(spec: Spec) -> None:
        merged: dict[str, str] = {}
        for item in image_env:
            key, _, value = item.partition("=")
            merged[key] = value
        merged.update(env)
        merged.setdefault("PATH", DEFAULT_PATH)
        spec["process"]["env"] = [f"{k}={v}" for k, v in merged.items()]

    return opt


def with_cwd(working_dir: str, image_working_dir: str = "") -> SpecOpt:
    cwd = working_dir if working_dir not in ("", "/") else (image_working_dir or "/")

    def opt(spec: Spec) -> None:
        spec["process"]["cwd"] = cwd

    return opt


def parse_user(user: str) -> tuple[int, int]:
    """``uid[:gid]``, numeric or root/nobody (no passwd lookup inside the image)."""
    name, _, group = user.partition(":")

    def num(text: str, what: str) -> int:
        if text in _NAMED_USERS:
            return _NAMED_USERS[text]
        if not text.isdigit():
            raise PermanentError(f"{what} {text!r} must be numeric (or root/nobody)")
        return int(text)

    uid = num(name, "user") if name else 0
    return uid, num(group, "group") if group else uid


def with_user(user: str, image_user: str = "") -> SpecOpt:
    uid, gid = parse_user(user or image_user)

    def opt(spec: Spec) -> None:
        spec["process"]["user"] = {"uid": uid, "gid": gid}

    return opt


def with_no_new_privileges(spec: Spec) -> None:
    spec["process"]["noNewPrivileges"] = True


def host_hard_limit(res: int) -> int:
    hard = resource.getrlimit(res)[1]
    return hard if hard != resource.RLIM_INFINITY else 1 << 62


def with_rlimits(
    nofile: int = NOFILE, hard_limit: Callable[[int], int] = host_hard_limit
) -> SpecOpt:
    """Root here lacks CAP_SYS_RESOURCE: a limit above the host's hard limit fails runc."""
    hard = min(nofile, hard_limit(resource.RLIMIT_NOFILE))

    def opt(spec: Spec) -> None:
        spec["process"]["rlimits"] = [
            {"type": "RLIMIT_NOFILE", "hard": hard, "soft": min(1024, hard)}
        ]

    return opt


def _norm_cap(name: str) -> str:
    name = name.upper()
    return name if name.startswith("CAP_") else f"CAP_{name}"


def with_capabilities(
    add: Iterable[str] = (), drop: Iterable[str] = (), privileged: bool = False
) -> SpecOpt:
    drops = {_norm_cap(c) for c in drop}
    adds = {_norm_cap(c) for c in add}
    if "CAP_ALL" in adds or privileged:
        caps = list(ALL_CAPS)
    elif "CAP_ALL" in drops:
        caps = sorted(adds - {"CAP_ALL"})
    else:
        caps = [c for c in DEFAULT_CAPS if c not in drops] + sorted(adds - set(DEFAULT_CAPS))
    if "CAP_ALL" not in drops:
        caps = [c for c in caps if c not in drops]
    unknown = set(caps) - set(ALL_CAPS)
    if unknown:
        raise PermanentError(f"unknown capabilities {sorted(unknown)}")

    def opt(spec: Spec) -> None:
        spec["process"]["capabilities"] = {
            k: list(caps) for k in ("bounding", "effective", "permitted")
        }

    return opt


# --------------------------------------------------------------------------- linux
def with_namespaces(
    netns_path: str, *, host_pid: bool = False, host_cgroup: bool = False
) -> SpecOpt:
    """Own ipc and mount namespaces; own pid and cgroup ones unless ``host_pid`` /
    ``host_cgroup``; the cell's pinned network namespace and its own uts one, or the
    host's network and name when ``netns_path`` is "" (hostNetwork)."""

    def opt(spec: Spec) -> None:
        own = ["ipc", "mount"]
        own += [] if host_pid else ["pid"]
        own += [] if host_cgroup else ["cgroup"]
        spec["linux"]["namespaces"] = [{"type": t} for t in own]
        if netns_path:
            spec["linux"]["namespaces"] += [
                {"type": "uts"}, {"type": "network", "path": netns_path},
            ]  # fmt: skip

    return opt


def with_hostname(hostname: str) -> SpecOpt:
    """The hostname, in a uts namespace of its own (none: the host's name stays)."""

    def opt(spec: Spec) -> None:
        if any(ns["type"] == "uts" for ns in spec["linux"]["namespaces"]):
            spec["hostname"] = hostname

    return opt


def with_default_mounts(spec: Spec) -> None:
    defaults = {d["destination"] for d in DEFAULT_MOUNTS}
    spec["mounts"] = [dict(m, options=list(m["options"])) for m in DEFAULT_MOUNTS] + [
        m for m in spec["mounts"] if m["destination"] not in defaults
    ]


def with_etc_files(files: Mapping[str, str]) -> SpecOpt:
    """The cell's /etc/hosts, /etc/hostname, /etc/resolv.conf (kukeon rewrites them in place,
    so they are bound, not copied)."""

    def opt(spec: Spec) -> None:
        for dest, src in sorted(files.items()):
            spec["mounts"].append({"destination": dest, "type": "bind", "source": src,
                                   "options": ["rbind", "rprivate", "ro"]})  # fmt: skip

    return opt


def with_volumes(volumes: Iterable[Volume]) -> SpecOpt:
    mounts: list[Spec] = []
    for v in volumes:
        if not v.target.startswith("/"):
            raise PermanentError(f"volume target {v.target!r} must be an absolute path")
        ro = ["ro"] if v.read_only else ["rw"]
        if v.kind == "bind":
            if not Path(v.source).is_absolute():
                raise PermanentError(f"bind volume source {v.source!r} must be an absolute path")
            mounts.append({"destination": v.target, "type": "bind", "source": v.source,
                           "options": ["rbind", "rprivate", *ro]})  # fmt: skip
        elif v.kind == "tmpfs":
            size = [f"size={v.size_bytes}"] if v.size_bytes else []
            mounts.append({"destination": v.target, "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", *ro, *size]})  # fmt: skip
        else:
            raise PermanentError(f"volume kind {v.kind!r} is not bind or tmpfs")

    def opt(spec: Spec) -> None:
        spec["mounts"].extend(mounts)

    return opt


def with_masked_paths(spec: Spec) -> None:
    spec["linux"]["maskedPaths"] = list(MASKED_PATHS)
    spec["linux"]["readonlyPaths"] = list(READONLY_PATHS)


def with_devices(privileged: bool = False) -> SpecOpt:
    """Deny every device but the ones runc creates (it appends those rules itself)."""

    def opt(spec: Spec) -> None:
        spec["linux"]["resources"]["devices"] = [{"allow": privileged, "access": "rwm"}]

    return opt


def with_resources(res: Resources) -> SpecOpt:
    def opt(spec: Spec) -> None:
        out = spec["linux"]["resources"]
        if res.memory_limit_bytes is not None:
            out["memory"] = {"limit": res.memory_limit_bytes}
        cpu: dict[str, int] = {}
        if res.cpu_shares is not None:
            cpu["shares"] = res.cpu_shares
        if res.cpu_millis is not None:
            cpu["quota"] = millis_to_quota(res.cpu_millis)
            cpu["period"] = CPU_PERIOD_US
        if cpu:
            out["cpu"] = cpu
        if res.pids_limit is not None:
            out["pids"] = {"limit": res.pids_limit}

    return opt


def with_cgroups_path(path: str) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["linux"]["cgroupsPath"] = path

    return opt


def with_readonly_rootfs(readonly: bool) -> SpecOpt:
    def opt(spec: Spec) -> None:
        spec["root"]["readonly"] = readonly

    return opt


def apply(spec: Spec, opts: Iterable[SpecOpt]) -> Spec:
    for opt in opts:
        opt(spec)
    return spec


def build_spec(req: ContainerRequest, image_config: Mapping[str, Any]) -> Spec:
    """The whole spec for one container; ``image_config`` is the OCI config's ``config``."""
    c = req.container
    opts: list[SpecOpt] = [
        with_args(c.command, c.args, image_config),
        with_env(c.env, image_config.get("Env") or []),
        with_cwd(c.working_dir, image_config.get("WorkingDir") or ""),
        with_user(c.user, image_config.get("User") or ""),
        with_capabilities(c.capabilities_add, c.capabilities_drop, c.privileged),
        with_rlimits(),
        with_namespaces(req.netns_path, host_pid=c.host_pid, host_cgroup=c.host_cgroup),
        with_hostname(req.cell.name),
        with_default_mounts,
        with_etc_files(req.etc_files),
        with_volumes(c.volumes),
        with_devices(c.privileged),
        with_resources(c.resources),
        with_cgroups_path(f"{req.cgroup_parent}/{c.name}"),
        with_readonly_rootfs(c.read_only_root_filesystem),
    ]
    if not c.privileged:
        opts += [with_masked_paths, with_no_new_privileges]
    return apply(base_spec(), opts)

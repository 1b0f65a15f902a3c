"""kukeond's configuration: ``/etc/kukeon/kukeond.yaml`` (``kind: ServerConfiguration``),
every field overridable by a flag. Upstream's field names are used where they exist."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from kukeon.daemon.gitsync.spec import GitSpec
from kukeon.model.errors import KukeonError
from kukeon.model.naming import DEFAULT_INSTANCE, Naming
from kukeon.model.policy import OPEN, RESTRICTED, Policy

DEFAULT_CONFIG = Path("/etc/kukeon/kukeond.yaml")


class ConfigError(KukeonError):
    pass


@dataclass(frozen=True)
class DaemonConfig:
    instance: str = DEFAULT_INSTANCE
    socket: Path = Path("/run/kukeon/kukeond.sock")
    socket_group: str = "kukeon"
    run_path: Path = Path("/run/kukeon")
    state_dir: Path = Path("/var/lib/kukeon")
    log_dir: Path = Path("/var/log/kukeon")
    manifests_dir: Path = Path("/etc/kukeon/manifests")
    containerd_socket: Path = Path("/run/containerd/containerd.sock")
    containerd_managed: str = "auto"  # auto: start our own when none answers | always | never
    cni_bin_dirs: tuple[Path, ...] = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
    pod_subnet_cidr: str = "10.218.0.0/16"
    reconcile_interval: float = 30.0
    debounce: float = 0.02
    stop_grace_seconds: float = 10.0
    concurrency: int = 8
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    restart_base: float = 1.0
    prune_unowned: bool = False
    web_listen: str = ""  # "" = off; "127.0.0.1:8787"
    git: tuple[GitSpec, ...] = ()  # git sources followed (spec.git)
    web_token: str = ""  # required to serve the web UI on a non-loopback address
    # what each source's manifests may ask for: "dir", "api", "git", "git:<name>"
    policies: tuple[tuple[str, Policy], ...] = ()

    @property
    def naming(self) -> Naming:
        return Naming(self.instance)

    @property
    def store_path(self) -> Path:
        return self.state_dir / "state.db"


# file key -> (attribute, converter)
_KEYS: dict[str, tuple[str, Any]] = {
    "instance": ("instance", str),
    "socket": ("socket", Path),
    "socketGroup": ("socket_group", str),
    "runPath": ("run_path", Path),
    "stateDir": ("state_dir", Path),
    "logDir": ("log_dir", Path),
    "manifestsDir": ("manifests_dir", Path),
    "containerdSocket": ("containerd_socket", Path),
    "cniBinDirs": ("cni_bin_dirs", lambda v: tuple(Path(x) for x in v)),
    "podSubnetCIDR": ("pod_subnet_cidr", str),
    "reconcileInterval": ("reconcile_interval", lambda v: parse_duration(v)),
    "stopGracePeriod": ("stop_grace_seconds", lambda v: parse_duration(v)),
    "concurrency": ("concurrency", int),
    "pruneUnowned": ("prune_unowned", bool),
}
_UPSTREAM_ONLY = {
    "socketGID",
    "logLevel",
    "kukettyLogLevel",
    "kukeondImage",
    "defaultMemoryLimitBytes",
}


_POLICY_KEYS = {
    "privileged": "privileged",
    "capabilities": "capabilities",
    "bindMounts": "bind_mounts",
    "hostNetwork": "host_network",
    "hostPID": "host_pid",
    "hostCgroup": "host_cgroup",
    "allowedHostPaths": "allowed_host_paths",
}


def _policies(value: object, where: str) -> tuple[tuple[str, Policy], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must map dir, api, git or git:<name> to a policy")
    out = []
    for source, raw in value.items():
        if not (source in ("dir", "api", "git") or str(source).startswith("git:")):
            raise ConfigError(
                f"{where}.{source}: unknown source", hint="use dir, api, git or git:<name>"
            )
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}.{source} must be a mapping")
        fields_ = {}
        for k, v in raw.items():
            if k not in _POLICY_KEYS:
                raise ConfigError(
                    f"{where}.{source}.{k}: unknown field", hint=", ".join(_POLICY_KEYS)
                )
            if k == "allowedHostPaths":
                if not isinstance(v, list) or not all(
                    isinstance(x, str) and x.startswith("/") for x in v
                ):
                    raise ConfigError(f"{where}.{source}.{k} must be a list of absolute paths")
                v = tuple(v)
            elif not isinstance(v, bool):
                raise ConfigError(f"{where}.{source}.{k} must be true or false")
            fields_[_POLICY_KEYS[k]] = v
        base = RESTRICTED if str(source).startswith("git") else OPEN
        out.append((str(source), replace(base, **fields_)))
    return tuple(out)


def parse_duration(value: object) -> float:
    """``30s``, ``5m``, ``250ms``, ``1h`` or a number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
    if not m:
        raise ConfigError(f"{value!r} is not a duration", hint="write e.g. 30s, 5m or 250ms")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2) or "s"]
    return float(m.group(1)) * scale


def load_config(path: Path | None) -> tuple[DaemonConfig, list[str]]:
    """Returns the config and warnings. A missing default file means defaults."""
    cfg = DaemonConfig()
    if path is None:
        if not DEFAULT_CONFIG.exists():
            return cfg, []
        path = DEFAULT_CONFIG
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from err
    if not isinstance(doc, dict) or doc.get("kind") != "ServerConfiguration":
        raise ConfigError(f"{path}: expected kind: ServerConfiguration")
    if doc.get("apiVersion") != "v1beta1":
        raise ConfigError(f"{path}: apiVersion must be v1beta1")
    spec = doc.get("spec") or {}
    warnings: list[str] = []
    changes: dict[str, Any] = {}
    for key, value in spec.items():
        if key in _KEYS:
            attr, conv = _KEYS[key]
            try:
                changes[attr] = conv(value)
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{path}: spec.{key}: {err}") from err
        elif key == "containerd":
            changes["containerd_managed"] = str((value or {}).get("managed", "auto"))
        elif key == "policy":
            changes["policies"] = _policies(value, f"{path}: spec.policy")
        elif key == "git":
            if not isinstance(value, list):
                raise ConfigError(f"{path}: spec.git must be a list of sources")
            try:
                changes["git"] = tuple(
                    GitSpec.from_config(item, f"{path}: spec.git[{i}]")
                    for i, item in enumerate(value)
                )
            except KukeonError as err:
                raise ConfigError(err.message, hint=err.hint) from err
            names = [g.name for g in changes["git"]]
            if len(set(names)) != len(names):
                raise ConfigError(f"{path}: spec.git: two sources have the same name")
        elif key == "web":
            changes["web_listen"] = str((value or {}).get("listen", ""))
            changes["web_token"] = str((value or {}).get("token", ""))
        elif key == "cgroupRoot":
            if str(value).strip("/") != str(changes.get("instance", cfg.instance)):
                raise ConfigError(
                    f"{path}: spec.cgroupRoot must be /<instance>",
                    hint="set spec.instance instead; the cgroup root follows it",
                )
        elif key == "containerdNamespaceSuffix":
            if value != "kukeon.io":
                raise ConfigError(
                    f"{path}: spec.containerdNamespaceSuffix other than kukeon.io is not supported"
                )
        elif key in _UPSTREAM_ONLY:
            warnings.append(f"{path}: spec.{key} is not implemented by this kukeond; ignored")
        else:
            raise ConfigError(
                f"{path}: spec.{key}: unknown field", hint="see docs/configuration.md"
            )
    cfg = replace(cfg, **changes)
    validate(cfg)
    return cfg, warnings


def validate(cfg: DaemonConfig) -> None:
    try:
        Naming(cfg.instance)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    if cfg.containerd_managed not in ("auto", "always", "never"):
        raise ConfigError("containerd.managed must be auto, always or never")


def override(cfg: DaemonConfig, **flags: Any) -> DaemonConfig:
    known = {f.name for f in fields(DaemonConfig)}
    cfg = replace(cfg, **{k: v for k, v in flags.items() if v is not None and k in known})
    validate(cfg)
    return cfg

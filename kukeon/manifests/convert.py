"""Schema-valid documents -> model objects, with the checks a schema cannot express.

Every function here receives data that already passed the kind's JSON Schema, so
types are known; what is left are cross-field rules (root container, unique ids,
absolute paths, CIDRs) and the normalisation that makes equivalent spellings (upstream's
``command: string`` / ``env: [K=V]`` and ours) produce equal models.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from typing import Any

from kukeon.manifests.report import Reporter
from kukeon.manifests.yamlpos import FieldPath
from kukeon.model.identity import DEFAULT, ResourcePath
from kukeon.model.resources import (
    AnyResource,
    Cell,
    Container,
    Dependency,
    Egress,
    EgressRule,
    HealthCheck,
    Port,
    PullPolicy,
    Realm,
    Resources,
    RestartPolicy,
    Space,
    Stack,
    Volume,
)

_PORT = re.compile(
    r"^(?:(?P<ip>[0-9]+(?:\.[0-9]+){3}|\[[0-9a-fA-F:]+\]):)?(?:(?P<host>[0-9]+):)?(?P<ctr>[0-9]+)"
    r"(?:/(?P<proto>tcp|udp))?$"
)


def _pairs(data: dict[str, Any], key: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(data.get(key, {}).items()))


def _common(data: dict[str, Any], path: ResourcePath, rep: Reporter) -> dict[str, Any]:
    meta = data["metadata"]
    return {
        "path": path,
        "labels": _pairs(meta, "labels"),
        "annotations": _pairs(meta, "annotations"),
        "origin": rep.origin,
    }


def _resources(data: dict[str, Any] | None) -> Resources:
    data = data or {}
    return Resources(
        memory_limit_bytes=data.get("memoryLimitBytes"),
        cpu_shares=data.get("cpuShares"),
        cpu_millis=data.get("cpuMillis"),
        pids_limit=data.get("pidsLimit"),
    )


def _absolute(value: str, at: FieldPath, rep: Reporter, what: str) -> bool:
    if value.startswith("/"):
        return True
    rep.error(at, f"{what} {value!r} is not an absolute path", f"write it from /, e.g. /{value}")
    return False


def _network(
    text: str, at: FieldPath, rep: Reporter
) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
        hint = f"did you mean {loose}?"
    except ValueError:
        hint = "write a network in CIDR form, e.g. 10.89.3.0/24"
    rep.error(at, f"{text!r} is not a network address", hint)
    return None


# -- Realm, Space, Stack ----------------------------------------------------------------


def realm(data: dict[str, Any], rep: Reporter) -> Realm:
    spec = data.get("spec") or {}
    path = ResourcePath.of(data["metadata"]["name"])
    return Realm(**_common(data, path, rep), namespace=spec.get("namespace"))


def space(data: dict[str, Any], rep: Reporter) -> Space:
    spec = data.get("spec") or {}
    path = ResourcePath.of(spec.get("realmId", DEFAULT), data["metadata"]["name"])
    network = spec.get("network") or {}
    subnet = network.get("subnet")
    if subnet is not None:
        net = _network(subnet, ("spec", "network", "subnet"), rep)
        if net is not None and (net.version != 4 or net.prefixlen > 30):
            rep.error(
                ("spec", "network", "subnet"),
                f"subnet {subnet} cannot hold cells",
                "use an IPv4 network of /30 or larger, e.g. 10.89.3.0/24",
            )
    egress = network.get("egress") or {}
    rules = []
    for i, rule in enumerate(egress.get("allow", [])):
        at: FieldPath = ("spec", "network", "egress", "allow", i)
        if "cidr" not in rule:
            if "host" not in rule:
                rep.error(at, "an egress rule needs a cidr", "add cidr: e.g. 10.0.0.0/8")
            continue  # host rules were warned about as unimplemented
        if _network(rule["cidr"], (*at, "cidr"), rep) is not None:
            rules.append(EgressRule(cidr=rule["cidr"], ports=tuple(rule.get("ports", ()))))
    return Space(
        **_common(data, path, rep),
        subnet=subnet,
        egress=Egress(default=egress.get("default", "allow"), allow=tuple(rules)),
        resources=_resources(spec.get("resources")),
    )


def stack(data: dict[str, Any], rep: Reporter) -> Stack:
    spec = data.get("spec") or {}
    path = ResourcePath.of(
        spec.get("realmId", DEFAULT),
        spec.get("spaceId", DEFAULT),
        spec.get("id", data["metadata"]["name"]),
    )
    return Stack(**_common(data, path, rep))


# -- Cell -------------------------------------------------------------------------------


def cell(data: dict[str, Any], rep: Reporter) -> Cell:
    spec = data["spec"]
    path = ResourcePath.of(
        spec.get("realmId", DEFAULT),
        spec.get("spaceId", DEFAULT),
        spec.get("stackId", DEFAULT),
        spec.get("id", data["metadata"]["name"]),
    )
    containers: list[Container] = []
    first_at: dict[str, int] = {}
    for i, raw in enumerate(spec["containers"]):
        at: FieldPath = ("spec", "containers", i)
        name = raw["id"]
        if name in first_at:
            rep.error(
                (*at, "id"),
                f"container id {name!r} is used twice in this cell",
                f"rename one of them (the other is spec.containers[{first_at[name]}])",
            )
        first_at.setdefault(name, i)
        for key, want in zip(
            ("realmId", "spaceId", "stackId", "cellId"), path.segments, strict=True
        ):
            if key in raw and raw[key] != want:
                rep.error(
                    (*at, key),
                    f"{key} {raw[key]!r} does not match the cell's {want!r}",
                    f"remove {key} from the container, or set it to {want!r}",
                )
        containers.append(container(raw, at, rep))
    _check_ports(containers, rep)
    depends = _depends(spec.get("dependsOn", ()), path, rep)
    return Cell(
        **_common(data, path, rep),
        containers=_with_root(spec, containers, rep),
        resources=_resources(spec.get("resources")),
        depends_on=depends,
    )


def _depends(raw: list[Any], path: ResourcePath, rep: Reporter) -> tuple[Dependency, ...]:
    out: list[Dependency] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"cell": item}
        dep = ResourcePath.of(
            path.realm,
            item.get("spaceId", path.segments[1]),
            item.get("stackId", path.segments[2]),
            item["cell"],
        )
        if dep == path:
            rep.error(("spec", "dependsOn", i), "a cell cannot depend on itself", "remove it")
            continue
        out.append(Dependency(dep, item.get("condition", "started")))
    return tuple(out)


def _health(raw: dict[str, Any] | None, at: FieldPath, rep: Reporter) -> HealthCheck | None:
    if raw is None:
        return None
    kinds = [k for k in ("exec", "http", "httpGet", "tcp", "tcpSocket") if k in raw]
    if len(kinds) != 1:
        rep.error(
            at,
            "a healthCheck needs exactly one of exec, http or tcp"
            + (f" (it has {', '.join(kinds)})" if kinds else ""),
            "keep one probe per container",
        )
        return None
    kind = kinds[0]
    common: dict[str, Any] = {
        "interval_seconds": float(raw.get("intervalSeconds", 10.0)),
        "timeout_seconds": float(raw.get("timeoutSeconds", 2.0)),
        "failure_threshold": int(raw.get("failureThreshold", raw.get("retries", 3))),
        "start_period_seconds": float(raw.get("startPeriodSeconds", 0.0)),
    }
    if kind == "exec":
        return HealthCheck("exec", command=tuple(raw["exec"]), **common)
    probe = raw[kind]
    if kind in ("http", "httpGet"):
        path = probe.get("path", "/")
        if not path.startswith("/"):
            rep.error(
                (*at, kind, "path"), f"path {path!r} must start with /", "write e.g. /healthz"
            )
        return HealthCheck(
            "http",
            port=probe["port"],
            path=path,
            expect_status=probe.get("expectStatus", 0),
            **common,
        )
    return HealthCheck("tcp", port=probe["port"], **common)


def _with_root(
    spec: dict[str, Any], containers: list[Container], rep: Reporter
) -> tuple[Container, ...]:
    """Exactly one container marked root, by upstream's rules (first one by default)."""
    marked = [i for i, c in enumerate(containers) if c.root]
    for i in marked[1:]:
        rep.error(
            ("spec", "containers", i, "root"),
            "more than one container is marked root: true",
            f"keep root: true on one container only (also on spec.containers[{marked[0]}])",
        )
    root = marked[0] if marked else 0
    wanted = spec.get("rootContainerId")
    if wanted is not None:
        names = [c.name for c in containers]
        if wanted not in names:
            rep.error(
                ("spec", "rootContainerId"),
                f"rootContainerId {wanted!r} names no container of this cell",
                f"use one of: {', '.join(names)}",
            )
        elif marked and names[marked[0]] != wanted:
            rep.error(
                ("spec", "rootContainerId"),
                f"rootContainerId {wanted!r} disagrees with root: true on {names[marked[0]]!r}",
                "remove one of the two, or make them name the same container",
            )
        else:
            root = names.index(wanted)
    return tuple(replace(c, root=(i == root)) for i, c in enumerate(containers))


def _check_ports(containers: list[Container], rep: Reporter) -> None:
    seen: set[tuple[str, int, str]] = set()
    host_network = any(c.host_network for c in containers)
    for i, c in enumerate(containers):
        for j, p in enumerate(c.ports):
            if p.host_port is None:
                continue
            if host_network:
                rep.warn(
                    ("spec", "containers", i, "ports", j, "hostPort"),
                    "the cell is on the host network: nothing is published, its processes"
                    " bind the host's ports themselves",
                    "drop hostPort, or hostNetwork",
                )
                continue
            key = (p.host_ip, p.host_port, p.protocol)
            if key in seen:
                rep.error(
                    ("spec", "containers", i, "ports", j),
                    f"host port {p.host_ip}:{p.host_port}/{p.protocol} is published twice",
                    "publish each host port once",
                )
            seen.add(key)


def container(raw: dict[str, Any], at: FieldPath, rep: Reporter) -> Container:
    command = raw.get("command", ())
    if isinstance(command, str):
        # Upstream: one executable. A space is most likely a whole command line.
        if " " in command.strip():
            rep.warn(
                (*at, "command"),
                f"command {command!r} is run as one executable named so",
                "write the command as a list, or put its arguments in args",
            )
        command = (command,) if command else ()
    working_dir = raw.get("workingDir") or "/"
    _absolute(working_dir, (*at, "workingDir"), rep, "workingDir")
    policy_text = raw.get("restartPolicy", "always") or "never"
    policy = RestartPolicy(policy_text)
    if "restartBackoffSeconds" in raw and policy is RestartPolicy.NEVER:
        rep.error(
            (*at, "restartBackoffSeconds"),
            "restartBackoffSeconds needs restartPolicy always or on-failure",
            "remove it, or change restartPolicy",
        )
    if "restartMaxRetries" in raw and policy is not RestartPolicy.ON_FAILURE:
        rep.error(
            (*at, "restartMaxRetries"),
            "restartMaxRetries needs restartPolicy on-failure",
            "remove it, or set restartPolicy: on-failure",
        )
    caps = raw.get("capabilities") or {}
    user = raw.get("user", "")
    return Container(
        name=raw["id"],
        image=raw["image"],
        command=tuple(command),
        args=tuple(raw.get("args", ())),
        env=_env(raw.get("env"), (*at, "env"), rep),
        working_dir=working_dir,
        user=str(user),
        root=raw.get("root", False),
        restart_policy=policy,
        restart_backoff_seconds=raw.get("restartBackoffSeconds"),
        restart_max_retries=raw.get("restartMaxRetries"),
        image_pull_policy=PullPolicy(raw.get("imagePullPolicy", "IfNotPresent")),
        resources=_resources(raw.get("resources")),
        volumes=_volumes(raw, at, rep),
        ports=tuple(_port(p, (*at, "ports", j), rep) for j, p in enumerate(raw.get("ports", ()))),
        read_only_root_filesystem=raw.get("readOnlyRootFilesystem", False),
        privileged=raw.get("privileged", False),
        capabilities_add=tuple(caps.get("add", ())),
        capabilities_drop=tuple(caps.get("drop", ())),
        health_check=_health(raw.get("healthCheck"), (*at, "healthCheck"), rep),
        host_network=raw.get("hostNetwork", False),
        host_pid=raw.get("hostPID", False),
        host_cgroup=raw.get("hostCgroup", False),
    )


def _env(
    raw: list[str] | dict[str, str] | None, at: FieldPath, rep: Reporter
) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if isinstance(raw, dict):
        return tuple(raw.items())
    out: dict[str, str] = {}
    for i, item in enumerate(raw):
        key, _, value = item.partition("=")
        if key in out:
            rep.warn((*at, i), f"{key} is set twice; the later value wins", "remove one")
            del out[key]  # keep the position of the winning entry
        out[key] = value
    return tuple(out.items())


def _volumes(raw: dict[str, Any], at: FieldPath, rep: Reporter) -> tuple[Volume, ...]:
    out: list[Volume] = []
    for i, vol in enumerate(raw.get("volumes", ())):
        vat: FieldPath = (*at, "volumes", i)
        kind = vol.get("kind") or "bind"
        source = vol.get("source", "")
        if kind == "volume":
            rep.warn(
                (*vat, "kind"),
                "volumes of kind 'volume' are not implemented yet; this mount is skipped",
                "use kind: bind with an absolute host path",
            )
            continue
        _absolute(vol["target"], (*vat, "target"), rep, "volume target")
        if kind == "bind":
            if not source:
                rep.error(vat, "a bind volume needs a source", "add source: /an/absolute/host/path")
            elif "${" in source:
                rep.error(
                    (*vat, "source"),
                    "variables in volume sources are not implemented yet",
                    "write the host path out",
                )
            else:
                _absolute(source, (*vat, "source"), rep, "bind source")
            if "sizeBytes" in vol:
                rep.error((*vat, "sizeBytes"), "sizeBytes applies to tmpfs only", "remove it")
        elif source:
            rep.error((*vat, "source"), "a tmpfs volume has no source", "remove source")
        out.append(
            Volume(
                target=vol["target"],
                kind=kind,
                source=source,
                read_only=vol.get("readOnly", False),
                size_bytes=vol.get("sizeBytes"),
            )
        )
    for i, tmp in enumerate(raw.get("tmpfs", ())):
        if _absolute(tmp["path"], (*at, "tmpfs", i, "path"), rep, "tmpfs path"):
            out.append(Volume(target=tmp["path"], kind="tmpfs", size_bytes=tmp.get("sizeBytes")))
    targets: set[str] = set()
    for vol in out:
        if vol.target in targets:
            rep.error((*at, "volumes"), f"{vol.target} is mounted twice", "mount each target once")
        targets.add(vol.target)
    return tuple(out)


def _port(raw: str | dict[str, Any], at: FieldPath, rep: Reporter) -> Port:
    ip_at = at if isinstance(raw, str) else (*at, "hostIP")
    if isinstance(raw, str):
        m = _PORT.match(raw)
        assert m is not None  # the schema's pattern matched already
        ip = (m["ip"] or "127.0.0.1").strip("[]")
        raw = {"containerPort": int(m["ctr"]), "protocol": m["proto"] or "tcp", "hostIP": ip}
        if m["host"]:
            raw["hostPort"] = int(m["host"])
        for key in ("containerPort", "hostPort"):
            if not 1 <= raw.get(key, 1) <= 65535:
                rep.error(at, f"port {raw[key]} is out of range", "use 1..65535")
    host_ip = raw.get("hostIP", "127.0.0.1")
    try:
        ipaddress.ip_address(host_ip)
    except ValueError:
        rep.error(ip_at, f"hostIP {host_ip!r} is not an IP address", "use e.g. 127.0.0.1")
    return Port(
        container_port=raw["containerPort"],
        host_port=raw.get("hostPort"),
        protocol=raw.get("protocol", "tcp"),
        host_ip=host_ip,
    )


CONVERTERS = {"Realm": realm, "Space": space, "Stack": stack, "Cell": cell}


def convert(kind: str, data: dict[str, Any], rep: Reporter) -> AnyResource:
    converter: Any = CONVERTERS[kind]
    result: AnyResource = converter(data, rep)
    return result

"""Resources back to v1beta1 manifest form (plain dicts), for the API's ``manifest``
field, the API source's stored documents and ``kuke get -o yaml``. Defaults are left out
so the output reads like what a person would write."""

from __future__ import annotations

from typing import Any

from kukeon.model.resources import (
    AnyResource,
    Cell,
    Container,
    Egress,
    HealthCheck,
    PullPolicy,
    Realm,
    Resources,
    RestartPolicy,
    Space,
)


def to_manifest(res: AnyResource) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": res.name}
    if res.labels:
        meta["labels"] = dict(res.labels)
    if res.annotations:
        meta["annotations"] = dict(res.annotations)
    seg = res.path.segments
    spec: dict[str, Any] = {}
    if len(seg) > 1:
        spec["realmId"] = seg[0]
    if len(seg) > 2:
        spec["spaceId"] = seg[1]
    if len(seg) > 3:
        spec["stackId"] = seg[2]
    if isinstance(res, Realm) and res.namespace:
        spec["namespace"] = res.namespace
    if isinstance(res, Space):
        network: dict[str, Any] = {}
        if res.subnet:
            network["subnet"] = res.subnet
        if res.egress != Egress():
            network["egress"] = {
                "default": res.egress.default,
                "allow": [
                    {"cidr": r.cidr, **({"ports": list(r.ports)} if r.ports else {})}
                    for r in res.egress.allow
                ],
            }
        if network:
            spec["network"] = network
        if not res.resources.is_empty():
            spec["resources"] = _resources(res.resources)
    if isinstance(res, Cell):
        if not res.resources.is_empty():
            spec["resources"] = _resources(res.resources)
        if res.depends_on:
            spec["dependsOn"] = [
                {
                    "cell": d.cell.name,
                    "condition": d.condition,
                    "spaceId": d.cell.segments[1],
                    "stackId": d.cell.segments[2],
                }
                for d in res.depends_on
            ]
        spec["containers"] = [_container(c) for c in res.containers]
    return {"apiVersion": "v1beta1", "kind": res.kind.value, "metadata": meta, "spec": spec}


def _resources(r: Resources) -> dict[str, int]:
    names = {
        "memoryLimitBytes": r.memory_limit_bytes,
        "cpuShares": r.cpu_shares,
        "cpuMillis": r.cpu_millis,
        "pidsLimit": r.pids_limit,
    }
    return {k: v for k, v in names.items() if v is not None}


def _container(c: Container) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.name, "image": c.image}
    if c.root:
        out["root"] = True
    if c.command:
        out["command"] = list(c.command)
    if c.args:
        out["args"] = list(c.args)
    if c.env:
        out["env"] = [f"{k}={v}" for k, v in c.env]
    if c.working_dir != "/":
        out["workingDir"] = c.working_dir
    if c.user:
        out["user"] = c.user
    if c.restart_policy is not RestartPolicy.ALWAYS:
        out["restartPolicy"] = c.restart_policy.value
    if c.restart_backoff_seconds is not None:
        out["restartBackoffSeconds"] = c.restart_backoff_seconds
    if c.restart_max_retries is not None:
        out["restartMaxRetries"] = c.restart_max_retries
    if c.image_pull_policy is not PullPolicy.IF_NOT_PRESENT:
        out["imagePullPolicy"] = c.image_pull_policy.value
    if not c.resources.is_empty():
        out["resources"] = _resources(c.resources)
    if c.volumes:
        out["volumes"] = [
            {
                "kind": v.kind,
                **({"source": v.source} if v.source else {}),
                "target": v.target,
                **({"readOnly": True} if v.read_only else {}),
                **({"sizeBytes": v.size_bytes} if v.size_bytes is not None else {}),
            }
            for v in c.volumes
        ]
    if c.ports:
        out["ports"] = [
            {
                "containerPort": p.container_port,
                **({"hostPort": p.host_port} if p.host_port is not None else {}),
                "protocol": p.protocol,
                "hostIP": p.host_ip,
            }
            for p in c.ports
        ]
    if c.read_only_root_filesystem:
        out["readOnlyRootFilesystem"] = True
    if c.privileged:
        out["privileged"] = True
    if c.host_network:
        out["hostNetwork"] = True
    if c.host_pid:
        out["hostPID"] = True
    if c.host_cgroup:
        out["hostCgroup"] = True
    if c.health_check is not None:
        out["healthCheck"] = _health(c.health_check)
    if c.capabilities_add or c.capabilities_drop:
        out["capabilities"] = {"add": list(c.capabilities_add), "drop": list(c.capabilities_drop)}
    return out


def _health(h: HealthCheck) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if h.kind == "exec":
        out["exec"] = list(h.command)
    elif h.kind == "http":
        out["http"] = {"port": h.port, "path": h.path}
        if h.expect_status:
            out["http"]["expectStatus"] = h.expect_status
    else:
        out["tcp"] = {"port": h.port}
    out.update(
        intervalSeconds=h.interval_seconds,
        timeoutSeconds=h.timeout_seconds,
        failureThreshold=h.failure_threshold,
        startPeriodSeconds=h.start_period_seconds,
    )
    return out

"""A Cell as a Deployment (restart always) or a Job, plus a Service for published ports."""

from __future__ import annotations

import math
from typing import Any

from kukeon.export import names
from kukeon.export.notes import Notes
from kukeon.model.resources import (
    Cell,
    Container,
    HealthCheck,
    Resources,
    RestartPolicy,
    Volume,
)

Obj = dict[str, Any]

# What kubelet does instead of kukeon's restartBackoffSeconds (not configurable per pod).
K8S_BACKOFF = "Kubernetes uses its own backoff (10 s, doubling up to 5 min)"


def cell_objects(cell: Cell, notes: Notes) -> list[Obj]:
    name = names.workload_name(cell.path)
    namespace = cell.path.realm
    selector = names.scope_labels(cell.path)
    meta = names.metadata(name, cell.path, notes, namespace=namespace)
    pod_meta: Obj = {"labels": meta["labels"]}
    if "annotations" in meta:
        pod_meta["annotations"] = meta["annotations"]
    pod = _pod_spec(cell, notes)
    if cell.depends_on:
        notes.add(
            "spec.dependsOn",
            "Kubernetes starts workloads in no order: this cell may start before "
            + ", ".join(f"{d.cell.name} is {d.condition}" for d in cell.depends_on)
            + "; an init container that waits for them would do the same",
        )
    root = cell.root_container
    if root.restart_policy is RestartPolicy.ALWAYS:
        workload: Obj = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": selector},
                # kukeon stops a cell before it starts its replacement (host ports)
                "strategy": {"type": "Recreate"},
                "template": {"metadata": pod_meta, "spec": pod},
            },
        }
    else:
        workload = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta,
            "spec": {
                "backoffLimit": _backoff_limit(root, notes),
                "template": {"metadata": pod_meta, "spec": pod},
            },
        }
    service = _service(cell, name, meta, selector, notes)
    return [workload] if service is None else [workload, service]


def _pod_spec(cell: Cell, notes: Notes) -> Obj:
    root = cell.root_container
    policy = _POD_POLICY[root.restart_policy]
    volumes: list[Obj] = []
    containers = [_container(c, policy, root, volumes, notes) for c in cell.start_order()]
    spec: Obj = {"containers": containers, "restartPolicy": policy}
    if cell.host_network:
        spec["hostNetwork"] = True
    for c in cell.containers:
        if c.host_cgroup:
            notes.add(
                f"containers[{c.name}].hostCgroup",
                "Kubernetes has no field for the host's cgroup namespace (the node's runtime"
                " decides); dropped",
            )
    host_pid = [c.name for c in cell.containers if c.host_pid]
    if host_pid:
        spec["hostPID"] = True
        if len(host_pid) < len(cell.containers):
            notes.add(
                f"containers[{host_pid[0]}].hostPID",
                "hostPID is pod-wide in Kubernetes: every container of the pod gets it",
            )
    if volumes:
        spec["volumes"] = volumes
    resources = _resources(cell.resources, "spec.resources", notes)
    if resources:
        spec["resources"] = resources
        notes.add(
            "spec.resources",
            "the cell's limits become pod-level resources, which need the "
            "PodLevelResources feature gate (a cluster without it drops the field)",
        )
    return spec


_POD_POLICY = {
    RestartPolicy.ALWAYS: "Always",
    RestartPolicy.ON_FAILURE: "OnFailure",
    RestartPolicy.NEVER: "Never",
}
_UNDER_POD_POLICY = {
    "Always": "is restarted whenever it exits (a Deployment restarts every container)",
    "OnFailure": "is restarted when it fails (the pod's policy follows the root container)",
    "Never": "is never restarted (the pod's policy follows the root container)",
}


def _backoff_limit(root: Container, notes: Notes) -> int:
    if root.restart_policy is RestartPolicy.NEVER:
        return 0  # a failed pod is not replaced, as kukeon does not restart the container
    if root.restart_max_retries is not None:
        return root.restart_max_retries
    notes.add(
        f"containers[{root.name}].restartPolicy",
        "on-failure without restartMaxRetries retries forever in kukeon; "
        "the Job gives up after backoffLimit (6)",
    )
    return 6


def _container(c: Container, policy: str, root: Container, volumes: list[Obj], notes: Notes) -> Obj:
    at = f"containers[{c.name}]"
    out: Obj = {"name": c.name, "image": c.image, "imagePullPolicy": c.image_pull_policy.value}
    if c.command:
        out["command"] = list(c.command)
    if c.args:
        out["args"] = list(c.args)
    if c.working_dir != "/":  # "/" is kukeon's default: the image's WorkingDir
        out["workingDir"] = c.working_dir
    if c.env:
        out["env"] = [{"name": k, "value": v} for k, v in c.env]
    ports = [{"containerPort": p.container_port, "protocol": p.protocol.upper()} for p in c.ports]
    if ports:
        out["ports"] = ports
    resources = _resources(c.resources, f"{at}.resources", notes)
    if resources:
        out["resources"] = resources
    mounts = [_mount(v, f"{at}.volumes[{v.target}]", volumes, notes) for v in c.volumes]
    if mounts:
        out["volumeMounts"] = mounts
    if c.health_check is not None:
        readiness = _probe(c.health_check, f"{at}.healthCheck", notes)
        out["readinessProbe"] = readiness
        # liveness restarts the container (as kukeon does), not during its start period
        delay = _seconds(c.health_check.start_period_seconds, "", notes)
        out["livenessProbe"] = {**readiness, **({"initialDelaySeconds": delay} if delay else {})}
    security = _security(c, at, notes)
    if security:
        out["securityContext"] = security
    if c is not root and _POD_POLICY[c.restart_policy] != policy:
        notes.add(
            f"{at}.restartPolicy",
            f"{c.restart_policy.value} cannot differ within a pod: it {_UNDER_POD_POLICY[policy]}",
        )
    if c.restart_backoff_seconds is not None:
        notes.add(f"{at}.restartBackoffSeconds", f"{K8S_BACKOFF}; dropped")
    if c.restart_max_retries is not None and (c is not root or policy == "Always"):
        notes.add(
            f"{at}.restartMaxRetries",
            "only a Job whose root container is on-failure has a retry limit; dropped",
        )
    return out


def _probe(h: HealthCheck, at: str, notes: Notes) -> Obj:
    """Ready means healthy, in kukeon as for a readiness probe."""
    probe: Obj
    if h.kind == "exec":
        probe = {"exec": {"command": list(h.command)}}
    elif h.kind == "http":
        probe = {"httpGet": {"path": h.path, "port": h.port}}
        if h.expect_status:
            notes.add(
                f"{at}.http.expectStatus",
                f"Kubernetes takes any status 200-399 as healthy, not only {h.expect_status}",
            )
    else:
        probe = {"tcpSocket": {"port": h.port}}
    probe["periodSeconds"] = _seconds(h.interval_seconds, f"{at}.intervalSeconds", notes)
    probe["timeoutSeconds"] = _seconds(h.timeout_seconds, f"{at}.timeoutSeconds", notes)
    probe["failureThreshold"] = h.failure_threshold
    return probe


def _seconds(value: float, at: str, notes: Notes) -> int:
    """Probes count whole seconds (at least 1): round up, and say so."""
    whole = max(1, math.ceil(value)) if value else 0
    if whole != value and at:
        notes.add(at, f"Kubernetes counts whole seconds: {value:g} becomes {whole}")
    return whole


def _resources(r: Resources, at: str, notes: Notes) -> Obj:
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if r.memory_limit_bytes is not None:
        limits["memory"] = names.memory(r.memory_limit_bytes)
    if r.cpu_millis is not None:
        limits["cpu"] = names.cpu(r.cpu_millis)
    if r.cpu_shares is not None:
        # kubelet sets cpu shares to millicores * 1024 / 1000: invert it, rounding up.
        millis = -(-r.cpu_shares * 1000 // 1024)
        text = f"cpuShares {r.cpu_shares} becomes requests.cpu {names.cpu(millis)}"
        if r.cpu_millis is not None and millis > r.cpu_millis:
            millis = r.cpu_millis
            text += (
                f", capped at the limit {names.cpu(millis)} (Kubernetes requires request <= limit)"
            )
        back = max(2, millis * 1024 // 1000)
        if back != r.cpu_shares:
            text += f" (the same as {back} shares)"
        requests["cpu"] = names.cpu(millis)
        notes.add(
            f"{at}.cpuShares",
            f"{text}: the same relative weight, but the scheduler also reserves that much CPU",
        )
    if r.pids_limit is not None:
        notes.add(
            f"{at}.pidsLimit",
            "Kubernetes has no per-pod or per-container pids limit "
            "(kubelet's podPidsLimit is set per node); dropped",
        )
    out: Obj = {}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def _mount(v: Volume, at: str, volumes: list[Obj], notes: Notes) -> Obj:
    name = f"{v.kind}-{len(volumes)}"
    if v.kind == "tmpfs":
        empty: Obj = {"medium": "Memory"}
        if v.size_bytes is not None:
            empty["sizeLimit"] = names.memory(v.size_bytes)
        volumes.append({"name": name, "emptyDir": empty})
    else:
        volumes.append({"name": name, "hostPath": {"path": v.source}})
        notes.add(
            at,
            f"bind mount of {v.source} becomes a hostPath volume: the pod sees that path on "
            "whichever node it runs on (copy the files there, or use a PersistentVolume)",
        )
    mount: Obj = {"name": name, "mountPath": v.target}
    if v.read_only:
        mount["readOnly"] = True
    return mount


def _security(c: Container, at: str, notes: Notes) -> Obj:
    out: Obj = {}
    if c.user:
        uid, _, gid = c.user.partition(":")
        if uid.isdigit() and (not gid or gid.isdigit()):
            out["runAsUser"] = int(uid)
            if gid:
                out["runAsGroup"] = int(gid)
        else:
            notes.add(
                f"{at}.user",
                f"Kubernetes takes numeric ids only; user {c.user!r} is dropped "
                "(the image's user applies; write uid or uid:gid)",
            )
    if c.privileged:
        out["privileged"] = True
    if c.read_only_root_filesystem:
        out["readOnlyRootFilesystem"] = True
    caps: Obj = {}
    if c.capabilities_add:
        caps["add"] = [_cap(x) for x in c.capabilities_add]
    if c.capabilities_drop:
        caps["drop"] = [_cap(x) for x in c.capabilities_drop]
    if caps:
        out["capabilities"] = caps
    return out


def _cap(name: str) -> str:
    return name.removeprefix("CAP_")  # Kubernetes spells capabilities without the prefix


def _service(
    cell: Cell, name: str, meta: Obj, selector: dict[str, str], notes: Notes
) -> Obj | None:
    ports: list[Obj] = []
    for c in cell.containers:
        for p in c.ports:
            if p.host_port is None:
                continue
            ports.append(
                {
                    "name": f"{p.protocol}-{p.host_port}",
                    "port": p.host_port,
                    "targetPort": p.container_port,
                    "protocol": p.protocol.upper(),
                }
            )
            notes.add(
                f"containers[{c.name}].ports[{p.container_port}]",
                f"published on the host at {p.host_ip}:{p.host_port}; in Kubernetes, port "
                f"{p.host_port} of Service {names.service_name(name)} inside the cluster, "
                "reachable from this space's cells only (its NetworkPolicy): add a "
                "NodePort or an Ingress, and a NetworkPolicy rule, to reach it from outside",
            )
    if not ports:
        return None
    svc_meta = {**meta, "name": names.service_name(name)}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": svc_meta,
        "spec": {"type": "ClusterIP", "selector": selector, "ports": ports},
    }

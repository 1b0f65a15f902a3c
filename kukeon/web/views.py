"""What the Web UI shows, as plain JSON-able dicts built from the one Service (the same
data the gRPC API serves). No HTML here: the page renders text nodes only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from kukeon.daemon.service import ResourceView, Service
from kukeon.model.encode import to_manifest
from kukeon.model.identity import Kind
from kukeon.reconcile.plan import Action, Plan
from kukeon.store.db import Event

JSON = dict[str, Any]


def resource(view: ResourceView, *, manifest: bool = False) -> JSON:
    s, res = view.status, view.resource
    images = {c.name: c.image for c in getattr(res, "containers", ())}
    out: JSON = {
        "kind": s.kind.value,
        "path": str(s.path),
        "name": s.path.name,
        "phase": s.phase,
        "reason": s.reason,
        "message": s.message,
        "owner": s.owner,
        "origin": res.origin if res else "",
        "ip": s.ip,
        "memoryBytes": s.memory_bytes,
        "pids": s.pids,
        "labels": dict(s.labels),
        "stopped": view.stopped,
        "observedPass": s.observed_pass,
        "since": s.since,
        "containers": [
            {
                "name": c.name,
                "state": c.state,
                "pid": c.pid,
                "exitCode": c.exit_code,
                "restartCount": c.restart_count,
                "image": images.get(c.name, ""),
                "imageDigest": c.image_digest,
            }
            for c in s.containers
        ],
    }
    if manifest:
        out["manifest"] = yaml.safe_dump(to_manifest(res), sort_keys=False) if res else ""
    return out


def hierarchy(service: Service) -> JSON:
    """Realms -> spaces -> stacks -> cells (with their containers), as a tree."""
    nodes: dict[str, JSON] = {}
    roots: list[JSON] = []
    for view in service.resources():
        if view.status.kind is Kind.CONTAINER:
            continue
        node = resource(view)
        node["children"] = []
        nodes[node["path"]] = node
        parent = view.status.path.parent
        holder = nodes.get(str(parent)) if parent is not None else None
        # sorted by path, so a parent is always seen before its children
        (holder["children"] if holder is not None else roots).append(node)
    return {"pass": service.controller.last.number, "realms": roots}


def status(service: Service) -> JSON:
    c = service.controller
    phases: dict[str, int] = {}
    for st in c.status.values():
        if st.kind is Kind.CELL:
            phases[st.phase] = phases.get(st.phase, 0) + 1
    return {
        "instance": service.cfg.instance,
        "version": service.version(),
        "pass": c.last.number,
        "passAt": c.last.started,
        "passSeconds": c.last.seconds,
        "cgroupMode": c.d.cgroups.mode,
        "phases": phases,
    }


def plan(p: Plan) -> JSON:
    return {
        "actions": [{"op": a.op.value, "path": str(a.path), "cause": a.cause} for a in p.actions],
        "unowned": [str(x) for x in p.unowned],
        "waiting": [{"path": str(x), "why": why} for x, why in p.waiting],
    }


async def plans(service: Service, recent: Iterable[tuple[float, Action]]) -> JSON:
    """What the next pass would do on the last observation, what the last pass did, and
    the actions run lately (the last pass of a quiet loop is usually empty)."""
    c = service.controller
    upcoming = await c.plan_for(service.sources.desired(), fresh=False)
    return {
        "recent": [
            {"time": t, "op": a.op.value, "path": str(a.path), "cause": a.cause}
            for t, a in reversed(list(recent))
        ],
        "last": {
            "pass": c.last.number,
            "at": c.last.started,
            "seconds": c.last.seconds,
            "actions": c.last.actions,
            "errors": c.last.errors,
            "plan": plan(c.last.plan),
        },
        "next": plan(upcoming),
    }


async def sources(service: Service) -> JSON:
    src = service.sources
    git = await service.git_list() if service.git is not None else []
    return {
        "git": [
            {
                "name": g.spec.name,
                "url": _without_userinfo(g.spec.url),
                "ref": g.spec.tag or g.spec.branch,
                "path": g.spec.path,
                "suspended": g.spec.suspend,
                "syncing": g.syncing,
                "applied": g.state.applied,
                "appliedAt": g.state.applied_at,
                "fetched": g.state.fetched,
                "error": g.state.error,
                "resources": g.resources,
            }
            for g in git
        ],
        "manifestsDir": str(src.manifests_dir),
        "heldEmpty": src.held_empty,
        "conflicts": [str(x) for x in src.desired().conflicts],
        "sources": [
            {
                "name": s.name,
                "revision": s.revision,
                "error": s.error,
                "warnings": list(s.warnings),
                "resources": sorted(str(r.path) for r in s.resources),
            }
            for s in src.statuses()
        ],
    }


def event(e: Event) -> JSON:
    return {
        "id": e.id,
        "time": e.ts,
        "type": e.type,
        "path": e.path,
        "reason": e.reason,
        "message": e.message,
    }


def _without_userinfo(url: str) -> str:
    """A git URL may carry a password (https://user:pw@host/...): never show it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
